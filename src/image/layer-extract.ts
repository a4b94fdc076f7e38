// One layer tar stream into a directory, in one pass: the bytes are
// decompressed (gzip or zstd, told from the first bytes), hashed (the plain
// tar's digest is the layer's diff id), checked entry by entry and unpacked
// by GNU tar, all at once. It is fed chunk by chunk (`write`): the
// producer's chunks go through as they are, where reading a Node stream
// with `for await` would concatenate whatever was buffered into new
// Buffers (a copy of most bytes, and external memory that paces V8's full
// collections), and the compression is told without a stream in between.
import { posix } from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { InvalidParameterError } from '../lib/errors.js';
import { eachChunk } from '../lib/each-chunk.js';
import { sha256Stream } from '../lib/hash-pool.js';
import { detectCompression, layerGunzip, throughProcess } from './compression.js';
import { parseWhiteout, type Whiteout } from './whiteouts.js';
import { TarHeaderStream, type TarHeaderInfo } from './tar-file-scan.js';
import { tarExtractStream, type TarExtractor } from './tar-extract.js';

export class UnsafeArchiveError extends InvalidParameterError {}

export interface LayerScan { size: number; whiteouts: Whiteout[] }
export interface ExtractResult extends LayerScan { diffId: string }

function cleanName(name: string): string {
  return posix.normalize(name).replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/** Reject names that would land outside the layer root. */
function checkPath(raw: string, what: string): string {
  if (raw.startsWith('/')) throw new UnsafeArchiveError(`invalid tar entry ${what}"${raw}": absolute paths are not allowed`);
  if (raw.split('/').includes('..')) throw new UnsafeArchiveError(`invalid tar entry ${what}"${raw}": path escapes the layer root`);
  return cleanName(raw);
}

/**
 * The checks of every entry, in archive order: no absolute names, no `..`,
 * no entry reached through a symlink the same archive created, hardlinks
 * only to files inside the layer. Collects the whiteouts and content size.
 */
export function entryChecks(): { check(h: TarHeaderInfo): void; result(): LayerScan } {
  const symlinks = new Set<string>();
  const whiteouts: Whiteout[] = [];
  let size = 0;
  const throughSymlink = (p: string): string | undefined => {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (symlinks.has(prefix)) return prefix;
    }
    return undefined;
  };
  return {
    check(header) {
      const name = checkPath(header.name, '');
      const via = name && throughSymlink(name);
      if (via) throw new UnsafeArchiveError(`invalid tar entry "${header.name}": it is reached through the symlink "${via}"`);
      if (header.type === 'symlink') symlinks.add(name);
      else symlinks.delete(name);
      if (header.type === 'link') {
        const target = checkPath(header.linkname, 'hardlink target ');
        const tvia = throughSymlink(target);
        if (tvia || !target) throw new UnsafeArchiveError(`invalid tar entry "${header.name}": hardlink target "${header.linkname}" is outside the layer`);
      }
      if (header.type === 'file' || header.type === 'contiguous-file') size += header.size;
      const wh = parseWhiteout(name);
      if (wh) whiteouts.push(wh);
    },
    result: () => ({ size, whiteouts }),
  };
}

/**
 * A writable that parses a layer tar and checks every entry (entryChecks).
 * `result` settles when the archive ends (or is found unsafe).
 */
export function layerScanner(): { sink: Writable; result: Promise<LayerScan> } {
  const checks = entryChecks();
  const headers = new TarHeaderStream((h) => checks.check(h));
  let settle!: { resolve: (r: LayerScan) => void; reject: (err: unknown) => void };
  const result = new Promise<LayerScan>((resolve, reject) => { settle = { resolve, reject }; });
  result.catch(() => undefined);
  const sink = new Writable({
    write(chunk: Buffer, _enc, callback) {
      try {
        headers.write(chunk);
        callback();
      } catch (err) {
        settle.reject(err);
        callback(err as Error);
      }
    },
    final(callback) {
      try {
        headers.end();
        settle.resolve(checks.result());
        callback();
      } catch (err) {
        settle.reject(err);
        callback(err as Error);
      }
    },
    destroy(err, callback) {
      if (err) settle.reject(err);
      callback(err);
    },
  });
  sink.on('error', () => undefined);
  return { sink, result };
}

/**
 * Write `chunk` to `w`; when `w` is full, a promise of its drain (rejecting
 * if `failed` does first). A broken `w` ends the wait too: what broke it
 * (tar's exit status, the scan's verdict) is `failed`'s to report, and says
 * more than an EPIPE.
 */
function writeWithBackpressure(w: Writable, chunk: Buffer, failed: Promise<never>): Promise<void> | undefined {
  // Gone already (tar exits at the end-of-archive blocks, and what follows them breaks its pipe): no event would come.
  if (w.destroyed) return undefined;
  if (w.write(chunk) || w.destroyed) return undefined;
  const drained = new Promise<void>((resolve) => {
    const done = (): void => {
      w.off('drain', done);
      w.off('error', done);
      w.off('close', done);
      resolve();
    };
    w.on('drain', done);
    w.on('error', done);
    w.on('close', done);
  });
  return Promise.race([drained, failed]);
}

/** How compressed bytes become plain ones: what to write them to, and when all came out. */
interface Decoder { write(chunk: Buffer): Promise<void> | undefined; end(): void; done: Promise<void>; abort(): void }

