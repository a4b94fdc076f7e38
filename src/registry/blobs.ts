// Blob transfer. Downloads are hashed as they arrive, can feed a consumer
// (the layer unpacker) while they land on disk, and resume an interrupted
// transfer with an HTTP Range request instead of starting over.
import { sha256Stream } from '../lib/hash-pool.js';
import { createWriteStream, promises as fs } from 'node:fs';
import { SystemError } from '../lib/errors.js';
import type { ContentStore } from '../image/content-store.js';
import { DigestMismatchError } from '../image/content-store.js';
import { RegistryError, TransientRegistryError, type RegistryClient } from './client.js';

export interface BlobRef { digest: string; size: number }

const MAX_ATTEMPTS = 5;
/** Bytes of a download that may wait for the disk before the download waits. */
const FILE_BUFFER = 8 << 20;

/**
 * The blob's temporary file, written behind the download: the next chunk is
 * fetched while earlier ones are still being written. Awaiting each write
 * made every chunk a round trip through libuv's thread pool, which the
 * layer's inflating shares, on a machine whose two cores were busy anyway.
 * A disk error fails the next write, or the close.
 */
function blobFile(path: string): { write(chunk: Buffer): Promise<void> | undefined; close(): Promise<void>; discard(): Promise<void> } {
  const ws = createWriteStream(path, { mode: 0o600, highWaterMark: FILE_BUFFER });
  ws.on('error', () => undefined);
  // `errored` is set at once; the 'error' event only comes after the file is closed.
  let failure: Error | undefined;
  const failed = (): Error | undefined => {
    if (!failure && ws.errored) failure = new SystemError(`failed to write blob: ${ws.errored.message}`);
    return failure;
  };
  /** Resolves on 'close' (at once if closed already): after an error too. */
  const closed = (): Promise<void> => new Promise((resolve) => {
    if (ws.closed) resolve();
    else ws.once('close', () => resolve());
  });
  return {
    write(chunk) {
      const f = failed();
      if (f) throw f;
      if (ws.write(chunk)) return undefined;
      return new Promise<void>((resolve, reject) => {
        const settle = (): void => {
          ws.off('drain', settle);
          ws.off('close', settle);
          const e = failed();
          if (e) reject(e);
          else resolve();
        };
        ws.on('drain', settle);
        ws.on('close', settle);
      });
    },
    async close() {
      const done = closed();
      ws.end();
      await done;
      const f = failed();
      if (f) throw f;
    },
    async discard() {
      // Closed before the caller removes the file: a stream still opening would create it again.
      const done = closed();
      ws.destroy();
      await done;
    },
  };
}

/**
 * Fetch `blob` of `repo` into the content store. Every chunk is also handed to
 * `onChunk` (awaited: backpressure), in order and exactly once, across resumes.
 */
