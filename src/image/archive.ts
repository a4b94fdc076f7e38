// `save` and `load`: images as one tar archive. The archive written is the
// one Docker 25+ writes — an OCI image layout (`oci-layout`, `index.json`,
// `blobs/sha256/…`) that also carries Docker's `manifest.json` and
// `repositories` — so `docker load`, skopeo and Berth all read it. `load`
// reads that, plain OCI layouts, and the older Docker layout
// (`<id>/layer.tar`, `<id>.json`).
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join, posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { InvalidParameterError, NotFoundError } from '../lib/errors.js';
import { formatPlatform, parsePlatform, platformMatches, type Platform } from './platform.js';
import { decompressFile, detectCompression, MEDIA_TYPES } from './compression.js';
import { gunzipFile, sha256File, type FileDigest } from '../lib/hash-pool.js';
import type { Descriptor } from './layer-diff.js';
import { chainIds } from './layer-store.js';
import type { ImageRecord, ImageStore, OciImageConfig } from './image-store.js';
import { familiarString, parseReference, withDefaultTag } from './reference.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
const INDEX_TYPES = new Set([OCI_INDEX, 'application/vnd.docker.distribution.manifest.list.v2+json']);
const MAX_JSON = 16 * 1024 * 1024;
/** Members at least this big (layers) are hashed, or inflated, as soon as they are written. */
const PREPARE_BYTES = 1024 * 1024;

interface Inflated { plainPath: string; packed: FileDigest; plain: FileDigest }

interface Selected { rec: ImageRecord; tags: string[] }

/** Resolve every name first: an unknown one fails the save before a byte is written. */
export function selectImages(store: ImageStore, names: string[], platform?: string): Selected[] {
  if (names.length === 0) throw new InvalidParameterError('at least one image name is required');
  const want = platform === undefined ? undefined : parsePlatform(platform);
  const byId = new Map<string, Selected>();
  for (const name of names) {
    const rec = store.resolve(name);
    // `save --platform`: an image here has one platform; another one is not in it.
    if (want && !platformMatches(want, rec.config)) {
      throw new NotFoundError(`image with reference ${name} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(rec.config)}`);
    }
    const sel = byId.get(rec.id) ?? { rec, tags: [] };
    for (const t of store.selectedTags(name, rec)) if (!sel.tags.includes(t)) sel.tags.push(t);
    byId.set(rec.id, sel);
  }
  return [...byId.values()];
}

const blobPath = (digest: string): string => `blobs/sha256/${digest.replace(/^sha256:/, '')}`;

export async function saveImages(store: ImageStore, selected: Selected[], out: Writable): Promise<void> {
  const pack = tarStream.pack();
  const mtime = new Date(0);
  const written = new Set<string>();
  const add = (name: string, data: string | Buffer): Promise<void> => new Promise((resolve, reject) => {
    pack.entry({ name, mode: 0o644, mtime }, data, (err) => (err ? reject(err) : resolve()));
  });
  const addFile = (name: string, file: string, size: number): Promise<void> => new Promise((resolve, reject) => {
    const sink = pack.entry({ name, mode: 0o644, mtime, size }, (err) => (err ? reject(err) : resolve()));
    const src = createReadStream(file);
    src.on('error', (err) => { sink.destroy(err); reject(err); });
    src.pipe(sink as unknown as Writable);
  });
  const done = pipeline(pack as unknown as Readable, out);
  try {
    for (const dir of ['blobs', 'blobs/sha256']) {
      await new Promise<void>((resolve, reject) => pack.entry({ name: dir, type: 'directory', mode: 0o755, mtime }, (err) => (err ? reject(err) : resolve())));
    }
    const index: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[] = [];
    const manifestJson: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const { rec, tags } of selected) {
      const manifestBlob = await store.content.readBlob(rec.manifestDigest);
      const manifest = JSON.parse(manifestBlob.toString('utf8')) as { mediaType?: string };
      for (const d of [rec.id, ...rec.layerBlobs.map((l) => l.digest), rec.manifestDigest]) {
        if (written.has(d)) continue;
        written.add(d);
        const st = await fs.stat(store.content.path(d));
        await addFile(blobPath(d), store.content.path(d), st.size);
      }
      const mediaType = manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
      if (tags.length === 0) index.push({ mediaType, digest: rec.manifestDigest, size: manifestBlob.length });
      for (const t of tags) {
        const ref = withDefaultTag(parseReference(t));
        index.push({
          mediaType, digest: rec.manifestDigest, size: manifestBlob.length,
          annotations: { 'io.containerd.image.name': `${ref.domain}/${ref.path}:${ref.tag}`, 'org.opencontainers.image.ref.name': ref.tag! },
        });
        const name = familiarString({ ...ref, tag: undefined });
        (repositories[name] ??= {})[ref.tag!] = rec.layers[rec.layers.length - 1]!.replace(/^sha256:/, '');
      }
      manifestJson.push({ Config: blobPath(rec.id), RepoTags: tags, Layers: rec.layerBlobs.map((l) => blobPath(l.digest)) });
    }
    await add('index.json', JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: index }) + '\n');
    await add('manifest.json', JSON.stringify(manifestJson) + '\n');
    await add('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }) + '\n');
    if (Object.keys(repositories).length) await add('repositories', JSON.stringify(repositories) + '\n');
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
  }
  await done;
}

