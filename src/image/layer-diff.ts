// The reverse of unpacking: an overlay upper directory (what a container or a
// build step changed) as an OCI layer tar. Overlay whiteouts (0/0 character
// devices) become `.wh.name` entries and opaque directories get a
// `.wh..wh..opq` entry, so the layer means the same on any other engine.
import { promises as fs, readdirSync, type Dirent } from 'node:fs';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join, posix } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import type { ContentStore } from './content-store.js';
import { gzipStream, MEDIA_TYPES } from './compression.js';
import { OPAQUE_XATTR, opaqueEntryFor, whiteoutEntryFor } from './whiteouts.js';
import { TarContentCounter } from './tar-headers.js';
import { tarCreate } from '../lib/gnu-tar.js';
import { packSmallUpper } from './small-upper.js';

const execFileP = promisify(execFile);

type TarHeader = Parameters<ReturnType<typeof tarStream.pack>['entry']>[0];

export interface PackOptions {
  /** absolute in-container paths (`/etc/hosts`) to leave out, with everything under them */
  exclude?: Set<string>;
  /** SOURCE_DATE_EPOCH: no mtime later than this (seconds) */
  clampMtime?: number;
}

export interface Descriptor { mediaType: string; digest: string; size: number }

/** The file capability xattr: the one extended attribute Docker's layers carry (`setcap` in a RUN must survive). */
export const CAPABILITY_XATTR = 'security.capability';

/**
 * The extended attributes a layer tar must carry, found with one getfattr
 * walk: directories with the overlay opaque xattr (relative paths), and
 * whether any file has a capability set.
 */
export async function layerXattrs(root: string): Promise<{ opaque: Set<string>; capabilities: boolean }> {
  const opaque = new Set<string>();
  let capabilities = false;
  const pattern = `^(${[OPAQUE_XATTR, CAPABILITY_XATTR].map((x) => x.replace(/\./g, '\\.')).join('|')})$`;
  let text: string;
  try {
    ({ stdout: text } = await execFileP('getfattr', ['-R', '-h', '--absolute-names', '-d', '-m', pattern, root], { maxBuffer: 256 * 1024 * 1024 }));
  } catch (err) {
    // getfattr exits 1 when some file vanished while walking; what it printed is still right.
    text = (err as { stdout?: string }).stdout ?? '';
  }
  let current: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) current = unescapeGetfattr(line.slice(8));
    else if (current !== undefined && line.startsWith(`${OPAQUE_XATTR}=`) && /="?y"?$/.test(line)) opaque.add(posix.relative(root, current));
    else if (line.startsWith(`${CAPABILITY_XATTR}=`)) capabilities = true;
  }
  return { opaque, capabilities };
}

/** Directories under `root` that carry the overlay opaque xattr (relative paths). */
export async function opaqueDirs(root: string): Promise<Set<string>> {
  return (await layerXattrs(root)).opaque;
}

function unescapeGetfattr(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length + 0 && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString())) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString(), 8));
      i += 3;
    } else bytes.push(raw[i]!);
  }
  return Buffer.from(bytes).toString('utf8');
}

const isWhiteoutDevice = (h: TarHeader): boolean => h.type === 'character-device' && !h.devmajor && !h.devminor;

/**
 * Any character device under `root`: overlay whiteouts are 0/0 character
 * devices. A small tree (most build steps) is walked here, synchronously —
 * cheaper than spawning anything; a big one by `find`, natively.
 */
async function hasCharDevices(root: string): Promise<boolean> {
  const found = charDeviceInSmallTree(root, 2000);
  if (found !== undefined) return found;
  const { stdout } = await execFileP('find', [root, '-type', 'c', '-print', '-quit'], { maxBuffer: 1 << 20 });
  return stdout.length > 0;
}

/** The answer for a tree of at most `limit` entries, else undefined. */
export function charDeviceInSmallTree(root: string, limit: number): boolean | undefined {
  const dirs = [root];
  let seen = 0;
  while (dirs.length) {
    const dir = dirs.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return undefined;
    }
    seen += entries.length;
    if (seen > limit) return undefined;
    for (const e of entries) {
      if (e.isCharacterDevice()) return true;
      if (e.isDirectory()) dirs.push(join(dir, e.name));
    }
  }
  return false;
}

/**
 * The upper directory as a layer tar stream, entries in sorted (stable)
 * order. A small upper (most build steps) is packed in-process, see
 * small-upper.ts. Otherwise GNU tar does the walking and reading: per file
 * it is tens of times cheaper than doing the same from JavaScript, which
 * matters for a COPY of a big tree or an `npm install`. Overlay whiteouts and opaque directories are
 * then rewritten as OCI entries in place, by a pass over the headers that
 * only runs when the upper has any.
 */
export function packUpper(upper: string, opts: PackOptions = {}): Readable {
  const out = new PassThrough();
  void (async () => {
    await pipeline((await packSmallUpper(upper, opts)) ?? packWithGnuTar(upper, opts), out);
  })().catch((err: Error) => out.destroy(err));
  return out;
}

