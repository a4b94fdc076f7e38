// Images: records (config + layers) and the tags that name them.
// An image id is the digest of its config blob, as in Docker.
import { promises as fs, createReadStream, createWriteStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ConflictError, InvalidParameterError, noSuchImage } from '../lib/errors.js';
import { writeJsonAtomic, readJson } from '../lib/atomic.js';
import { shortId } from '../lib/ids.js';
import type { ContentStore } from './content-store.js';
import { chainIds, type LayerStore } from './layer-store.js';
import { parseReference, withDefaultTag, fullString, familiarString, type Reference } from './reference.js';
import { parseChanges, type ImageConfigBody } from './changes.js';

export interface OciImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  config?: ImageConfigBody;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
}

export interface ImageRecord {
  /** sha256:… digest of the config blob */
  id: string;
  manifestDigest: string;
  config: OciImageConfig;
  /** chain ids, lowest layer first */
  layers: string[];
  size: number;
  repoDigests: string[];
  lastTagTime?: string;
  /** filled from the tag map on read */
  repoTags: string[];
}

export type EventSink = (action: string, id: string, attributes: Record<string, string>) => void;

export interface RemoveOptions {
  force?: boolean;
  noPrune?: boolean;
  isInUse?: (imageId: string) => { id: string; running: boolean } | undefined;
}

export type RemoveResult = ({ Untagged: string } | { Deleted: string })[];

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
export const hostArch = (): string => GOARCH[process.arch] ?? process.arch;

