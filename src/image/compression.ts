// Layer compression: detect it from the first bytes (media types lie, and
// `docker save` archives carry no media type at all), decompress as a stream.
// gzip is Node's zlib; zstd is the `zstd` binary because Node 20 has no zstd.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { InvalidParameterError } from '../lib/errors.js';

export type Compression = 'none' | 'gzip' | 'zstd';

export const MEDIA_TYPES = {
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/**
 * Decompress a gzip or zstd file into `dest` with the system's `gzip` or
 * `zstd`: the bytes go from file to file in C, none through berthd (a
 * loaded layer then takes the same way as an uncompressed one). Rejects
 * with the tool's message when the data is damaged or cut short.
 */
export async function decompressFile(src: string, dest: string, compression: 'gzip' | 'zstd'): Promise<void> {
  const out = openSync(dest, 'w', 0o600);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = compression === 'gzip' ? spawn('gzip', ['-d', '-c', src], { stdio: ['ignore', out, 'pipe'] }) : spawn('zstd', ['-d', '-c', '-q', src], { stdio: ['ignore', out, 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new InvalidParameterError(`invalid ${compression} layer: ${err.trim().replace(/^\S+: /, '') || `${compression} exited with ${code}`}`))));
    });
  } finally {
    closeSync(out);
  }
}

/** Read the first bytes of `input` without losing them: returns them and a stream that still starts at byte 0. */
export async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let have = 0;
  const it = input[Symbol.asyncIterator]();
  while (have < n) {
    const r = await it.next();
    if (r.done) break;
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    chunks.push(b);
    have += b.length;
  }
  const head = Buffer.concat(chunks);
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value as Buffer;
    }
  }
  return { head: head.subarray(0, n), stream: Readable.from(rest(), { objectMode: false }) };
}

/** gunzip for a layer's bytes. */
export function layerGunzip(): ReturnType<typeof createGunzip> {
  // Big output chunks: every chunk costs a hash update, a tar-stream parse and a pipe write.
  return createGunzip({ chunkSize: 512 * 1024 });
}

/** The uncompressed tar stream of a layer, whatever its compression. */
export async function decompressed(input: Readable): Promise<{ stream: Readable; compression: Compression }> {
  const { head, stream } = await peek(input, 4);
  const compression = detectCompression(head);
  if (compression === 'none') return { stream, compression };
  if (compression === 'gzip') {
    const gunzip = layerGunzip();
    stream.on('error', (err) => gunzip.destroy(err));
    gunzip.on('error', () => stream.destroy());
    return { stream: stream.pipe(gunzip), compression };
  }
  return { stream: throughProcess(stream, 'zstd', ['-d', '-c', '-q']), compression };
}

/**
 * Archives users hand to the builder (a context on stdin or at a URL, a tar
 * ADD unpacks) may also be bzip2 or xz, as Docker accepts them; layers may not.
 */
export type ArchiveCompression = Compression | 'bzip2' | 'xz';

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

export function detectArchiveCompression(head: Buffer): ArchiveCompression {
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(XZ_MAGIC)) return 'xz';
  return detectCompression(head);
}

/** A tar archive: compressed in a way we read, or a plain tar (ustar magic at 257). */
export function looksLikeTar(head: Buffer): boolean {
  return detectArchiveCompression(head) !== 'none' || (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar');
}

/** The uncompressed stream of a user's archive (gzip, zstd, bzip2, xz or none). */
export async function decompressedArchive(input: Readable): Promise<Readable> {
  const { head, stream } = await peek(input, 6);
  const c = detectArchiveCompression(head);
  if (c === 'bzip2') return throughProcess(stream, 'bzip2', ['-d', '-c', '-q']);
  if (c === 'xz') return throughProcess(stream, 'xz', ['-d', '-c', '-q']);
  return (await decompressed(stream)).stream;
}

export function gzipStream(level = 6): ReturnType<typeof createGzip> {
  return createGzip({ level });
}

/** Pipe `input` through a filter program; errors (including a bad exit) surface on the returned stream. */
export function throughProcess(input: Readable, cmd: string, args: string[]): Readable {
  const out = new PassThrough();
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.on('error', (err) => out.destroy(new InvalidParameterError(`cannot decompress layer: ${err.message}`)));
  input.on('error', (err) => { child.kill('SIGKILL'); out.destroy(err); });
  child.stdin.on('error', () => undefined);
  input.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  child.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new InvalidParameterError(`invalid ${cmd} stream: ${stderr.trim() || `exit code ${code}`}`));
  });
  out.on('close', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  return out;
}
