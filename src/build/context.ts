// The build context on the daemon's side: the client's tar (already filtered
// by .dockerignore) unpacked into a private directory with the same checks as
// a layer, and the content hashes that make COPY and ADD cache keys.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { once } from 'node:events';
import { join, posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { layerScanner } from '../image/layer-store.js';
import { decompressedArchive } from '../image/compression.js';
import { InvalidParameterError } from '../lib/errors.js';
import type { DockerIgnore } from './dockerignore.js';

/** Unpack a (plain, gzip, zstd, bzip2 or xz) context tar into `dir`, refusing hostile entries. */
export async function extractContext(input: Readable, dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const stream = await decompressedArchive(input);
  const scan = layerScanner();
  const tar = spawn('tar', ['-x', '-p', '--numeric-owner', '-f', '-', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  tar.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  tar.stdin.on('error', () => undefined);
  const done = once(tar, 'close') as Promise<[number | null]>;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (!scan.sink.write(chunk)) await once(scan.sink, 'drain');
      if (!tar.stdin.write(chunk)) await once(tar.stdin as Writable, 'drain');
    }
    scan.sink.end();
    await scan.result;
  } catch (e) {
    tar.kill('SIGKILL');
    throw e instanceof InvalidParameterError ? e : new InvalidParameterError(`failed to read the build context: ${(e as Error).message}`);
  } finally {
    tar.stdin.end();
  }
  const [code] = await done;
  if (code !== 0) throw new InvalidParameterError(`failed to read the build context: ${err.trim()}`);
}

/**
 * A digest of what COPY would take from `paths` (inside `root`): names, types,
 * modes, sizes, link targets and file contents, in a stable order. Mtimes
 * and ownership in the context are left out: they change on every checkout
 * and COPY resets ownership anyway.
 */
export async function hashSources(root: string, paths: string[], exclude?: DockerIgnore): Promise<string> {
  const h = createHash('sha256');
  // `inside`: the path relative to the copied source, which --exclude patterns match.
  const visit = async (rel: string, inside: string): Promise<void> => {
    const full = join(root, rel);
    const st = await fs.lstat(full);
    const excluded = exclude?.excludes(inside) ?? false;
    if (excluded && !(st.isDirectory() && exclude!.hasExceptions)) return;
    h.update(`${rel}\0${st.mode.toString(8)}\0`);
    if (st.isSymbolicLink()) {
      h.update(`l${await fs.readlink(full)}\0`);
    } else if (st.isDirectory()) {
      h.update('d\0');
      for (const name of (await fs.readdir(full)).sort()) await visit(posix.join(rel, name), inside === '' ? name : `${inside}/${name}`);
    } else if (st.isFile()) {
      h.update(`f${st.size}\0`);
      for await (const chunk of createReadStream(full) as AsyncIterable<Buffer>) h.update(chunk);
    }
  };
  for (const p of [...paths].sort()) {
    if (!exclude) {
      await visit(p, p);
      continue;
    }
    // With --exclude, a directory source's contents are matched relative to it; a file by its name.
    const st = await fs.lstat(join(root, p));
    if (st.isDirectory()) {
      h.update(`${p}\0${st.mode.toString(8)}\0d\0`);
      for (const name of (await fs.readdir(join(root, p))).sort()) await visit(posix.join(p, name), name);
    } else {
      await visit(p, posix.basename(p));
    }
  }
  return `sha256:${h.digest('hex')}`;
}
