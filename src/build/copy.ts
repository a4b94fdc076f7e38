// COPY and ADD into a stage's root filesystem, with Docker's rules: sources
// relative to the context (or another stage), wildcards, a directory's
// contents rather than the directory, the trailing-slash rule for the
// destination, new files owned by root unless --chown, modes kept unless
// --chmod. Destinations are resolved inside the rootfs: a symlink in the image
// never sends a write outside it.
import { createReadStream, promises as fs } from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { secureJoin } from '../lib/secure-join.js';
import { InvalidParameterError } from '../lib/errors.js';
import { extractInto, type ContainerRoot } from '../container/archive.js';
import type { DockerIgnore } from './dockerignore.js';
import { listTree, tarMembers, untarInto } from './tree-tar.js';

export class CopyError extends InvalidParameterError {}

const hasWildcard = (s: string): boolean => /[*?[]/.test(s);

function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** Expand sources (relative to `root`, which is a directory on the host) to paths relative to it. */
export async function resolveSources(root: string, sources: string[], what: string): Promise<string[]> {
  const out: string[] = [];
  for (const src of sources) {
    const clean = posix.normalize('/' + src).slice(1) || '.';
    if (!hasWildcard(clean)) {
      const host = await secureJoin(root, clean);
      try {
        await fs.lstat(host);
      } catch {
        throw new CopyError(`${what} failed: file not found in build context or excluded by .dockerignore: stat ${src}: file does not exist`);
      }
      out.push(posix.relative(root, host) || '.');
      continue;
    }
    // Wildcards match one level per segment, as Go's filepath.Match.
    let matches = ['.'];
    for (const seg of clean.split('/')) {
      const next: string[] = [];
      for (const base of matches) {
        const dir = await secureJoin(root, base);
        if (!hasWildcard(seg)) {
          try {
            await fs.lstat(posix.join(dir, seg));
            next.push(posix.join(base, seg));
          } catch { /* no match here */ }
          continue;
        }
        const re = globToRegExp(seg);
        const names = await fs.readdir(dir).catch(() => [] as string[]);
        for (const n of names.sort()) if (re.test(n)) next.push(posix.join(base, n));
      }
      matches = next;
    }
    if (matches.length === 0) throw new CopyError(`${what} failed: no source files were specified`);
    out.push(...matches);
  }
  return out;
}

export interface CopyOptions {
  uid: number;
  gid: number;
  /** --chmod, applied to every copied file and directory */
  mode?: number;
  /** --exclude: paths inside a copied directory (relative to it) that stay behind */
  exclude?: DockerIgnore;
}

/**
 * Copy `sources` (relative to `srcRoot`) to `dest` inside `rootfs`. `dest` is
 * absolute (already joined with WORKDIR). The files travel as a tar stream
 * into the same extractor `cp` uses, which resolves every path inside the
 * rootfs: a symlink in the image (`/data -> /`) is followed as the container
 * would see it, never onto the host. Ownership and modes are set in the
 * stream's headers.
 */
export async function copyInto(rootfs: string, srcRoot: string, sources: string[], dest: string, multipleGiven: boolean, opts: CopyOptions, what = 'COPY'): Promise<void> {
  const destIsDir = dest.endsWith('/') || dest.endsWith('/.');
  if ((sources.length > 1 || multipleGiven) && !destIsDir) {
    throw new CopyError(`When using ${what} with more than one source file, the destination must be a directory and end with a /`);
  }
  const root: ContainerRoot = { root: rootfs, mounts: [], readonlyRootfs: false, running: false };
  for (const src of sources) {
    const host = await secureJoin(srcRoot, src);
    const st = await fs.lstat(host);
    let targetDir: string;
    let entries: { from: string; name: string; rel: string }[];
    if (st.isDirectory()) {
      targetDir = dest;
      await mkdirOwned(rootfs, targetDir, opts);
      if (await copyTreeNatively(rootfs, host, targetDir, opts)) continue;
      entries = (await fs.readdir(host)).sort().map((n) => ({ from: posix.join(host, n), name: n, rel: n }));
    } else {
      const existing = await fs.stat(await secureJoin(rootfs, dest)).catch(() => undefined);
      if (destIsDir || existing?.isDirectory()) {
        targetDir = dest;
        entries = [{ from: host, name: posix.basename(src), rel: posix.basename(src) }];
      } else {
        targetDir = posix.dirname(dest);
        entries = [{ from: host, name: posix.basename(dest), rel: posix.basename(src) }];
      }
      await mkdirOwned(rootfs, targetDir, opts);
    }
    try {
      await extractInto(root, targetDir, packEntries(entries, opts), { copyUidGid: true, noOverwriteDirNonDir: false }, 'build');
    } catch (err) {
      throw new CopyError(`failed to copy files: ${(err as Error).message}`);
    }
  }
}

/** Up to this many entries, a directory is copied by the careful path below rather than by GNU tar. */
export const SMALL_TREE_ENTRIES = 32;

/**
 * A directory's contents copied by GNU tar (tar | tar), when that is exactly
 * what the careful path would do: nothing the copy writes meets a symlink or
 * a file of another kind already in the image, which tar would follow or
 * replace where Docker resolves inside the rootfs. Returns false (nothing
 * written) otherwise. The common case (`COPY . /app/` into a fresh or
 * compatible directory) checks one path per existing directory.
 */
async function copyTreeNatively(rootfs: string, srcDir: string, targetDir: string, opts: CopyOptions): Promise<boolean> {
  if (opts.exclude?.hasExceptions) return false;
  const tree = (await listTree(srcDir, opts.exclude)).filter((e) => e.kind !== 'other');
  // A few files are cheaper to copy here than two processes are to start
  // (a fork of berthd stops its event loop ~7 ms per process on these VMs).
  if (tree.length <= SMALL_TREE_ENTRIES) return false;
  const targetHost = await secureJoin(rootfs, targetDir);
  // Directories the image does not have: nothing under them can be in the way.
  const absent = new Set<string>();
  for (const e of tree) {
    const parent = posix.dirname(e.rel);
    if (parent !== '.' && absent.has(parent)) {
      if (e.kind === 'dir') absent.add(e.rel);
      continue;
    }
    const there = await fs.lstat(posix.join(targetHost, e.rel)).catch(() => undefined);
    if (!there) {
      if (e.kind === 'dir') absent.add(e.rel);
    } else if (e.kind === 'dir' ? !there.isDirectory() : there.isDirectory() || there.isSymbolicLink()) {
      return false;
    }
  }
  const { stream, done } = tarMembers(srcDir, tree.map((e) => e.rel), { owner: { uid: opts.uid, gid: opts.gid }, ...(opts.mode !== undefined ? { mode: opts.mode } : {}) });
  try {
    await Promise.all([untarInto(stream, targetHost), done]);
  } catch (err) {
    throw new CopyError(`failed to copy files: ${(err as Error).message}`);
  }
  return true;
}

/** The entries (and everything under directories) as a tar stream, owned and moded as the copy wants. */
function packEntries(entries: { from: string; name: string; rel: string }[], opts: CopyOptions): Readable {
  const pack = tarStream.pack();
  const links = new Map<string, string>();
  const add = (header: Parameters<typeof pack.entry>[0], body?: Readable): Promise<void> => new Promise((resolve, reject) => {
    if (!body) {
      pack.entry(header, (e) => (e ? reject(e) : resolve()));
      return;
    }
    const sink = pack.entry(header, (e) => (e ? reject(e) : resolve()));
    body.on('error', reject);
    body.pipe(sink as unknown as NodeJS.WritableStream);
  });
  const walk = async (from: string, name: string, rel: string): Promise<void> => {
    const st = await fs.lstat(from);
    const excluded = opts.exclude?.excludes(rel) ?? false;
    if (excluded && !(st.isDirectory() && opts.exclude!.hasExceptions)) return;
    const base = { name, uid: opts.uid, gid: opts.gid, mtime: st.mtime, mode: opts.mode ?? (st.mode & 0o7777) };
    if (st.isDirectory()) {
      if (!excluded) await add({ ...base, type: 'directory' });
      for (const n of (await fs.readdir(from)).sort()) await walk(posix.join(from, n), `${name}/${n}`, `${rel}/${n}`);
    } else if (st.isSymbolicLink()) {
      await add({ ...base, type: 'symlink', linkname: await fs.readlink(from), mode: 0o777 });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? links.get(key) : undefined;
      if (first !== undefined) {
        await add({ ...base, type: 'link', linkname: first });
      } else {
        if (st.nlink > 1) links.set(key, name);
        await add({ ...base, type: 'file', size: st.size }, createReadStream(from));
      }
    }
    // Devices, fifos and sockets in a build context are skipped, as Docker does.
  };
  void (async () => {
    for (const e of entries) await walk(e.from, e.name, e.rel);
    pack.finalize();
  })().catch((e: Error) => pack.destroy(e));
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

/** mkdir -p inside the rootfs; the directories it creates belong to the copy's owner. */
async function mkdirOwned(rootfs: string, dir: string, opts: CopyOptions): Promise<void> {
  const parts = posix.normalize('/' + dir).split('/').filter(Boolean);
  let cur = '/';
  for (const p of parts) {
    cur = posix.join(cur, p);
    const host = await secureJoin(rootfs, cur);
    const st = await fs.stat(host).catch(() => undefined);
    if (st?.isDirectory()) continue;
    if (st) throw new CopyError(`cannot copy to non-directory: ${cur}`);
    await fs.mkdir(host, { mode: 0o755 });
    await fs.chown(host, opts.uid, opts.gid);
  }
}
