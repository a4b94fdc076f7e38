// `commit`: a container's changes become a new image on top of its own.
// Lives with the daemon because it joins two services (containers, images).
import type { Engine } from './engine.js';
import type { ContainerConfig } from '../container/record.js';
import { parseChanges, type ImageConfigBody } from '../image/changes.js';
import { familiarString, parseReference } from '../image/reference.js';
import { InvalidParameterError } from '../lib/errors.js';

export interface CommitRequest {
  container: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  pause: boolean;
  changes: string[];
  /** the API body: container config fields that replace the container's own */
  config?: Partial<ContainerConfig>;
}

const carried = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'Healthcheck'] as const;

/**
 * The new image's config: the container's config (which already holds what it
 * inherited from its image), then the request's config where it sets a value,
 * then the `--change` instructions — the order dockerd applies them in.
 */
export function commitConfig(container: ContainerConfig, override: Partial<ContainerConfig> | undefined, changes: string[]): ImageConfigBody {
  const out: Record<string, unknown> = {};
  for (const key of carried) {
    const fromOverride = override?.[key];
    const empty = fromOverride === undefined || fromOverride === null || fromOverride === ''
      || (Array.isArray(fromOverride) && fromOverride.length === 0)
      || (typeof fromOverride === 'object' && !Array.isArray(fromOverride) && Object.keys(fromOverride).length === 0);
    const v = empty ? container[key] : fromOverride;
    if (v === undefined || v === null || v === '') continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[key] = v;
  }
  return parseChanges(changes, out as ImageConfigBody);
}

export async function commitContainer(engine: Engine, req: CommitRequest): Promise<string> {
  let tag: string | undefined;
  if (req.repo) {
    // A bad name must fail before any work is done.
    tag = familiarString(parseReference(req.tag ? `${req.repo}:${req.tag}` : req.repo));
  } else if (req.tag) {
    throw new InvalidParameterError('invalid reference format: tag given without a repository');
  }
  const img = await engine.containers.withUpperDir(req.container, req.pause, async (rec, upper, exclude) => {
    const config = commitConfig(rec.Config, req.config, req.changes);
    const image = await engine.images.commit(upper, rec.Image, {
      config, exclude, tag, author: req.author, comment: req.comment,
      createdBy: (rec.Config.Cmd ?? []).join(' '),
    });
    engine.events.publish('container', 'commit', rec.Id, {
      comment: req.comment ?? '', imageID: image.id, imageRef: tag ?? '', name: rec.Name.slice(1),
    });
    return image;
  });
  return img.id;
}
