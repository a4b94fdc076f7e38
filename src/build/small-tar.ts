// Small build contexts, unpacked by berthd itself. Most contexts are a
// Dockerfile and a few sources; for those, spawning GNU tar (and mounting a
// tmpfs for it) costs more than the unpacking, and a rebuild with nothing
// changed is little more than receiving the context. Anything unusual
// (devices, fifos, many entries) goes the GNU tar way (context.ts).
import { chmodSync, chownSync, linkSync, lchownSync, lstatSync, lutimesSync, mkdirSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import tarStream from 'tar-stream';
import { layerScanner } from '../image/layer-extract.js';
import { InvalidParameterError } from '../lib/errors.js';
import { SMALL_CONTEXT_ENTRIES } from './tree-tar.js';

interface Entry {
  header: tarStream.Header;
  data: Buffer;
}

function readEntries(buffer: Buffer): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    const extract = tarStream.extract();
    extract.on('entry', (header, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c: unknown) => { parts.push(c as Buffer); });
      stream.on('end', () => {
        entries.push({ header, data: Buffer.concat(parts) });
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', () => resolve(entries));
    extract.on('error', (err: Error) => reject(new InvalidParameterError(`failed to read the build context: invalid tar archive: ${err.message}`)));
    extract.end(buffer);
  });
}

const SUPPORTED = new Set(['file', 'contiguous-file', 'directory', 'symlink', 'link']);

/** `a/./b/` → `a/b`; the archive's root is ''. (The scanner has refused `..` and absolute names.) */
function entryPath(name: string): string {
  const n = posix.normalize(name).replace(/\/+$/, '');
  return n === '.' ? '' : n.replace(/^\.\//, '');
}

/**
 * Unpack a whole tar held in memory into `dir` as `tar -x -p
 * --numeric-owner` would: modes (setuid and sticky bits too), owners,
 * mtimes, symlinks and hard links; directories get their mtimes last.
 * The same checks as any archive first (no `..`, nothing through a symlink).
 * False, with nothing written, when the archive is not small or has entries
 * only GNU tar should make.
 */
export async function extractSmallTar(buffer: Buffer, dir: string): Promise<boolean> {
  if (buffer.length === 0) return false;
  const scan = layerScanner();
  scan.sink.end(buffer);
  try {
    await scan.result;
  } catch (err) {
    throw err instanceof InvalidParameterError ? err : new InvalidParameterError(`failed to read the build context: ${(err as Error).message}`);
  }
  const entries = await readEntries(buffer);
  if (entries.length > SMALL_CONTEXT_ENTRIES || entries.some((e) => !SUPPORTED.has(e.header.type ?? 'file'))) return false;
  const dirs: { path: string; mtime: Date }[] = [];
  try {
    for (const { header: h, data } of entries) {
      const rel = entryPath(h.name);
      const path = rel ? join(dir, rel) : dir;
      const uid = h.uid ?? 0;
      const gid = h.gid ?? 0;
      const mtime = h.mtime ?? new Date(0);
      mkdirSync(dirname(path), { recursive: true });
      // A name seen before is replaced, never written through (it may be a symlink now).
      const existing = rel ? lstatOrUndefined(path) : undefined;
      if (existing && !(existing.isDirectory() && h.type === 'directory')) rmSync(path, { recursive: true, force: true });
      if (h.type === 'directory') {
        mkdirSync(path, { recursive: true });
        chownSync(path, uid, gid);
        chmodSync(path, (h.mode ?? 0o755) & 0o7777);
        // Its mtime last: what is made inside changes it.
        dirs.push({ path, mtime });
      } else if (h.type === 'symlink') {
        symlinkSync(h.linkname ?? '', path);
        lchownSync(path, uid, gid);
        lutimesSync(path, mtime, mtime);
      } else if (h.type === 'link') {
        linkSync(join(dir, entryPath(h.linkname ?? '')), path);
      } else {
        writeFileSync(path, data, { flag: 'wx', mode: 0o600 });
        // Owner first: chown clears setuid and setgid.
        chownSync(path, uid, gid);
        chmodSync(path, (h.mode ?? 0o644) & 0o7777);
        utimesSync(path, mtime, mtime);
      }
    }
    // A later entry may have made a directory's parent a symlink: only what is still where it was.
    const real = realpathSync(dir);
    for (const { path, mtime } of dirs.reverse()) {
      let now: string | undefined;
      try {
        now = realpathSync(path);
      } catch { /* replaced by a later entry */ }
      if (now === join(real, relative(dir, path)) && lstatOrUndefined(path)?.isDirectory()) utimesSync(path, mtime, mtime);
    }
  } catch (err) {
    throw new InvalidParameterError(`failed to read the build context: ${(err as Error).message}`);
  }
  return true;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