/** packUpper by GNU tar, whatever the upper's size (exported for the tests that compare the two packers). */
export function packWithGnuTar(upper: string, opts: PackOptions = {}): Readable {
  const out = new PassThrough();
  void (async () => {
    const scans = Promise.all([layerXattrs(upper), hasCharDevices(upper)]);
    scans.catch(() => undefined);
    const names = (await fs.readdir(upper)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const options = ['--sort=name', '--warning=no-file-changed', '--warning=no-file-removed', '--warning=no-file-ignored'];
    if (opts.clampMtime !== undefined) options.push(`--mtime=@${opts.clampMtime}`, '--clamp-mtime');
    // Exclusions match whole member names from the start, literally.
    options.push('--anchored', '--no-wildcards');
    for (const e of opts.exclude ?? []) options.push(`--exclude=${e.replace(/^\/+/, '')}`);
    // tar starts while getfattr looks for capabilities (almost no layer has any), and a
    // layer that has some is packed again. Its output is taken at once: Node discards what
    // a child that has exited left unread (and a small layer's tar is done before getfattr).
    const pack = (extra: string[]): { held: PassThrough; discard(): void; done: Promise<void> } => {
      const t = tarCreate(upper, names, [...options, ...extra]);
      const held = t.stream.pipe(new PassThrough({ highWaterMark: 1 << 20 }));
      return { held, done: t.done, discard: () => { t.stream.destroy(); held.destroy(); t.done.catch(() => undefined); } };
    };
    let tar = pack([]);
    const [{ opaque, capabilities }, devices] = await scans.catch((err: unknown) => {
      tar.discard();
      throw err;
    });
    if (capabilities) {
      tar.discard();
      // xattrs need a POSIX (pax) archive. GNU tar's pax headers would add
      // times and its pid to every entry; without those, only files with a
      // capability get an extended header, and the tar stays reproducible.
      tar = pack(['--format=posix', '--xattrs', `--xattrs-include=${CAPABILITY_XATTR}`,
        '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime,delete=mtime']);
    }
    const exited = tar.done.catch((err: Error) => { throw new Error(`tar failed to pack the layer: ${err.message}`); });
    const stream = opaque.size || devices ? rewriteWhiteouts(tar.held, opaque) : tar.held;
    await Promise.all([pipeline(stream, out), exited]);
  })().catch((err: Error) => out.destroy(err));
  return out;
}

/** Overlay whiteouts (0/0 character devices, opaque directories) as the OCI `.wh.` entries that mean the same. */
function rewriteWhiteouts(input: Readable, opaque: Set<string>): Readable {
  const extract = tarStream.extract();
  const pack = tarStream.pack();
  const add = (header: TarHeader, body?: Readable): Promise<void> => new Promise((resolve, reject) => {
    if (!body || !header.size) {
      body?.resume();
      pack.entry(header, '', (err) => (err ? reject(err) : resolve()));
      return;
    }
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    body.on('error', (err: Error) => { sink.destroy(err); reject(err); });
    body.pipe(sink);
  });
  extract.on('entry', (header, body, next) => {
    void (async () => {
      const name = header.name.replace(/\/+$/, '');
      if (isWhiteoutDevice(header)) {
        await add({ ...header, name: whiteoutEntryFor(name), type: 'file', mode: 0o600, size: 0, devmajor: 0, devminor: 0 }, body as unknown as Readable);
      } else {
        await add(header, body as unknown as Readable);
        if (header.type === 'directory' && opaque.has(name)) await add({ ...header, name: opaqueEntryFor(name), type: 'file', mode: 0o600, size: 0 });
      }
    })().then(() => next(), (err: Error) => next(err));
  });
  extract.on('finish', () => pack.finalize());
  extract.on('error', (err) => pack.destroy(err));
  input.on('error', (err) => extract.destroy(err));
  if (opaque.has('')) pack.entry({ name: opaqueEntryFor(''), type: 'file', mode: 0o600, size: 0 }, '');
  input.pipe(extract as unknown as NodeJS.WritableStream);
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

/**
 * Store the upper directory as a gzip layer blob. Returns its descriptor and
 * its diff id (the digest of the uncompressed tar), both computed in the one pass.
 */
export async function writeLayer(content: ContentStore, upper: string, opts: PackOptions = {}): Promise<{ descriptor: Descriptor; diffId: string; uncompressedSize: number; contentBytes: number }> {
  const hash = createHash('sha256');
  const counter = new TarContentCounter();
  let uncompressedSize = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      counter.feed(chunk);
      uncompressedSize += chunk.length;
      cb(null, chunk);
    },
  });
  const gz = gzipStream();
  const done = pipeline(packUpper(upper, opts), tap, gz);
  const [blob] = await Promise.all([content.ingest(gz), done]);
  return {
    descriptor: { mediaType: MEDIA_TYPES.ociLayerGzip, digest: blob.digest, size: blob.size },
    diffId: `sha256:${hash.digest('hex')}`,
    uncompressedSize,
    contentBytes: counter.contentBytes,
  };
}