export async function downloadBlob(
  client: RegistryClient, repo: string, blob: BlobRef, content: ContentStore,
  opts: { onChunk?: (chunk: Buffer) => Promise<void>; onProgress?: (current: number) => void; onRetry?: (attempt: number, err: Error) => void } = {},
): Promise<void> {
  await content.init();
  const tmp = content.tempPath();
  const file = blobFile(tmp);
  const hash = sha256Stream();
  let offset = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
        const res = await client.request(`/v2/${repo}/blobs/${blob.digest}`, { headers, scope: `repository:${repo}:pull` });
        if (!res.ok) await client.fail(res, `failed to fetch blob ${blob.digest}`);
        // A server that ignores Range sends it all again: skip what we already have.
        let skip = offset > 0 && res.status !== 206 ? offset : 0;
        // The web stream's own reader: a Node stream over it would concatenate chunks whenever we fall behind.
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        try {
          for (let r = await reader.read(); !r.done; r = await reader.read()) {
            // A view, not a copy: fetch's chunks are plain Uint8Arrays.
            const bytes = r.value;
            let chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
            if (skip > 0) {
              const n = Math.min(skip, chunk.length);
              chunk = chunk.subarray(n);
              skip -= n;
              if (chunk.length === 0) continue;
            }
            await hash.update(chunk);
            await file.write(chunk);
            offset += chunk.length;
            if (opts.onChunk) await opts.onChunk(chunk);
            opts.onProgress?.(offset);
          }
        } catch (err) {
          // Whatever failed, the connection is let go.
          await reader.cancel().catch(() => undefined);
          throw err;
        }
        break;
      } catch (err) {
        // Broken connections, 429 and 5xx are retried; other registry answers (404, 401) and bad data are final.
        const transient = err instanceof TransientRegistryError || (!(err instanceof RegistryError) && (err as { status?: number }).status === undefined);
        if (!transient || attempt >= MAX_ATTEMPTS) throw err;
        opts.onRetry?.(attempt, err as Error);
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
    const digest = await hash.digest();
    if (digest !== blob.digest) throw new DigestMismatchError(`filesystem layer verification failed for digest ${blob.digest}`);
    await file.close();
    await content.commit(tmp, digest);
  } catch (err) {
    hash.drop();
    await file.discard();
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** Pieces of a chunked upload, when one request cannot carry a blob. */
const DEFAULT_CHUNK = 8 << 20;

/** An upload session: POST, the Location to send to. */
async function startUpload(client: RegistryClient, repo: string, scope: string, digest: string): Promise<string> {
  const start = await client.request(`/v2/${repo}/blobs/uploads/`, { method: 'POST', scope });
  if (start.status !== 202) await client.fail(start, `failed to start the upload of ${digest}`);
  await start.arrayBuffer().catch(() => undefined);
  const location = start.headers.get('location');
  if (!location) throw new RegistryError(500, 'the registry started an upload without a Location');
  return location;
}

/** The Location of an upload, with `digest=` added (the closing PUT's query). */
function withDigest(location: string, digest: string): string {
  const url = new URL(location, 'http://placeholder');
  url.searchParams.set('digest', digest);
  return /^https?:/.test(location) ? url.toString() : `${url.pathname}${url.search}`;
}

function relative(location: string): string {
  if (/^https?:/.test(location)) return location;
  const url = new URL(location, 'http://placeholder');
  return `${url.pathname}${url.search}`;
}

/**
 * The distribution spec's chunked upload: PATCH after PATCH, each with its
 * Content-Range, each answered with the Location of the next, then a PUT
 * with the digest and no body.
 */
async function uploadInChunks(
  client: RegistryClient, repo: string, scope: string, blob: BlobRef, content: ContentStore, chunkSize: number,
  onProgress?: (current: number) => void,
): Promise<void> {
  let location = await startUpload(client, repo, scope, blob.digest);
  const fh = await fs.open(content.path(blob.digest), 'r');
  try {
    for (let offset = 0; offset < blob.size;) {
      const buf = Buffer.alloc(Math.min(chunkSize, blob.size - offset));
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      if (bytesRead !== buf.length) throw new RegistryError(500, `short read of blob ${blob.digest}`);
      const res = await client.request(relative(location), {
        method: 'PATCH', scope,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + buf.length - 1}`, 'Content-Length': String(buf.length) },
        body: buf,
      });
      if (res.status !== 202) await client.fail(res, `failed to upload a chunk of ${blob.digest}`);
      await res.arrayBuffer().catch(() => undefined);
      location = res.headers.get('location') ?? location;
      offset += buf.length;
      onProgress?.(offset);
    }
  } finally {
    await fh.close();
  }
  const put = await client.request(withDigest(location, blob.digest), { method: 'PUT', scope, headers: { 'Content-Length': '0' }, body: Buffer.alloc(0) });
  if (put.status !== 201) await client.fail(put, `failed to complete the upload of ${blob.digest}`);
  await put.arrayBuffer().catch(() => undefined);
}

/**
 * Push one blob: skipped when the registry has it, mounted from another
 * repository when it can be, uploaded otherwise — in one streamed PUT, or in
 * chunks when that is refused as too large (413: a proxy's body limit).
 */
export async function uploadBlob(
  client: RegistryClient, repo: string, blob: BlobRef, content: ContentStore,
  opts: { mountFrom?: string[]; onProgress?: (current: number) => void; /** bytes per PATCH when one PUT is refused */ chunkSize?: number } = {},
): Promise<'exists' | 'mounted' | 'pushed'> {
  const scope = `repository:${repo}:pull,push`;
  const head = await client.request(`/v2/${repo}/blobs/${blob.digest}`, { method: 'HEAD', scope });
  if (head.ok) return 'exists';
  for (const from of opts.mountFrom ?? []) {
    const res = await client.request(`/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(from)}`, {
      method: 'POST', scope: `${scope} repository:${from}:pull`,
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status === 201) return 'mounted';
    // 202: the registry started a plain upload instead; it is abandoned and a fresh one used.
  }
  const monolithic = await startUpload(client, repo, scope, blob.digest);
  let sent = 0;
  async function* body(): AsyncGenerator<Uint8Array> {
    const fh = await fs.open(content.path(blob.digest), 'r');
    try {
      for await (const chunk of fh.createReadStream() as AsyncIterable<Buffer>) {
        sent += chunk.length;
        opts.onProgress?.(sent);
        yield chunk;
      }
    } finally {
      await fh.close().catch(() => undefined);
    }
  }
  const put = await client.request(withDigest(monolithic, blob.digest), {
    method: 'PUT', scope,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(blob.size) },
    body: body(),
  });
  if (put.status === 413) {
    // Too large for one request (a proxy's body limit): the same blob in pieces.
    await put.arrayBuffer().catch(() => undefined);
    await uploadInChunks(client, repo, scope, blob, content, opts.chunkSize ?? DEFAULT_CHUNK, opts.onProgress);
    return 'pushed';
  }
  if (put.status !== 201) await client.fail(put, `failed to upload ${blob.digest}`);
  await put.arrayBuffer().catch(() => undefined);
  return 'pushed';
}