export class ImageStore {
  private readonly records = new Map<string, ImageRecord>();
  /** full reference string (docker.io/library/busybox:latest) → image id */
  private tags = new Map<string, string>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly root: string,
    private readonly content: ContentStore,
    private readonly layers: LayerStore,
    private readonly events: EventSink = () => undefined,
  ) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.catch(() => undefined).then(fn);
    this.queue = next;
    return next;
  }

  async load(): Promise<void> {
    await fs.mkdir(join(this.root, 'images'), { recursive: true });
    await this.content.cleanupIngests();
    await this.layers.cleanupTemp();
    for (const f of await fs.readdir(join(this.root, 'images'))) {
      if (!f.endsWith('.json') || f.startsWith('.')) {
        if (f.startsWith('.')) await fs.rm(join(this.root, 'images', f), { force: true });
        continue;
      }
      const rec = await readJson<ImageRecord>(join(this.root, 'images', f));
      rec.repoTags = [];
      this.records.set(rec.id, rec);
    }
    try {
      const tags = await readJson<Record<string, string>>(join(this.root, 'repositories.json'));
      this.tags = new Map(Object.entries(tags).filter(([, id]) => this.records.has(id)));
    } catch {
      this.tags = new Map();
    }
  }

  private async saveTags(): Promise<void> {
    await writeJsonAtomic(join(this.root, 'repositories.json'), Object.fromEntries(this.tags));
  }

  private withTags(rec: ImageRecord): ImageRecord {
    const repoTags: string[] = [];
    for (const [ref, id] of this.tags) if (id === rec.id) repoTags.push(familiarString(parseReference(ref)));
    return { ...rec, repoTags: repoTags.sort() };
  }

  list(): ImageRecord[] {
    return [...this.records.values()].map((r) => this.withTags(r));
  }

  tryResolve(nameOrId: string): ImageRecord | undefined {
    const byId = this.records.get(nameOrId) ?? this.records.get(`sha256:${nameOrId}`);
    if (byId) return this.withTags(byId);
    let ref: Reference | undefined;
    try {
      ref = parseReference(nameOrId);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const id = this.tags.get(fullString(withDefaultTag(ref)));
      if (id) return this.withTags(this.records.get(id)!);
    }
    const hex = nameOrId.replace(/^sha256:/, '');
    if (/^[a-f0-9]+$/.test(hex)) {
      const matches = [...this.records.keys()].filter((id) => id.slice(7).startsWith(hex));
      if (matches.length === 1) return this.withTags(this.records.get(matches[0]!)!);
    }
    return undefined;
  }

  /** By id, id prefix or reference (`busybox` means `busybox:latest`). */
  resolve(nameOrId: string): ImageRecord {
    const r = this.tryResolve(nameOrId);
    if (r) return r;
    // Docker names the reference with its default tag in the message.
    let shown = nameOrId;
    try {
      const ref = parseReference(nameOrId);
      if (!/^(sha256:)?[a-f0-9]{12,64}$/.test(nameOrId)) shown = familiarString(withDefaultTag(ref));
    } catch { /* keep what the user typed */ }
    throw noSuchImage(shown);
  }

  async rootfsLayers(imageId: string): Promise<string[]> {
    const rec = this.records.get(imageId);
    if (!rec) throw noSuchImage(imageId);
    return rec.layers.map((c) => this.layers.path(c));
  }

  /** Import a root filesystem tarball (plain or gzip) as a one-layer image. */
  async importRootfs(input: Readable, opts: { tag?: string; changes?: string[]; message?: string } = {}): Promise<ImageRecord> {
    const changes = parseChanges(opts.changes ?? []);
    const target = opts.tag ? fullString(withDefaultTag(parseReference(opts.tag))) : undefined;
    let blob = await this.content.ingest(input);
    if (await isGzip(blob.path)) {
      const tmp = this.content.tempPath();
      const hash = createHash('sha256');
      let size = 0;
      try {
        await pipeline(createReadStream(blob.path), createGunzip(), async function* (src: AsyncIterable<Buffer>) {
          for await (const chunk of src) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        }, createWriteStream(tmp));
      } catch (err) {
        await fs.rm(tmp, { force: true });
        await this.content.delete(blob.digest);
        throw new InvalidParameterError(`invalid gzip archive: ${(err as Error).message}`);
      }
      const digest = `sha256:${hash.digest('hex')}`;
      await this.content.delete(blob.digest);
      await this.content.commit(tmp, digest);
      blob = { digest, size, path: this.content.path(digest) };
    }
    const diffId = blob.digest;
    let layer;
    try {
      layer = await this.layers.unpackLayer(blob.path, diffId);
    } catch (err) {
      if (!this.blobInUse(diffId)) await this.content.delete(diffId);
      throw err;
    }
    const created = new Date().toISOString();
    const config: OciImageConfig = {
      architecture: hostArch(),
      config: changes,
      created,
      history: [{ created, created_by: '', comment: opts.message || 'Imported from -' }],
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [diffId] },
    };
    const configBlob = await this.content.writeBlob(JSON.stringify(config));
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configBlob.digest, size: configBlob.size },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffId, size: blob.size }],
    };
    const manifestBlob = await this.content.writeBlob(JSON.stringify(manifest));
    const rec: ImageRecord = {
      id: configBlob.digest,
      manifestDigest: manifestBlob.digest,
      config,
      layers: chainIds([diffId]),
      size: layer.size,
      repoDigests: [],
      repoTags: [],
    };
    return this.serial(async () => {
      await writeJsonAtomic(join(this.root, 'images', `${rec.id.slice(7)}.json`), rec);
      this.records.set(rec.id, rec);
      this.events('import', rec.id, {});
      if (target) await this.setTag(target, rec.id);
      return this.withTags(rec);
    });
  }

  private async setTag(target: string, id: string): Promise<void> {
    const prev = this.tags.get(target);
    this.tags.set(target, id);
    const rec = this.records.get(id)!;
    rec.lastTagTime = new Date().toISOString();
    await this.saveTags();
    this.events('tag', id, { name: familiarString(parseReference(target)) });
    // The image that lost the tag may now be dangling; Docker keeps it.
    void prev;
  }

  async tag(source: string, target: string): Promise<void> {
    const img = this.resolve(source);
    const key = fullString(withDefaultTag(parseReference(target)));
    await this.serial(() => this.setTag(key, img.id));
  }

  async remove(nameOrId: string, opts: RemoveOptions = {}): Promise<RemoveResult> {
    return this.serial(() => this.removeLocked(nameOrId, opts));
  }

  private async removeLocked(nameOrId: string, opts: RemoveOptions): Promise<RemoveResult> {
    const img = this.resolve(nameOrId);
    const result: RemoveResult = [];
    let ref: Reference | undefined;
    try {
      ref = parseReference(nameOrId);
    } catch { /* an id */ }
    const exactId = this.records.has(nameOrId) || this.records.has(`sha256:${nameOrId}`);
    const byTag = !exactId && ref !== undefined && this.tags.get(fullString(withDefaultTag(ref))) === img.id;
    const inUse = opts.isInUse?.(img.id);
    const untag = async (key: string): Promise<void> => {
      this.tags.delete(key);
      const fam = familiarString(parseReference(key));
      result.push({ Untagged: fam });
      this.events('untag', img.id, { name: fam });
    };
    if (byTag) {
      const key = fullString(withDefaultTag(ref!));
      if (img.repoTags.length > 1) {
        await untag(key);
        await this.saveTags();
        return result;
      }
      if (inUse && !opts.force) {
        throw new ConflictError(`conflict: unable to remove repository reference "${nameOrId}" (must force) - container ${shortId(inUse.id)} is using its referenced image ${shortId(img.id)}`);
      }
      await untag(key);
      await this.saveTags();
      if (inUse) return result;
    } else {
      if (inUse?.running) {
        throw new ConflictError(`conflict: unable to delete ${shortId(img.id)} (cannot be forced) - image is being used by running container ${shortId(inUse.id)}`);
      }
      if (inUse && !opts.force) {
        throw new ConflictError(`conflict: unable to delete ${shortId(img.id)} (must be forced) - image is being used by stopped container ${shortId(inUse.id)}`);
      }
      if (img.repoTags.length > 1 && !opts.force) {
        throw new ConflictError(`conflict: unable to delete ${shortId(img.id)} (must be forced) - image is referenced in multiple repositories`);
      }
      for (const [key, id] of [...this.tags]) if (id === img.id) await untag(key);
      await this.saveTags();
      // A stopped container still needs the layers: keep the image, untagged.
      if (inUse) return result;
    }
    await this.deleteImage(img.id, result);
    return result;
  }

  private async deleteImage(id: string, result: RemoveResult): Promise<void> {
    const rec = this.records.get(id)!;
    await fs.rm(join(this.root, 'images', `${id.slice(7)}.json`), { force: true });
    this.records.delete(id);
    result.push({ Deleted: id });
    this.events('delete', id, {});
    // Garbage-collect what no remaining image references.
    const usedLayers = new Set<string>();
    const usedBlobs = new Set<string>();
    for (const r of this.records.values()) {
      r.layers.forEach((l) => usedLayers.add(l));
      r.config.rootfs.diff_ids.forEach((d) => usedBlobs.add(d));
      usedBlobs.add(r.id);
      usedBlobs.add(r.manifestDigest);
    }
    for (const l of rec.layers) if (!usedLayers.has(l)) await this.layers.remove(l);
    for (const b of [rec.id, rec.manifestDigest, ...rec.config.rootfs.diff_ids]) if (!usedBlobs.has(b)) await this.content.delete(b);
  }

  private blobInUse(digest: string): boolean {
    for (const r of this.records.values()) if (r.config.rootfs.diff_ids.includes(digest)) return true;
    return false;
  }

  toSummary(rec: ImageRecord): Record<string, unknown> {
    return {
      Id: rec.id,
      ParentId: '',
      RepoTags: rec.repoTags,
      RepoDigests: rec.repoDigests,
      Created: Math.floor(Date.parse(rec.config.created ?? '1970-01-01T00:00:00Z') / 1000),
      Size: rec.size,
      SharedSize: -1,
      VirtualSize: rec.size,
      Labels: rec.config.config?.Labels ?? null,
      Containers: -1,
    };
  }

  toInspect(rec: ImageRecord): Record<string, unknown> {
    const c = rec.config.config ?? {};
    return {
      Id: rec.id,
      RepoTags: rec.repoTags,
      RepoDigests: rec.repoDigests,
      Parent: '',
      Comment: rec.config.history?.[rec.config.history.length - 1]?.comment ?? '',
      Created: rec.config.created ?? '',
      DockerVersion: '',
      Author: rec.config.author ?? '',
      Config: {
        Hostname: '', Domainname: '', User: c.User ?? '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
        ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
        Tty: false, OpenStdin: false, StdinOnce: false, Env: c.Env ?? null, Cmd: c.Cmd ?? null, Image: '',
        Volumes: c.Volumes ?? null, WorkingDir: c.WorkingDir ?? '', Entrypoint: c.Entrypoint ?? null, OnBuild: null,
        Labels: c.Labels ?? null, ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
        ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
      },
      Architecture: rec.config.architecture,
      Os: rec.config.os,
      Size: rec.size,
      VirtualSize: rec.size,
      GraphDriver: {
        Name: 'overlay2',
        Data: {
          LowerDir: rec.layers.slice(0, -1).reverse().map((l) => this.layers.path(l)).join(':') || undefined,
          UpperDir: this.layers.path(rec.layers[rec.layers.length - 1]!),
        },
      },
      RootFS: { Type: 'layers', Layers: rec.config.rootfs.diff_ids },
      Metadata: { LastTagTime: rec.lastTagTime ?? '0001-01-01T00:00:00Z' },
    };
  }
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await fs.open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 0);
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}
