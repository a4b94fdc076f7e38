// Images: records (config + layers) and the tags that name them.
// An image id is the digest of its config blob, as in Docker.
import { promises as fs, createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ConflictError, InvalidParameterError, noSuchImage } from '../lib/errors.js';
import { writeJsonAtomic, readJson } from '../lib/atomic.js';
import { shortId } from '../lib/ids.js';
import type { ContentStore } from './content-store.js';
import { chainIds, type LayerStore } from './layer-store.js';
import { parseReference, withDefaultTag, fullString, familiarName, familiarString, normalizedTag, type Reference } from './reference.js';
import { parseChanges, type ImageConfigBody } from './changes.js';
import { detectCompression, MEDIA_TYPES } from './compression.js';
import { writeLayer, type Descriptor } from './layer-diff.js';

export interface OciImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ImageConfigBody;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; author?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
}

export interface ImageRecord {
  /** sha256:… digest of the config blob */
  id: string;
  manifestDigest: string;
  config: OciImageConfig;
  /** chain ids, lowest layer first */
  layers: string[];
  /** the manifest's layer descriptors (the blobs as stored and pushed), lowest first */
  layerBlobs: Descriptor[];
  /** the image this one was committed or built from, as Docker's local store records it */
  parent?: string;
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

export interface RegisterInput {
  config: OciImageConfig;
  /** the config's exact bytes when it came from elsewhere: the image id is their digest */
  rawConfig?: Buffer;
  layerBlobs: Descriptor[];
  /** an existing manifest blob (pulled or loaded); one is written when absent */
  manifestDigest?: string;
  repoDigest?: string;
  parent?: string;
  tag?: string;
  /** the image event to emit: import, load, pull, commit, build… (none when empty) */
  event?: string;
  eventAttributes?: Record<string, string>;
}

export interface HistoryEntry { Id: string; Created: number; CreatedBy: string; Tags: string[] | null; Size: number; Comment: string }

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
    readonly content: ContentStore,
    readonly layers: LayerStore,
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
      // Records from before layer descriptors were kept: the blobs were the plain diffs.
      rec.layerBlobs ??= rec.config.rootfs.diff_ids.map((d) => ({ mediaType: MEDIA_TYPES.ociLayer, digest: d, size: 0 }));
      this.records.set(rec.id, rec);
    }
    try {
      const tags = await readJson<Record<string, string>>(join(this.root, 'repositories.json'));
      this.tags = new Map(Object.entries(tags).filter(([, id]) => this.records.has(id)));
    } catch {
      this.tags = new Map();
    }
    // A crash in the middle of rmi, pull or load can leave layers and blobs no image names: sweep them.
    await this.collectGarbage({ layers: await this.layers.list(), blobs: await this.content.list() });
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
    if (ref?.digest) {
      // name@sha256:… names the image pulled or pushed under that manifest digest.
      const want = `${familiarName(ref)}@${ref.digest}`;
      for (const r of this.records.values()) if (r.repoDigests.includes(want)) return this.withTags(r);
    } else if (ref) {
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

  /** An image's layer directories, the top one first (overlay's lowerdir order); undefined for an unknown image. */
  layerDirsTopFirst(imageId: string): string[] | undefined {
    return this.records.get(imageId)?.layers.map((c) => this.layers.path(c)).reverse();
  }

  async rootfsLayers(imageId: string): Promise<string[]> {
    const rec = this.records.get(imageId);
    if (!rec) throw noSuchImage(imageId);
    return rec.layers.map((c) => this.layers.path(c));
  }

  /** Import a root filesystem tarball (plain, gzip or zstd) as a one-layer image. */
  async importRootfs(input: Readable, opts: { tag?: string; changes?: string[]; message?: string; source?: string } = {}): Promise<ImageRecord> {
    const changes = parseChanges(opts.changes ?? []);
    const target = opts.tag ? familiarString(withDefaultTag(parseReference(opts.tag))) : undefined;
    const blob = await this.content.ingest(input);
    let layer;
    try {
      layer = await this.layers.unpack(createReadStream(blob.path));
    } catch (err) {
      if (!this.blobInUse(blob.digest)) await this.content.delete(blob.digest);
      throw err;
    }
    const created = new Date().toISOString();
    const config: OciImageConfig = {
      architecture: hostArch(),
      config: changes,
      created,
      history: [{ created, created_by: '', comment: opts.message || `Imported from ${opts.source ?? '-'}` }],
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    };
    const mediaType = await blobMediaType(blob.path);
    return this.register({ config, layerBlobs: [{ mediaType, digest: blob.digest, size: blob.size }], tag: target, event: 'import' });
  }

  /**
   * Record an image whose layers are already unpacked: writes the config (and
   * a manifest when none is given), then tags it. The one way images come to be.
   */
  async register(input: RegisterInput): Promise<ImageRecord> {
    const { config } = input;
    const layers = chainIds(config.rootfs.diff_ids);
    if (layers.length !== input.layerBlobs.length) throw new InvalidParameterError('image config and manifest disagree on the number of layers');
    let size = 0;
    for (const l of layers) {
      if (!(await this.layers.has(l))) throw new InvalidParameterError(`layer ${l} is not unpacked`);
      size += (await this.layers.get(l)).size;
    }
    const configBlob = await this.content.writeBlob(input.rawConfig ?? JSON.stringify(config));
    let manifestDigest = input.manifestDigest;
    if (!manifestDigest) {
      const manifest = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configBlob.digest, size: configBlob.size },
        layers: input.layerBlobs,
      };
      manifestDigest = (await this.content.writeBlob(JSON.stringify(manifest))).digest;
    }
    const target = input.tag ? fullString(withDefaultTag(parseReference(input.tag))) : undefined;
    return this.serial(async () => {
      const existing = this.records.get(configBlob.digest);
      const rec: ImageRecord = existing ?? {
        id: configBlob.digest,
        manifestDigest,
        config,
        layers,
        layerBlobs: input.layerBlobs,
        size,
        repoDigests: [],
        repoTags: [],
        ...(input.parent ? { parent: input.parent } : {}),
      };
      if (input.repoDigest && !rec.repoDigests.includes(input.repoDigest)) {
        // One digest per repository, as Docker keeps them.
        const repo = input.repoDigest.split('@')[0];
        rec.repoDigests = [...rec.repoDigests.filter((d) => d.split('@')[0] !== repo), input.repoDigest];
      }
      await writeJsonAtomic(join(this.root, 'images', `${rec.id.slice(7)}.json`), { ...rec, repoTags: undefined });
      this.records.set(rec.id, rec);
      if (input.event) this.events(input.event, rec.id, input.eventAttributes ?? {});
      if (target) await this.setTag(target, rec.id);
      return this.withTags(rec);
    });
  }

  /**
   * `commit`: the container's upper directory becomes a new layer on top of
   * its image. `exclude` are the paths Berth itself put in the upper directory.
   */
  async commit(upper: string, baseId: string | undefined, opts: { config: ImageConfigBody; author?: string; comment?: string; createdBy?: string; tag?: string; exclude?: Set<string>; adopt?: boolean; epoch?: number }): Promise<ImageRecord> {
    const base = baseId === undefined ? undefined : this.records.get(baseId);
    if (baseId !== undefined && !base) throw noSuchImage(baseId);
    const { descriptor, diffId, contentBytes } = await writeLayer(this.content, upper, { exclude: opts.exclude, ...(opts.epoch !== undefined ? { clampMtime: opts.epoch } : {}) });
    const parent = base?.layers[base.layers.length - 1];
    try {
      // With an epoch the layer's mtimes were clamped: unpack it, so what runs here is what ships.
      if (opts.adopt && opts.epoch === undefined) {
        // The upper is ours to take (a finished build step): it already is the unpacked layer, minus what was excluded.
        for (const path of opts.exclude ?? []) await removeInside(upper, path);
        await this.layers.adopt(upper, { ...(parent ? { parent } : {}), diffId, size: contentBytes });
      } else {
        await this.layers.unpack(createReadStream(this.content.path(descriptor.digest)), { parent, expectedDiffId: diffId });
      }
    } catch (err) {
      if (!this.blobInUse(descriptor.digest)) await this.content.delete(descriptor.digest);
      throw err;
    }
    const created = createdAt(opts.epoch);
    const config: OciImageConfig = {
      ...baseConfig(base),
      created,
      ...(opts.author ? { author: opts.author } : {}),
      config: opts.config,
      rootfs: { type: 'layers', diff_ids: [...(base?.config.rootfs.diff_ids ?? []), diffId] },
      history: [...(base?.config.history ?? []), {
        created,
        ...(opts.author ? { author: opts.author } : {}),
        created_by: opts.createdBy ?? '',
        ...(opts.comment ? { comment: opts.comment } : {}),
      }],
    };
    return this.register({ config, layerBlobs: [...(base?.layerBlobs ?? []), descriptor], ...(base ? { parent: base.id } : {}), tag: opts.tag, event: '' });
  }

  /** A new image with the same layers and another config (a builder's ENV, CMD, LABEL… step). */
  async derive(baseId: string | undefined, opts: { config: ImageConfigBody; createdBy: string; epoch?: number }): Promise<ImageRecord> {
    const base = baseId === undefined ? undefined : this.records.get(baseId);
    if (baseId !== undefined && !base) throw noSuchImage(baseId);
    const created = createdAt(opts.epoch);
    const config: OciImageConfig = {
      ...baseConfig(base),
      created,
      config: opts.config,
      rootfs: { type: 'layers', diff_ids: [...(base?.config.rootfs.diff_ids ?? [])] },
      history: [...(base?.config.history ?? []), { created, created_by: opts.createdBy, empty_layer: true }],
    };
    return this.register({ config, layerBlobs: [...(base?.layerBlobs ?? [])], ...(base ? { parent: base.id } : {}), event: '' });
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
    const hasChildren = (id: string): boolean => [...this.records.values()].some((r) => r.parent === id);
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
      // Still the base of other images (commit, build): only the name goes.
      if (inUse || hasChildren(img.id)) return result;
    } else {
      if (hasChildren(img.id)) {
        throw new ConflictError(`conflict: unable to delete ${shortId(img.id)} (cannot be forced) - image has dependent child images`);
      }
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
    // Docker removes the untagged parents the image was built on, unless --no-prune.
    let parent = img.parent;
    while (parent && !opts.noPrune) {
      const p = this.records.get(parent);
      if (!p || this.withTags(p).repoTags.length || hasChildren(p.id) || opts.isInUse?.(p.id)) break;
      await this.deleteImage(p.id, result);
      parent = p.parent;
    }
    return result;
  }

  /** `history`: one entry per history record, newest first, with each layer's size. */
  async history(nameOrId: string): Promise<HistoryEntry[]> {
    const rec = this.resolve(nameOrId);
    let hist = rec.config.history ?? [];
    if (hist.filter((h) => !h.empty_layer).length !== rec.layers.length) {
      // No usable history (some tools write none): one anonymous entry per layer.
      hist = rec.layers.map(() => ({ created: rec.config.created }));
    }
    // An entry belongs to the image (this one or an ancestor) whose history ends there.
    const owners = new Map<number, ImageRecord>();
    for (let img: ImageRecord | undefined = rec; img; img = img.parent ? this.records.get(img.parent) : undefined) {
      owners.set((img.config.history ?? []).length - 1, this.withTags(img));
    }
    const out: HistoryEntry[] = [];
    let layer = 0;
    for (let i = 0; i < hist.length; i++) {
      const h = hist[i]!;
      let size = 0;
      if (!h.empty_layer) {
        const chain = rec.layers[layer++];
        if (chain) size = (await this.layers.get(chain).catch(() => ({ size: 0 }))).size;
      }
      const owner = i === hist.length - 1 ? this.withTags(rec) : owners.get(i);
      out.push({
        Id: owner?.id ?? '<missing>',
        Created: Math.floor(Date.parse(h.created ?? rec.config.created ?? '1970-01-01T00:00:00Z') / 1000),
        CreatedBy: h.created_by ?? '',
        Tags: owner && owner.repoTags.length ? owner.repoTags : null,
        Size: size,
        Comment: h.comment ?? '',
      });
    }
    return out.reverse();
  }

  /**
   * `image prune`: dangling images (no tag, no child), or with `all` every
   * image no container uses. Children go before their parents.
   */
  async prune(opts: { all: boolean; keep: (rec: ImageRecord) => boolean; inUse: (id: string) => boolean }): Promise<{ ImagesDeleted: RemoveResult | null; SpaceReclaimed: number }> {
    return this.serial(async () => {
      const result: RemoveResult = [];
      let reclaimed = 0;
      for (let changed = true; changed;) {
        changed = false;
        for (const raw of [...this.records.values()]) {
          const rec = this.withTags(raw);
          const hasChildren = [...this.records.values()].some((r) => r.parent === rec.id);
          if (hasChildren || opts.inUse(rec.id) || opts.keep(rec)) continue;
          if (!opts.all && rec.repoTags.length > 0) continue;
          for (const [key, id] of [...this.tags]) {
            if (id !== rec.id) continue;
            this.tags.delete(key);
            const fam = familiarString(parseReference(key));
            result.push({ Untagged: fam });
            this.events('untag', rec.id, { name: fam });
          }
          await this.saveTags();
          reclaimed += await this.deleteImage(rec.id, result);
          changed = true;
        }
      }
      return { ImagesDeleted: result.length ? result : null, SpaceReclaimed: reclaimed };
    });
  }

  /** Remove the record and whatever no remaining image needs; returns the bytes of layers removed. */
  private async deleteImage(id: string, result: RemoveResult): Promise<number> {
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
      r.layerBlobs.forEach((d) => usedBlobs.add(d.digest));
      usedBlobs.add(r.id);
      usedBlobs.add(r.manifestDigest);
    }
    let freed = 0;
    for (const l of rec.layers) {
      if (usedLayers.has(l)) continue;
      freed += (await this.layers.get(l).catch(() => ({ size: 0 }))).size;
      await this.layers.remove(l);
    }
    for (const b of [rec.id, rec.manifestDigest, ...rec.layerBlobs.map((d) => d.digest)]) if (!usedBlobs.has(b)) await this.content.delete(b);
    return freed;
  }

  /** Remember where an image was pushed: one digest per repository, as Docker keeps them. */
  async addRepoDigest(id: string, repoDigest: string): Promise<void> {
    await this.serial(async () => {
      const rec = this.records.get(id);
      if (!rec) return;
      const repo = repoDigest.split('@')[0];
      rec.repoDigests = [...rec.repoDigests.filter((d) => d.split('@')[0] !== repo), repoDigest];
      await writeJsonAtomic(join(this.root, 'images', `${rec.id.slice(7)}.json`), { ...rec, repoTags: undefined });
    });
  }

  /** Is some image built or committed on top of this one (an intermediate image when untagged)? */
  hasChildren(id: string): boolean {
    for (const r of this.records.values()) if (r.parent === id) return true;
    return false;
  }

  /** Tags (just the tag part) of one repository, for `push` without a tag. */
  tagsOfRepository(repo: Reference): string[] {
    const prefix = `${repo.domain}/${repo.path}:`;
    return [...this.tags.keys()].filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/')).map((k) => k.slice(prefix.length)).sort();
  }

  /** The image a tag names now, if any (`load` says when it moves a tag away). */
  tagOwner(tag: string): string | undefined {
    return this.tags.get(normalizedTag(tag));
  }

  /** The tags (familiar form) of `nameOrId` that the name itself selects: none for an id, the one tag for a reference. */
  selectedTags(nameOrId: string, rec: ImageRecord): string[] {
    if (this.records.has(nameOrId) || this.records.has(`sha256:${nameOrId}`)) return [];
    try {
      const key = normalizedTag(nameOrId);
      return this.tags.get(key) === rec.id ? [familiarString(parseReference(key))] : [];
    } catch {
      return [];
    }
  }

  /** Remove layers and blobs in `candidates` that no image uses (after a failed load or pull). */
  async collectGarbage(candidates: { layers?: string[]; blobs?: string[] }): Promise<void> {
    await this.serial(async () => {
      const usedLayers = new Set<string>();
      const usedBlobs = new Set<string>();
      for (const r of this.records.values()) {
        r.layers.forEach((l) => usedLayers.add(l));
        r.layerBlobs.forEach((d) => usedBlobs.add(d.digest));
        usedBlobs.add(r.id);
        usedBlobs.add(r.manifestDigest);
      }
      for (const l of candidates.layers ?? []) if (!usedLayers.has(l)) await this.layers.remove(l);
      for (const b of candidates.blobs ?? []) if (!usedBlobs.has(b)) await this.content.delete(b);
    });
  }

  private blobInUse(digest: string): boolean {
    for (const r of this.records.values()) if (r.layerBlobs.some((d) => d.digest === digest)) return true;
    return false;
  }

  toSummary(rec: ImageRecord): Record<string, unknown> {
    return {
      Id: rec.id,
      ParentId: rec.parent ?? '',
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
      Parent: rec.parent ?? '',
      Comment: rec.config.history?.[rec.config.history.length - 1]?.comment ?? '',
      Created: rec.config.created ?? '',
      DockerVersion: '',
      Author: rec.config.author ?? '',
      Config: {
        Hostname: '', Domainname: '', User: c.User ?? '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
        ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
        Tty: false, OpenStdin: false, StdinOnce: false, Env: c.Env ?? null, Cmd: c.Cmd ?? null, Image: '',
        Volumes: c.Volumes ?? null, WorkingDir: c.WorkingDir ?? '', Entrypoint: c.Entrypoint ?? null, OnBuild: (c as { OnBuild?: string[] }).OnBuild ?? null,
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

/** What a child image inherits from its base (or a scratch image from the host). */
function baseConfig(base: ImageRecord | undefined): Pick<OciImageConfig, 'architecture' | 'os' | 'variant'> {
  if (!base) return { architecture: hostArch(), os: 'linux' };
  return { architecture: base.config.architecture, os: base.config.os, ...(base.config.variant ? { variant: base.config.variant } : {}) };
}

async function blobMediaType(path: string): Promise<string> {
  const fh = await fs.open(path, 'r');
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    const c = detectCompression(b.subarray(0, bytesRead));
    return c === 'gzip' ? MEDIA_TYPES.ociLayerGzip : c === 'zstd' ? MEDIA_TYPES.ociLayerZstd : MEDIA_TYPES.ociLayer;
  } finally {
    await fh.close();
  }
}

/**
 * Remove `path` (absolute, as the container sees it) from an upper directory,
 * only when every directory on the way is a real directory there: a symlink
 * in the upper must never send the removal anywhere else (the layer tar did
 * not descend into it either).
 */
async function removeInside(upper: string, path: string): Promise<void> {
  const parts = path.split('/').filter(Boolean);
  if (!parts.length || parts.includes('..')) return;
  let cur = upper;
  for (const p of parts.slice(0, -1)) {
    cur = join(cur, p);
    const st = await fs.lstat(cur).catch(() => undefined);
    if (!st?.isDirectory()) return;
  }
  await fs.rm(join(cur, parts[parts.length - 1]!), { recursive: true, force: true });
}

/** An image's `created`: now, or SOURCE_DATE_EPOCH (seconds) written as BuildKit writes it. */
function createdAt(epoch?: number): string {
  return epoch === undefined ? new Date().toISOString() : new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
}
