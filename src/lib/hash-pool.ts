// SHA-256 off the main thread. Layers are hashed twice (the compressed blob,
// then the diff id of the tar inside) and several layers move at once; done
// on the event loop's thread that hashing serialises everything else behind
// it. A small pool of worker threads (one per core, at most four) keeps many
// hash contexts each; callers stream chunks in and await the digest. Each
// hash holds at most a few MB in flight, so a fast producer waits instead of
// queueing a whole layer in memory.
//
// That pays only where hashing is slow. A CPU with SHA-256 instructions
// (x86 SHA-NI, arm64 SHA2: OpenSSL uses them) hashes ~1.3 GB/s, and the
// hand-over (each chunk copied into a batch, a message each way) costs the
// whole process about twice the CPU of hashing in place: there a streamed
// hash is computed where its chunks are, and only whole files go to the
// workers. Without them (~175 MB/s) the workers win by far.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'file') {
    // A whole file, read here: none of its bytes pass through the main thread.
    let fd;
    try {
      fd = openSync(m.path, 'r');
      const h = createHash('sha256');
      const buf = Buffer.allocUnsafe(1 << 20);
      let size = 0;
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) { h.update(buf.subarray(0, n)); size += n; }
      parentPort.postMessage({ id: m.id, hex: h.digest('hex'), size });
    } catch (err) {
      parentPort.postMessage({ id: m.id, error: String(err && err.message || err) });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  } else if (m.op === 'gunzip') {
    // A gzip file inflated into another, both sides hashed on the way: the
    // compressed digest names the blob, the plain one is the layer's diff id.
    const { createReadStream, createWriteStream } = require('node:fs');
    const { createGunzip } = require('node:zlib');
    const { Transform } = require('node:stream');
    const { pipeline } = require('node:stream/promises');
    const packed = createHash('sha256');
    const plain = createHash('sha256');
    let packedSize = 0;
    let plainSize = 0;
    const tap = (h, add) => new Transform({ transform(c, _e, cb) { h.update(c); add(c.length); cb(null, c); } });
    pipeline(
      createReadStream(m.path, { highWaterMark: 1 << 20 }), tap(packed, (n) => { packedSize += n; }),
      createGunzip({ chunkSize: 1 << 19 }), tap(plain, (n) => { plainSize += n; }),
      createWriteStream(m.dest, { mode: 0o600 }),
    ).then(
      () => parentPort.postMessage({ id: m.id, hex: packed.digest('hex'), size: packedSize, plainHex: plain.digest('hex'), plainSize }),
      (err) => parentPort.postMessage({ id: m.id, error: String(err && err.message || err) }),
    );
  } else if (m.op === 'update') {
    let h = hashes.get(m.id);
    if (!h) { h = createHash('sha256'); hashes.set(m.id, h); }
    h.update(m.data);
    // The batch's memory goes back for the next batch: a fresh one would be faulted in page by page.
    parentPort.postMessage({ id: m.id, ack: m.data.length, spare: m.data.buffer }, [m.data.buffer]);
  } else if (m.op === 'digest') {
    const h = hashes.get(m.id) ?? createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, hex: h.digest('hex') });
  } else if (m.op === 'drop') {
    hashes.delete(m.id);
  }
});
`;

const MAX_IN_FLIGHT = 8 * 1024 * 1024;
/** Bytes per message to a worker. */
const BATCH = 1024 * 1024;
/** Spare batches kept: enough for a few hashes' in-flight data. */
const MAX_SPARES = 32;

export interface StreamingHash {
  /** Resolves at once unless too much is still waiting to be hashed. */
  update(chunk: Buffer): Promise<void> | undefined;
  /** `sha256:…` of everything passed to update */
  digest(): Promise<string>;
  /** Forget it (a failed transfer). */
  drop(): void;
}

interface Reply { id: number; ack?: number; spare?: ArrayBuffer; hex?: string; size?: number; plainHex?: string; plainSize?: number; error?: string }
interface Context { inFlight: number; waiters: (() => void)[]; done?: (r: Reply) => void; failed?: (message: string) => void }

export interface FileDigest { digest: string; size: number }

class HashPool {
  private workers: { w: Worker; refs: number }[] = [];
  private next = 0;
  private seq = 0;
  private readonly contexts = new Map<number, Context>();
  /** Batch buffers the workers have handed back, for reuse. */
  private spares: ArrayBuffer[] = [];

  private batchMemory(): ArrayBuffer {
    return this.spares.pop() ?? new ArrayBuffer(BATCH);
  }

  private pick(): { w: Worker; refs: number } {
    const size = Math.max(1, Math.min(4, availableParallelism()));
    if (this.workers.length < size) {
      const entry = { w: new Worker(WORKER_SOURCE, { eval: true }), refs: 0 };
      entry.w.on('message', (m: Reply) => {
        if (m.spare && this.spares.length < MAX_SPARES) this.spares.push(m.spare);
        const c = this.contexts.get(m.id);
        if (!c) return;
        if (m.ack !== undefined) {
          c.inFlight -= m.ack;
          if (c.inFlight < MAX_IN_FLIGHT) for (const wake of c.waiters.splice(0)) wake();
        } else if (m.hex !== undefined || m.error !== undefined) {
          this.contexts.delete(m.id);
          this.release(entry);
          if (m.error !== undefined) c.failed?.(m.error);
          else c.done?.(m);
        }
      });
      // Workers keep the process alive only while a hash is open.
      entry.w.unref();
      this.workers.push(entry);
      return entry;
    }
    return this.workers[this.next++ % this.workers.length]!;
  }

  private release(entry: { w: Worker; refs: number }): void {
    if (--entry.refs === 0) entry.w.unref();
    if (this.contexts.size === 0) {
      // Nothing open: let the threads go, an idle daemon holds none.
      for (const e of this.workers) void e.w.terminate();
      this.workers = [];
      this.spares = [];
    }
  }

  /** One request to a worker, answered by one reply. */
  request(message: Record<string, unknown>): Promise<Reply> {
    const id = ++this.seq;
    const entry = this.pick();
    if (entry.refs++ === 0) entry.w.ref();
    return new Promise((resolve, reject) => {
      this.contexts.set(id, { inFlight: 0, waiters: [], done: resolve, failed: (message) => reject(new Error(message)) });
      entry.w.postMessage({ ...message, id });
    });
  }

  create(): StreamingHash {
    const id = ++this.seq;
    const entry = this.pick();
    if (entry.refs++ === 0) entry.w.ref();
    const c: Context = { inFlight: 0, waiters: [] };
    this.contexts.set(id, c);
    // Chunks are gathered into batches of their own and handed over (transferred, not cloned):
    // cloning a Buffer serialises its whole backing store and copies it twice more on the way,
    // and a message per 64 KiB read costs more than the copy.
    let memory = this.batchMemory();
    let batch = Buffer.from(memory);
    let used = 0;
    const flush = (): void => {
      if (used === 0) return;
      const data = new Uint8Array(memory, 0, used);
      c.inFlight += used;
      entry.w.postMessage({ id, op: 'update', data }, [memory]);
      memory = this.batchMemory();
      batch = Buffer.from(memory);
      used = 0;
    };
    return {
      update: (chunk) => {
        for (let off = 0; off < chunk.length;) {
          const n = chunk.copy(batch, used, off);
          used += n;
          off += n;
          if (used === BATCH) flush();
        }
        if (c.inFlight < MAX_IN_FLIGHT) return undefined;
        return new Promise<void>((resolve) => c.waiters.push(resolve));
      },
      digest: () => new Promise<string>((resolve) => {
        flush();
        c.done = (r) => resolve(`sha256:${r.hex!}`);
        entry.w.postMessage({ id, op: 'digest' });
      }),
      drop: () => {
        if (!this.contexts.delete(id)) return;
        entry.w.postMessage({ id, op: 'drop' });
        for (const wake of c.waiters.splice(0)) wake();
        this.release(entry);
      },
    };
  }
}

const pool = new HashPool();

let shaInstructions: boolean | undefined;

/** Whether a /proc/cpuinfo text lists SHA-256 instructions: x86 `flags … sha_ni`, arm64 `Features … sha2`. */
export function cpuinfoHasSha256(info: string): boolean {
  return /^(flags|Features)\s*:.*(?<=[\s:])(sha_ni|sha2)(?=\s|$)/m.test(info);
}

/** Whether this CPU has SHA-256 instructions (read once). */
export function cpuHasSha256Instructions(): boolean {
  if (shaInstructions === undefined) {
    let info = '';
    try {
      info = readFileSync('/proc/cpuinfo', 'latin1');
    } catch {
      // Not Linux, or no /proc: assume the slow case, where the workers are always right.
    }
    shaInstructions = cpuinfoHasSha256(info);
  }
  return shaInstructions;
}

/** A SHA-256 computed where its chunks are. */
function inlineHash(): StreamingHash {
  const h = createHash('sha256');
  return {
    update: (chunk) => { h.update(chunk); return undefined; },
    digest: () => Promise.resolve(`sha256:${h.digest('hex')}`),
    drop: () => undefined,
  };
}

/**
 * A streamed SHA-256: on a worker thread, or inline where the CPU hashes
 * faster than a hand-over costs (`where` forces one, for tests).
 */
export function sha256Stream(where: 'auto' | 'worker' | 'inline' = 'auto'): StreamingHash {
  const inline = where === 'inline' || (where === 'auto' && cpuHasSha256Instructions());
  return inline ? inlineHash() : pool.create();
}

/** The `sha256:…` digest and size of a file, read and hashed on a worker thread. */
export async function sha256File(path: string): Promise<FileDigest> {
  const r = await pool.request({ op: 'file', path });
  return { digest: `sha256:${r.hex!}`, size: r.size ?? 0 };
}

/**
 * Inflate the gzip file `path` into `dest` on a worker thread, hashing both:
 * `packed` is the gzip file's digest, `plain` the inflated bytes'.
 */
export async function gunzipFile(path: string, dest: string): Promise<{ packed: FileDigest; plain: FileDigest }> {
  const r = await pool.request({ op: 'gunzip', path, dest });
  return { packed: { digest: `sha256:${r.hex!}`, size: r.size ?? 0 }, plain: { digest: `sha256:${r.plainHex!}`, size: r.plainSize ?? 0 } };
}