// ---- load -------------------------------------------------------------------

/** An archive extracted to a private directory; symlinks are remembered, never created. */
class ExtractedArchive {
  private readonly links = new Map<string, string>();
  readonly files = new Set<string>();
  /** sha256 and size of regular members (by path): big ones from the moment they are written, small ones when asked for */
  private readonly digests = new Map<string, Promise<FileDigest>>();
  /** gzip members inflated next to themselves (`….plain`), with both digests */
  private readonly inflations = new Map<string, Promise<Inflated>>();

  constructor(readonly dir: string) {}

  static async from(input: Readable, dir: string): Promise<ExtractedArchive> {
    const a = new ExtractedArchive(dir);
    await fs.mkdir(dir, { recursive: true });
    const extract = tarStream.extract();
    const done = new Promise<void>((resolve, reject) => {
      extract.on('entry', (header, stream, next) => {
        // A truncated archive errors the entry stream; the extract's own error reports it.
        stream.on('error', () => undefined);
        const fail = (err: Error): void => { stream.resume(); reject(err); extract.destroy(); };
        let name: string;
        try {
          name = cleanMember(header.name);
        } catch (err) {
          fail(err as Error);
          return;
        }
        if (header.type === 'symlink' && name) {
          a.links.set(name, header.linkname ?? '');
          stream.on('end', next);
          stream.resume();
          return;
        }
        if (header.type !== 'file' && header.type !== 'contiguous-file') {
          stream.on('end', next);
          stream.resume();
          return;
        }
        const target = join(dir, name);
        // Written as it comes, not hashed on the way: reading the archive is one stream on
        // one core, and hashing each layer there held it up (~1.7 s for 300 MB). A big
        // member is hashed (a gzip one inflated too) by a worker reading its file, as soon
        // as it is whole, while the stream goes on with the next ones.
        let head: Buffer | undefined;
        let size = 0;
        const tap = async function* (src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
          for await (const chunk of src) {
            head ??= chunk.subarray(0, 6);
            size += chunk.length;
            yield chunk;
          }
        };
        void fs.mkdir(posix.dirname(target), { recursive: true })
          .then(() => pipeline(stream as unknown as Readable, tap, createWriteStream(target, { mode: 0o600 })))
          .then(() => {
            a.files.add(name);
            if (size >= PREPARE_BYTES) {
              if (head && detectCompression(head) === 'gzip') void a.inflated(target).catch(() => undefined);
              else void a.digestOfFile(target);
            }
            next();
          }, (err: Error) => { fail(err); });
      });
      extract.on('finish', resolve);
      extract.on('error', (err) => reject(new InvalidParameterError(`invalid tar archive: ${err.message}`)));
    });
    input.on('error', (err) => extract.destroy(err));
    input.pipe(extract as unknown as Writable);
    await done;
    return a;
  }

  /** Digest and size of the member a path names (after symlinks). */
  async digestOf(member: string): Promise<{ digest: string; size: number } | undefined> {
    const path = this.resolve(member);
    if (!path) return undefined;
    return this.digestOfFile(path);
  }

  /** Digest and size of an extracted member's file, hashed once on a worker. */
  digestOfFile(path: string): Promise<FileDigest> {
    let d = this.digests.get(path);
    if (!d) {
      d = sha256File(path);
      d.catch(() => undefined);
      this.digests.set(path, d);
    }
    return d;
  }

