// The build context on the daemon's side: the client's tar (already filtered
// by .dockerignore) unpacked into a private directory with the same checks as
// a layer, and the content hashes that make COPY and ADD cache keys.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { once } from 'node:events';
import { join, posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { extractSmallTar } from './small-tar.js';
import { layerScanner } from '../image/layer-extract.js';
import { decompressedArchive, peek } from '../image/compression.js';
import { InvalidParameterError } from '../lib/errors.js';
import type { DockerIgnore } from './dockerignore.js';
import { hashMembers, listTree, SMALL_CONTEXT_BYTES } from './tree-tar.js';
import { mountTmpfs, unmount } from '../container/rootfs.js';

/** The context did not fit the memory it was given; the spool has all of it. */
class ContextOverflow extends Error {}

/**
 * Unpack a (plain, gzip, zstd, bzip2 or xz) context tar into `dir`, refusing
 * hostile entries. With `spool`, the uncompressed tar is also written there,
 * so that a context too big for a memory-backed `dir` can be unpacked again.
 */
export async function extractContext(input: Readable, dir: string, spool?: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const stream = await decompressedArchive(input);
  const scan = layerScanner();
  const tar = spawn('tar', ['-x', '-p', '--numeric-owner', '-f', '-', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
  const copy = spool ? createWriteStream(spool, { mode: 0o600 }) : undefined;
  let err = '';
  tar.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  tar.stdin.on('error', () => undefined);
  const done = once(tar, 'close') as Promise<[number | null]>;
  let tarGone = false;
  void done.then(() => { tarGone = true; }, () => { tarGone = true; });
  const feed = async (w: Writable, chunk: Buffer): Promise<void> => {
    if (!w.write(chunk)) await once(w, 'drain');
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      await feed(scan.sink, chunk);
      if (copy) await feed(copy, chunk);
      // A tar that died (a full tmpfs) reads no more; the spool still takes everything.
      if (!tarGone && !tar.stdin.write(chunk)) await Promise.race([once(tar.stdin as Writable, 'drain'), done]);
    }
    scan.sink.end();
    await scan.result;
  } catch (e) {
    tar.kill('SIGKILL');
    copy?.destroy();
    throw e instanceof InvalidParameterError ? e : new InvalidParameterError(`failed to read the build context: ${(e as Error).message}`);
  } finally {
    tar.stdin.end();
  }
  if (copy) await new Promise<void>((resolve, reject) => copy.end((e?: Error | null) => (e ? reject(e) : resolve())));
  const [code] = await done;
  // On tmpfs, a tar that failed on an archive the scanner found sound ran out of room (GNU tar does not always say ENOSPC).
  if (code !== 0 && spool) throw new ContextOverflow(err);
  if (code !== 0) throw new InvalidParameterError(`failed to read the build context: ${err.trim()}`);
}

/**
 * Receive the context into `dir`. A small context (the common case: a few
 * sources and a Dockerfile) is unpacked from memory by this process: no
 * mount, no tar, no child process at all (each costs ~5 ms from berthd, and
 * a rebuild with nothing changed is little more than this). A bigger one
 * lives only as long as its build, so when it fits in `memoryBytes` it goes
 * to a private tmpfs: no file of it costs a disk write (on a disk that is
 * slow to create files, unpacking 20,000 small files takes seconds). One too
 * big for that is unpacked again on disk from the spooled tar. The caller
 * removes `dir` (see releaseContext).
 */
export async function receiveContext(input: Readable, dir: string, memoryBytes: number): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  // One byte past the limit tells a small context (all of it in `head`) from a bigger one.
  const { head, stream: whole } = await peek(await decompressedArchive(input), SMALL_CONTEXT_BYTES + 1);
  if (head.length <= SMALL_CONTEXT_BYTES && await extractSmallTar(head, dir)) return;
  const inMemory = memoryBytes > 0 && await mountTmpfs(dir, `size=${memoryBytes},mode=0755`).then(() => true, () => false);
  if (!inMemory) return extractContext(whole, dir);
  const spool = `${dir}.tar`;
  try {
    await extractContext(whole, dir, spool);
  } catch (err) {
    if (!(err instanceof ContextOverflow)) throw err;
    await unmount(dir);
    await extractContext(createReadStream(spool), dir);
  } finally {
    await fs.rm(spool, { force: true });
  }
}

/** Unmount a context's tmpfs (if it has one) and remove it. */
export async function releaseContext(dir: string): Promise<void> {
  await unmount(dir);
  await fs.rm(dir, { recursive: true, force: true });
}

/**
 * A digest of what COPY would take from `paths` (inside `root`): names, types,
 * modes, sizes, link targets and file contents, in a stable order. Mtimes
 * and ownership in the context are left out: they change on every checkout
 * and COPY resets ownership anyway. With --exclude, a directory source's
 * contents are matched relative to it, a file by its name.
 */
export async function hashSources(root: string, paths: string[], exclude?: DockerIgnore): Promise<string> {
  const members: string[] = [];
  for (const p of [...paths].sort()) {
    const st = await fs.lstat(join(root, p));
    if (!st.isDirectory()) {
      if (!exclude?.excludes(posix.basename(p))) members.push(p);
      continue;
    }
    members.push(p);
    for (const e of await listTree(join(root, p), exclude)) members.push(posix.join(p, e.rel));
  }
  return hashMembers(root, members);
}
