// `pull`: resolve a reference to a manifest for this platform, then fetch
// every layer at once, each unpacked while it downloads (Docker downloads in
// parallel but extracts one layer after another; a layer's directory does not
// need its parents, so Berth does not wait).
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { InvalidParameterError, NotFoundError } from '../lib/errors.js';
import { progressMessage, throttle, type JsonMessage } from '../lib/progress.js';
import { chainIds } from '../image/layer-store.js';
import { type ImageRecord, type ImageStore, type OciImageConfig } from '../image/image-store.js';
import { familiarName, familiarString, type Reference } from '../image/reference.js';
import type { Descriptor } from '../image/layer-diff.js';
import { downloadBlob } from './blobs.js';
import { listTags } from './tags.js';
import { formatPlatform, parsePlatform, platformMatches, type Platform } from '../image/platform.js';
import { RegistryError, type RegistryClient } from './client.js';

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);


interface ManifestDoc {
  schemaVersion?: number;
  mediaType?: string;
  manifests?: { mediaType?: string; digest: string; size: number; platform?: Platform }[];
  config?: Descriptor;
  layers?: Descriptor[];
}

export interface FetchedManifest { raw: Buffer; digest: string; doc: ManifestDoc; mediaType: string }

export async function fetchManifest(client: RegistryClient, ref: Reference, reference: string): Promise<FetchedManifest> {
  const res = await client.request(`/v2/${ref.path}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT }, scope: `repository:${ref.path}:pull` });
  const shown = familiarString(ref);
  if (res.status === 404) {
    await res.arrayBuffer().catch(() => undefined);
    throw new NotFoundError(`manifest for ${shown} not found: manifest unknown: manifest unknown`);
  }
  if (res.status === 401 || res.status === 403) {
    await res.arrayBuffer().catch(() => undefined);
    throw new RegistryError(404, `pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`);
  }
  if (!res.ok) await client.fail(res, `failed to resolve reference "${shown}"`);
  const known = new Set([...MANIFEST_ACCEPT.split(', ')]);
  const raw = Buffer.from(await res.arrayBuffer());
  if (raw.length > 4 * 1024 * 1024) throw new InvalidParameterError(`manifest for ${shown} is too large`);
  const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  if (reference.startsWith('sha256:') && reference !== digest) throw new InvalidParameterError(`manifest verification failed for digest ${reference}`);
  let doc: ManifestDoc;
  try {
    doc = JSON.parse(raw.toString('utf8')) as ManifestDoc;
  } catch (err) {
    throw new InvalidParameterError(`invalid manifest for ${shown}: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new InvalidParameterError(`invalid manifest for ${shown}: not a JSON object`);
  const mediaType = doc.mediaType ?? res.headers.get('content-type')?.split(';')[0] ?? '';
  if (doc.schemaVersion !== 1 && !known.has(mediaType) && !(doc.config && doc.layers) && !doc.manifests) {
    throw new InvalidParameterError(`unsupported manifest media type and no default available: ${mediaType}`);
  }
  if (doc.schemaVersion === 1) {
    throw new InvalidParameterError(`[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of ${shown} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.`);
  }
  return { raw, digest, doc, mediaType };
}

export interface PullOptions {
  platform?: string;
  progress: (m: JsonMessage) => void;
}

/** Pull `ref` (tag or digest) into the store; returns the image, tagged when `ref` has a tag. */
export async function pullImage(store: ImageStore, client: RegistryClient, ref: Reference, opts: PullOptions): Promise<ImageRecord> {
  const say = opts.progress;
  const reference = ref.digest ?? ref.tag ?? 'latest';
  const top = await fetchManifest(client, ref, reference);
  say({ status: `Pulling from ${ref.path}`, id: ref.digest ?? reference });
  let manifest = top;
  const want = parsePlatform(opts.platform);
  if (INDEX_TYPES.has(top.mediaType) || top.doc.manifests) {
    const match = (top.doc.manifests ?? []).find((m) => m.platform && platformMatches(want, m.platform));
    if (!match) throw new NotFoundError(`no matching manifest for ${formatPlatform(want)} in the manifest list entries`);
    manifest = await fetchManifest(client, ref, match.digest);
  }
  const { config: configDesc, layers: layerDescs } = manifest.doc;
  if (!configDesc || !Array.isArray(layerDescs)) throw new InvalidParameterError(`invalid manifest for ${familiarString(ref)}: no config or layers`);
  // The config is small: fetch it whole and check it before any layer.
  const cfgRes = await client.request(`/v2/${ref.path}/blobs/${configDesc.digest}`, { scope: `repository:${ref.path}:pull` });
  if (!cfgRes.ok) await client.fail(cfgRes, `failed to fetch the image config ${configDesc.digest}`);
  const rawConfig = Buffer.from(await cfgRes.arrayBuffer());
  if (`sha256:${createHash('sha256').update(rawConfig).digest('hex')}` !== configDesc.digest) {
    throw new InvalidParameterError(`image config verification failed for digest ${configDesc.digest}`);
  }
  const config = JSON.parse(rawConfig.toString('utf8')) as OciImageConfig;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== layerDescs.length) throw new InvalidParameterError('invalid image: the config and the manifest disagree on the layers');
  const chains = chainIds(diffIds);
  const existing = store.tryResolve(configDesc.digest);
  const tag = ref.tag ? familiarString(ref) : undefined;
  const newLayers: string[] = [];
  const newBlobs: string[] = [];
  try {
    const results = await Promise.allSettled(layerDescs.map(async (desc, i) => {
      const id = desc.digest.replace(/^sha256:/, '').slice(0, 12);
      const haveLayer = await store.layers.has(chains[i]!);
      const haveBlob = await store.content.has(desc.digest);
      if (haveLayer && haveBlob) {
        say({ status: 'Already exists', progressDetail: {}, id });
        return;
      }
      say({ status: 'Pulling fs layer', progressDetail: {}, id });
      const bar = throttle<number>(100, (n) => say(progressMessage(id, 'Downloading', n, desc.size)));
      // The unpacker reads from this pipe while the download writes into it.
      const feed = haveLayer ? undefined : new PassThrough({ highWaterMark: 1 << 20 });
      const unpacked = feed ? store.layers.unpack(feed, { parent: chains[i - 1], expectedDiffId: diffIds[i]! }) : undefined;
      unpacked?.catch(() => undefined);
      try {
        await downloadBlob(client, ref.path, desc, store.content, {
          onProgress: (n) => bar.push(n),
          onChunk: feed ? async (chunk) => { if (!feed.write(chunk)) await Promise.race([once(feed, 'drain'), unpacked!.then(() => undefined)]); } : undefined,
        });
      } catch (err) {
        feed?.destroy(err as Error);
        throw err;
      }
      newBlobs.push(desc.digest);
      bar.flush();
      say({ status: 'Verifying Checksum', progressDetail: {}, id });
      say({ status: 'Download complete', progressDetail: {}, id });
      if (feed) {
        say(progressMessage(id, 'Extracting', desc.size, desc.size));
        feed.end();
        await unpacked;
        newLayers.push(chains[i]!);
      }
      say({ status: 'Pull complete', progressDetail: {}, id });
    }));
    // Every transfer has settled before anything is cleaned up.
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await store.content.writeBlob(manifest.raw);
    const repoDigest = `${familiarName(ref)}@${top.digest}`;
    const before = tag ? store.tagOwner(tag) : undefined;
    const rec = await store.register({
      config, rawConfig, layerBlobs: layerDescs.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size })),
      manifestDigest: manifest.digest, repoDigest, tag, event: 'pull', eventAttributes: { name: familiarString(ref) },
    });
    say({ status: `Digest: ${top.digest}` });
    const upToDate = existing && (!tag || before === rec.id);
    say({ status: `Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${familiarString(ref)}` });
    return rec;
  } catch (err) {
    await store.collectGarbage({ layers: newLayers, blobs: newBlobs });
    throw err;
  }
}

/**
 * `pull --all-tags`: each tag of the repository in turn, with one status at
 * the end for the repository, as Docker reports it.
 */
export async function pullAllTags(store: ImageStore, client: RegistryClient, repo: Reference, opts: PullOptions): Promise<void> {
  const tags = (await listTags(client, repo.path)).sort();
  if (tags.length === 0) throw new NotFoundError(`no tags found for ${familiarString(repo)}`);
  let newer = false;
  for (const tag of tags) {
    await pullImage(store, client, { ...repo, tag, digest: undefined }, {
      ...opts,
      progress: (m) => {
        if (typeof m.status === 'string' && m.status.startsWith('Status: ')) {
          newer ||= m.status.startsWith('Status: Downloaded newer image');
          return;
        }
        opts.progress(m);
      },
    });
  }
  opts.progress({ status: `Status: ${newer ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarString(repo)}` });
}