  /** A gzip member inflated into `….plain` on a worker (once), with the digests of both. */
  inflated(path: string): Promise<Inflated> {
    let p = this.inflations.get(path);
    if (!p) {
      const plainPath = `${path}.${randomBytes(4).toString('hex')}.plain`;
      p = gunzipFile(path, plainPath).then(({ packed, plain }) => ({ plainPath, packed, plain }));
      p.catch(() => undefined);
      this.inflations.set(path, p);
      // The member's own digest comes with it; should the data be damaged, a plain hash.
      if (!this.digests.has(path)) {
        const d = p.then((i) => i.packed, () => sha256File(path));
        d.catch(() => undefined);
        this.digests.set(path, d);
      }
    }
    return p;
  }

  /** The member a path names, following the archive's own symlinks (as old `docker save` writes for shared layers). */
  resolve(member: string): string | undefined {
    let p = cleanMember(member);
    for (let i = 0; i < 16; i++) {
      if (this.files.has(p)) return join(this.dir, p);
      const parts = p.split('/');
      let replaced = false;
      for (let j = parts.length; j > 0; j--) {
        const prefix = parts.slice(0, j).join('/');
        const link = this.links.get(prefix);
        if (link === undefined) continue;
        const base = posix.dirname(prefix);
        const resolved = posix.normalize(link.startsWith('/') ? link.slice(1) : posix.join(base === '.' ? '' : base, link));
        if (resolved.startsWith('../') || resolved === '..') return undefined;
        p = [resolved, ...parts.slice(j)].join('/');
        replaced = true;
        break;
      }
      if (!replaced) return undefined;
    }
    return undefined;
  }

  async json<T>(member: string): Promise<T | undefined> {
    const path = this.resolve(member);
    if (!path) return undefined;
    const st = await fs.stat(path);
    if (st.size > MAX_JSON) throw new InvalidParameterError(`invalid archive: ${member} is too large`);
    try {
      return JSON.parse(await fs.readFile(path, 'utf8')) as T;
    } catch (err) {
      throw new InvalidParameterError(`invalid archive: ${member}: ${(err as Error).message}`);
    }
  }
}

function cleanMember(raw: string): string {
  const name = posix.normalize(raw.replace(/^\.?\/+/, '')).replace(/\/+$/, '');
  if (name === '..' || name.startsWith('../') || name.startsWith('/')) throw new InvalidParameterError(`invalid archive member "${raw}": path escapes the archive`);
  return name === '.' ? '' : name;
}

/** One image found in the archive, with the files that hold its parts. */
interface Candidate { config: string; layers: string[]; tags: string[]; manifest?: string }

async function candidates(a: ExtractedArchive, want: Platform, explicit: boolean): Promise<Candidate[]> {
  const manifest = await a.json<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>('manifest.json');
  if (manifest) {
    if (!Array.isArray(manifest)) throw new InvalidParameterError('invalid archive: manifest.json is not a list');
    return manifest.map((m) => ({ config: m.Config, layers: m.Layers ?? [], tags: m.RepoTags ?? [] }));
  }
  const index = await a.json<{ manifests?: { mediaType?: string; digest: string; annotations?: Record<string, string> }[] }>('index.json');
  if (!index) throw new InvalidParameterError('invalid archive: it has neither manifest.json nor index.json (is it a `save` archive?)');
  const out: Candidate[] = [];
  const visit = async (desc: { mediaType?: string; digest: string; annotations?: Record<string, string> }, depth: number): Promise<void> => {
    const m = await a.json<{ mediaType?: string; manifests?: typeof desc[]; config?: { digest: string }; layers?: { digest: string }[] }>(blobPath(desc.digest));
    if (!m) throw new InvalidParameterError(`invalid archive: manifest ${desc.digest} is missing`);
    const type = m.mediaType ?? desc.mediaType ?? '';
    if (INDEX_TYPES.has(type) || m.manifests) {
      if (depth > 4) throw new InvalidParameterError('invalid archive: index nesting too deep');
      // An image index: the manifest for the platform asked for (this machine's
      // when none is), else — unless one was asked for — one that names none.
      const entries = (m.manifests ?? []) as Array<typeof desc & { platform?: Partial<Platform> }>;
      const pick = entries.find((x) => x.platform && platformMatches(want, x.platform)) ?? (explicit ? undefined : entries.find((x) => !x.platform));
      if (!pick) throw new NotFoundError(`no matching manifest for ${formatPlatform(want)} in the archive's image index`);
      await visit({ ...pick, annotations: { ...desc.annotations, ...pick.annotations } }, depth + 1);
      return;
    }
    if (!MANIFEST_TYPES.has(type) && !m.config) throw new InvalidParameterError(`invalid archive: unsupported manifest type ${type}`);
    const name = desc.annotations?.['io.containerd.image.name'];
    const refName = desc.annotations?.['org.opencontainers.image.ref.name'];
    const tag = name ?? (refName && /[/:]/.test(refName) ? refName : undefined);
    out.push({
      config: blobPath(m.config!.digest), layers: (m.layers ?? []).map((l) => blobPath(l.digest)),
      tags: tag ? [tag] : [], manifest: blobPath(desc.digest),
    });
  };
  for (const d of index.manifests ?? []) await visit(d, 0);
  return out;
}

