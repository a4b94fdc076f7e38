// The reverse of unpacking: an overlay upper directory (what a container or a
// build step changed) as an OCI layer tar. Overlay whiteouts (0/0 character
// devices) become `.wh.name` entries and opaque directories get a
// `.wh..wh..opq` entry, so the layer means the same on any other engine.
import { createReadStream, promises as fs, type Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import type { ContentStore } from './content-store.js';
import { gzipStream, MEDIA_TYPES } from './compression.js';
import { OPAQUE_XATTR, opaqueEntryFor, whiteoutEntryFor } from './whiteouts.js';

const execFileP = promisify(execFile);

type TarHeader = Parameters<ReturnType<typeof tarStream.pack>['entry']>[0];

export interface PackOptions {
  /** absolute in-container paths (`/etc/hosts`) to leave out, with everything under them */
  exclude?: Set<string>;
  /** SOURCE_DATE_EPOCH: no mtime later than this (seconds) */
  clampMtime?: number;
}

export interface Descriptor { mediaType: string; digest: string; size: number }

/** Directories under `root` that carry the overlay opaque xattr (relative paths). One getfattr for the whole tree. */
export async function opaqueDirs(root: string): Promise<Set<string>> {
  const out = new Set<string>();
  let text: string;
  try {
    ({ stdout: text } = await execFileP('getfattr', ['-R', '-h', '--absolute-names', '-d', '-m', `^${OPAQUE_XATTR.replace(/\./g, '\\.')}$`, root], { maxBuffer: 256 * 1024 * 1024 }));
  } catch (err) {
    // getfattr exits 1 when some file vanished while walking; what it printed is still right.
    text = (err as { stdout?: string }).stdout ?? '';
  }
  let current: string | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) current = unescapeGetfattr(line.slice(8));
    else if (current !== undefined && line.startsWith(`${OPAQUE_XATTR}=`) && /="?y"?$/.test(line)) {
      const rel = posix.relative(root, current);
      out.add(rel);
    }
  }
  return out;
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

const isWhiteoutDevice = (st: Stats): boolean => st.isCharacterDevice() && st.rdev === 0;
const major = (rdev: number): number => ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
const minor = (rdev: number): number => (rdev & 0xff) | ((rdev >> 12) & 0xfff00);

/** The upper directory as a layer tar stream, entries in sorted (stable) order. */
export function packUpper(upper: string, opts: PackOptions = {}): Readable {
  const pack = tarStream.pack();
  const exclude = opts.exclude ?? new Set<string>();
  const clamp = (d: Date): Date => (opts.clampMtime !== undefined && d.getTime() > opts.clampMtime * 1000 ? new Date(opts.clampMtime * 1000) : d);
  const links = new Map<string, string>();
  const entry = (header: TarHeader, body?: Readable | string): Promise<void> => new Promise((resolve, reject) => {
    if (body === undefined || typeof body === 'string') {
      pack.entry(header, body ?? '', (err) => (err ? reject(err) : resolve()));
      return;
    }
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    body.on('error', (err) => { sink.destroy(err); reject(err); });
    body.pipe(sink);
  });
  const walk = async (rel: string, opaque: Set<string>): Promise<void> => {
    const names = (await fs.readdir(join(upper, rel))).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      if (exclude.has(`/${path}`)) continue;
      const full = join(upper, path);
      const st = await fs.lstat(full).catch(() => undefined);
      if (!st) continue;
      const base = { name: path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: clamp(st.mtime) };
      if (isWhiteoutDevice(st)) {
        await entry({ ...base, name: whiteoutEntryFor(path), type: 'file', mode: 0o600, size: 0 });
      } else if (st.isDirectory()) {
        await entry({ ...base, type: 'directory' });
        if (opaque.has(path)) await entry({ ...base, name: opaqueEntryFor(path), type: 'file', mode: 0o600, size: 0 });
        await walk(path, opaque);
      } else if (st.isSymbolicLink()) {
        await entry({ ...base, type: 'symlink', linkname: await fs.readlink(full) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first !== undefined) {
          await entry({ ...base, type: 'link', linkname: first, size: 0 });
        } else {
          if (st.nlink > 1) links.set(key, path);
          await entry({ ...base, type: 'file', size: st.size }, createReadStream(full));
        }
      } else if (st.isFIFO()) {
        await entry({ ...base, type: 'fifo' });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        await entry({ ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major(st.rdev), devminor: minor(st.rdev) });
      }
      // Sockets have no tar form; Docker leaves them out too.
    }
  };
  void (async () => {
    const opaque = await opaqueDirs(upper);
    if (opaque.has('')) await entry({ name: opaqueEntryFor(''), type: 'file', mode: 0o600, size: 0 });
    await walk('', opaque);
    pack.finalize();
  })().catch((err: Error) => pack.destroy(err));
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

/**
 * Store the upper directory as a gzip layer blob. Returns its descriptor and
 * its diff id (the digest of the uncompressed tar), both computed in the one pass.
 */
export async function writeLayer(content: ContentStore, upper: string, opts: PackOptions = {}): Promise<{ descriptor: Descriptor; diffId: string; uncompressedSize: number }> {
  const hash = createHash('sha256');
  let uncompressedSize = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
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
  };
}