/**
 * One layer being extracted into a directory (LayerExtraction.start). Call
 * `write` with each chunk of the layer blob in order, awaiting it when it returns a
 * promise (backpressure), then `end`; or `abort`. `failed` rejects as soon
 * as tar or the entry checks fail, however far the writes are.
 */
export class LayerExtraction {
  readonly failed: Promise<never>;
  private readonly checks = entryChecks();
  /** Every entry checked as its header passes, on this thread: no stream in between. */
  private readonly headers = new TarHeaderStream((h) => this.checks.check(h));
  private scanFailed!: (err: unknown) => void;
  // In place where the CPU has SHA instructions, else on a hash worker (hash-pool.ts).
  private readonly hash = sha256Stream();
  private head: Buffer[] = [];
  private headLength = 0;
  private decoder: Decoder | undefined;

  /** Start extracting into `dir`, which exists. */
  static async start(dir: string): Promise<LayerExtraction> {
    return new LayerExtraction(await tarExtractStream(dir));
  }

  private constructor(private readonly tar: TarExtractor) {
    const never = new Promise<never>(() => undefined);
    const scan = new Promise<never>((_resolve, reject) => { this.scanFailed = reject; });
    this.failed = Promise.race([scan, this.tar.done.then(() => never)]);
    this.failed.catch(() => undefined);
  }

  write(chunk: Buffer): Promise<void> | undefined {
    if (this.decoder) return this.decoder.write(chunk);
    // The compression is told from the first four bytes, which may come in pieces.
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.headLength < 4) return undefined;
    return this.startDecoder().write(Buffer.concat(this.head.splice(0)));
  }

  async end(): Promise<ExtractResult> {
    const decoder = this.decoder ?? this.startDecoder();
    const rest = this.head.splice(0);
    if (rest.length) await decoder.write(Buffer.concat(rest));
    decoder.end();
    await Promise.race([decoder.done, this.failed]);
    if (!this.scanned(() => this.headers.end())) await this.failed;
    const { size, whiteouts } = this.checks.result();
    this.tar.finish();
    await this.tar.done;
    return { diffId: await this.hash.digest(), size, whiteouts };
  }

  /** Stop: tar is killed; resolves once it has exited (nothing writes into the directory any more). */
  async abort(): Promise<void> {
    this.hash.drop();
    this.decoder?.abort();
    this.tar.kill();
    await this.tar.done.catch(() => undefined);
  }

  /** Every plain byte: hashed, checked, unpacked. */
  private plain(chunk: Buffer): Promise<void> | undefined {
    if (!this.scanned(() => this.headers.write(chunk))) return this.failed;
    const waits = [this.hash.update(chunk), writeWithBackpressure(this.tar.stdin, chunk, this.failed)];
    return waits.some(Boolean) ? Promise.all(waits).then(() => undefined) : undefined;
  }

  /** Runs a step of the header scan; false (and `failed` rejected) when it finds the archive bad or unsafe. */
  private scanned(step: () => void): boolean {
    try {
      step();
      return true;
    } catch (err) {
      this.scanFailed(err);
      return false;
    }
  }

  /** Rejects when the extraction fails or `decoding` does; never resolves. */
  private failedOr(decoding: Promise<void>): Promise<never> {
    const p = Promise.race([this.failed, decoding.then(() => new Promise<never>(() => undefined))]);
    p.catch(() => undefined);
    return p;
  }

  private startDecoder(): Decoder {
    const head = this.head.length ? Buffer.concat(this.head) : Buffer.alloc(0);
    const compression = detectCompression(head);
    this.decoder = compression === 'gzip' ? this.gunzip() : compression === 'zstd' ? this.unzstd() : this.direct();
    return this.decoder;
  }

  private direct(): Decoder {
    return { write: (chunk) => this.plain(chunk), end: () => undefined, done: Promise.resolve(), abort: () => undefined };
  }

  private gunzip(): Decoder {
    const z = layerGunzip();
    const done = eachChunk(z, (c) => this.plain(c));
    const broken = this.failedOr(done);
    return {
      write: (chunk) => writeWithBackpressure(z, chunk, broken),
      end: () => { z.end(); },
      done,
      abort: () => { z.destroy(); },
    };
  }

  private unzstd(): Decoder {
    // Node 20 has no zstd: the zstd program decompresses, on its own pipes.
    const input = new PassThrough();
    const out = throughProcess(input, 'zstd', ['-d', '-c', '-q']);
    const done = eachChunk(out, (c) => this.plain(c));
    const broken = this.failedOr(done);
    return {
      write: (chunk) => writeWithBackpressure(input, chunk, broken),
      end: () => { input.end(); },
      done,
      // Closing the output kills zstd.
      abort: () => { out.destroy(); },
    };
  }
}

/** Extract `input` into `dir` here, on this thread. */
export async function extractLayerStream(input: Readable, dir: string): Promise<ExtractResult> {
  const x = await LayerExtraction.start(dir);
  try {
    await eachChunk(input, (chunk) => {
      const w = x.write(chunk);
      return w ? Promise.race([w, x.failed]) : undefined;
    });
    return await x.end();
  } catch (err) {
    await x.abort();
    throw err;
  }
}