export interface LoadReport { loaded: string[] }

/**
 * Load every image of an archive. Layers are checked against the config's
 * diff ids; a failure removes what this load added and no image is left half made.
 */
export async function loadImages(store: ImageStore, input: Readable, say: (line: string) => void, opts: { platform?: string } = {}): Promise<void> {
  const want = parsePlatform(opts.platform);
  const dir = join(store.content.ingestDir, `load-${randomBytes(8).toString('hex')}`);
  const newLayers: string[] = [];
  const newBlobs: string[] = [];
  const adopt = memberAdopter(store);
  try {
    const archive = await ExtractedArchive.from(input, dir);
    const list = await candidates(archive, want, opts.platform !== undefined);
    if (list.length === 0) throw new InvalidParameterError('invalid archive: no images in it');
    // Read and check every config first: a bad archive fails before any layer is unpacked.
    const images = [];
    for (const c of list) {
      const configPath = archive.resolve(c.config);
      if (!configPath) throw new InvalidParameterError(`invalid archive: config ${c.config} is missing`);
      if ((await fs.stat(configPath)).size > MAX_JSON) throw new InvalidParameterError(`invalid archive: ${c.config} is too large`);
      const rawConfig = await fs.readFile(configPath);
      if (/^blobs\/sha256\/[a-f0-9]{64}$/.test(c.config) && createHash('sha256').update(rawConfig).digest('hex') !== posix.basename(c.config)) {
        throw new InvalidParameterError(`invalid archive: digest mismatch for ${c.config}`);
      }
      let config: OciImageConfig | undefined;
      try {
        config = JSON.parse(rawConfig.toString('utf8')) as OciImageConfig;
      } catch {
        config = undefined;
      }
      const diffIds = config?.rootfs?.diff_ids;
      if (!config || !Array.isArray(diffIds)) throw new InvalidParameterError(`invalid archive: ${c.config} is not an image config`);
      if (diffIds.length !== c.layers.length) throw new InvalidParameterError(`invalid archive: ${c.config} lists ${diffIds.length} layers, the manifest ${c.layers.length}`);
      // `load --platform`: the images of other platforms stay out.
      if (opts.platform !== undefined && !platformMatches(want, config)) continue;
      const files = c.layers.map((l) => {
        const file = archive.resolve(l);
        if (!file) throw new InvalidParameterError(`invalid archive: layer ${l} is missing`);
        return file;
      });
      images.push({ c, config, rawConfig, diffIds, chains: chainIds(diffIds), files });
    }
    if (images.length === 0) {
      throw new NotFoundError(`no image in the archive matches the specified platform: wanted ${formatPlatform(want)}`);
    }
    // Every missing layer at once (a layer's directory does not need its parent's), each only once.
    const jobs = new Map<string, () => Promise<unknown>>();
    for (const img of images) {
      for (let i = 0; i < img.files.length; i++) {
        const chain = img.chains[i]!;
        if (jobs.has(chain) || (await store.layers.has(chain))) continue;
        jobs.set(chain, async () => {
          await unpackMember(store, archive, img.files[i]!, { parent: img.chains[i - 1], expectedDiffId: img.diffIds[i]! });
          newLayers.push(chain);
        });
      }
    }
    const results = await Promise.allSettled([...jobs.values()].map((job) => job()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const { c, config, rawConfig, files } of images) {
      const blobs: Descriptor[] = [];
      for (let i = 0; i < files.length; i++) {
        const hashed = await archive.digestOf(c.layers[i]!);
        const expected = /^blobs\/sha256\/[a-f0-9]{64}$/.test(c.layers[i]!) ? `sha256:${posix.basename(c.layers[i]!)}` : undefined;
        if (!hashed) throw new InvalidParameterError(`invalid archive: layer ${c.layers[i]} is missing`);
        if (expected && hashed.digest !== expected) throw new InvalidParameterError(`invalid archive: digest mismatch for ${c.layers[i]}`);
        await adopt(files[i]!, hashed);
        newBlobs.push(hashed.digest);
        const comp = detectCompression(await fileHead(store.content.path(hashed.digest)));
        blobs.push({ mediaType: comp === 'gzip' ? MEDIA_TYPES.ociLayerGzip : comp === 'zstd' ? MEDIA_TYPES.ociLayerZstd : MEDIA_TYPES.ociLayer, digest: hashed.digest, size: hashed.size });
      }
      let manifestDigest: string | undefined;
      if (c.manifest) {
        const mfile = archive.resolve(c.manifest);
        const hashed = await archive.digestOf(c.manifest);
        if (!mfile || !hashed) throw new InvalidParameterError(`invalid archive: manifest ${c.manifest} is missing`);
        if (hashed.digest !== `sha256:${posix.basename(c.manifest)}`) throw new InvalidParameterError(`invalid archive: digest mismatch for ${c.manifest}`);
        await adopt(mfile, hashed);
        newBlobs.push(hashed.digest);
        manifestDigest = hashed.digest;
      }
      const moved: string[] = [];
      const tags: string[] = [];
      for (const t of c.tags) {
        const fam = familiarString(withDefaultTag(parseReference(t)));
        tags.push(fam);
        const owner = store.tagOwner(fam);
        if (owner) moved.push(owner);
      }
      const rec = await store.register({ config, rawConfig, layerBlobs: blobs, manifestDigest, tag: tags[0], event: 'load' });
      for (const t of tags.slice(1)) await store.tag(rec.id, t);
      tags.forEach((t, i) => {
        const owner = moved[i];
        if (owner && owner !== rec.id) say(`The image ${t} already exists, renaming the old one with ID ${owner} to empty string`);
      });
      if (tags.length === 0) say(`Loaded image ID: ${rec.id}`);
      for (const t of tags) say(`Loaded image: ${t}`);
    }
  } catch (err) {
    await store.collectGarbage({ layers: newLayers, blobs: newBlobs });
    throw err;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * One layer of the archive, by its member's file. Every kind ends the same
 * way: a plain tar on disk whose headers are checked in the file before GNU
 * tar reads it (LayerStore.unpackFile). docker save's uncompressed layers
 * are that already (the member's digest is the diff id); a gzip one is
 * inflated next to it on a hash worker (begun when the member was written),
 * both sides hashed on the way; a zstd one by the zstd tool.
 */
async function unpackMember(store: ImageStore, archive: ExtractedArchive, file: string, opts: { parent?: string; expectedDiffId: string }): Promise<void> {
  const unpack = (plain: string, diffId: Promise<string>): Promise<unknown> => store.layers.unpackFile(plain, { ...opts, diffId });
  const compression = detectCompression(await fileHead(file));
  if (compression === 'none') {
    await unpack(file, archive.digestOfFile(file).then((m) => m.digest));
    return;
  }
  let plain: string;
  let diffId: Promise<string>;
  if (compression === 'gzip') {
    try {
      const inflated = await archive.inflated(file);
      plain = inflated.plainPath;
      diffId = Promise.resolve(inflated.plain.digest);
    } catch (err) {
      throw new InvalidParameterError(`failed to register layer: invalid gzip data: ${(err as Error).message}`);
    }
  } else {
    // Node 20's zlib has no zstd. The member's own digest is taken meanwhile (the stored blob's).
    void archive.digestOfFile(file);
    plain = `${file}.${randomBytes(4).toString('hex')}.plain`;
    try {
      await decompressFile(file, plain, compression);
    } catch (err) {
      await fs.rm(plain, { force: true });
      throw err;
    }
    diffId = sha256File(plain).then((d) => d.digest);
  }
  try {
    await unpack(plain, diffId);
  } finally {
    await fs.rm(plain, { force: true });
  }
}

/** The first bytes of a file: enough to tell its compression. */
async function fileHead(path: string): Promise<Buffer> {
  const head = Buffer.alloc(6);
  const fh = await fs.open(path, 'r');
  const { bytesRead } = await fh.read(head, 0, head.length, 0).finally(() => fh.close());
  return head.subarray(0, bytesRead);
}

/**
 * Move extracted members into the content store (a rename, no copy, no second
 * hash: the digest was computed while the member was written). The same
 * member may be asked for twice (images sharing layers).
 */
function memberAdopter(store: ImageStore): (file: string, hashed: { digest: string; size: number }) => Promise<void> {
  const adopted = new Set<string>();
  return async (file, hashed) => {
    if (adopted.has(file) || (await store.content.has(hashed.digest))) return;
    await store.content.commit(file, hashed.digest);
    adopted.add(file);
  };
}
