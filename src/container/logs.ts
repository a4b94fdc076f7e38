// Reader for conmon's k8s-file logs: `TIMESTAMP STREAM F|P CONTENT` per line.
// `tail` reads backwards from the end, `since` binary-searches by timestamp,
// and `follow` sleeps on inotify: none of them scans a large file.
import { promises as fs, watch, type FSWatcher } from 'node:fs';

export interface LogRecord {
  stream: 'stdout' | 'stderr';
  /** unix nanoseconds */
  timeNs: bigint;
  time: string;
  /** the content, with '\n' restored for full (F) records */
  data: Buffer;
}

export interface ReadLogsOptions {
  tail?: number;
  sinceNs?: bigint;
  untilNs?: bigint;
  follow?: boolean;
  isDone?: () => boolean | Promise<boolean>;
  signal?: AbortSignal;
  /** wake a follower at once (e.g. the container exited) instead of at the next poll */
  wake?: (fn: () => void) => () => void;
  /** incremented with every byte read, so tests can prove no full scan happened */
  stats?: { bytesRead: number };
}

const CHUNK = 64 * 1024;
const SPACE = 0x20;

/** `2026-11-22T15:40:01.123456789+00:00` → unix ns. */
export function parseTimeNs(t: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(t);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

export function parseLogLine(line: Buffer | string): LogRecord | undefined {
  const buf = typeof line === 'string' ? Buffer.from(line) : line;
  const s1 = buf.indexOf(SPACE);
  if (s1 < 0) return undefined;
  const s2 = buf.indexOf(SPACE, s1 + 1);
  if (s2 < 0) return undefined;
  const s3 = buf.indexOf(SPACE, s2 + 1);
  const time = buf.subarray(0, s1).toString();
  const stream = buf.subarray(s1 + 1, s2).toString();
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tagEnd = s3 < 0 ? buf.length : s3;
  const tag = buf.subarray(s2 + 1, tagEnd).toString();
  const timeNs = parseTimeNs(time);
  if (timeNs === undefined) return undefined;
  let content = s3 < 0 ? Buffer.alloc(0) : buf.subarray(s3 + 1);
  if (content.length && content[content.length - 1] === 0x0a) content = content.subarray(0, -1);
  const full = !tag.split(':').includes('P');
  return { stream, timeNs, time, data: full ? Buffer.concat([content, Buffer.from('\n')]) : Buffer.from(content) };
}

/** Go's RFC3339Nano in UTC, trailing zeros of the fraction trimmed. */
export function formatDockerTimestamp(timeNs: bigint): string {
  const ms = Number(timeNs / 1_000_000n);
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = (timeNs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${frac ? '.' + frac : ''}Z`;
}

type Handle = Awaited<ReturnType<typeof fs.open>>;

async function readAt(fh: Handle, pos: number, len: number, stats?: { bytesRead: number }): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  const { bytesRead } = await fh.read(buf, 0, len, pos);
  if (stats) stats.bytesRead += bytesRead;
  return buf.subarray(0, bytesRead);
}

/** Offset of the start of the last `n` complete lines ending at `end`. */
async function tailOffset(fh: Handle, end: number, n: number, stats?: { bytesRead: number }): Promise<number> {
  if (n <= 0) return end;
  let pos = end;
  let newlines = 0;
  while (pos > 0) {
    const start = Math.max(0, pos - CHUNK);
    const buf = await readAt(fh, start, pos - start, stats);
    for (let i = buf.length - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) continue;
      // The newline that ends the last line does not start a line.
      if (start + i === end - 1) continue;
      newlines++;
      if (newlines === n) return start + i + 1;
    }
    pos = start;
  }
  return 0;
}

/** Timestamp of the first complete line starting at or after `pos`, with its offset. */
async function lineAfter(fh: Handle, pos: number, end: number, stats?: { bytesRead: number }): Promise<{ offset: number; timeNs: bigint } | undefined> {
  let offset = pos;
  if (pos > 0) {
    // Resync: skip to just after the next newline.
    let p = pos - 1;
    for (;;) {
      if (p >= end) return undefined;
      const buf = await readAt(fh, p, Math.min(CHUNK, end - p), stats);
      const i = buf.indexOf(0x0a);
      if (i >= 0) {
        offset = p + i + 1;
        break;
      }
      p += buf.length;
    }
  }
  if (offset >= end) return undefined;
  const head = await readAt(fh, offset, Math.min(64, end - offset), stats);
  const sp = head.indexOf(SPACE);
  const t = sp > 0 ? parseTimeNs(head.subarray(0, sp).toString()) : undefined;
  return t === undefined ? undefined : { offset, timeNs: t };
}

/** Offset of the first line whose time is >= sinceNs. */
async function sinceOffset(fh: Handle, end: number, sinceNs: bigint, stats?: { bytesRead: number }): Promise<number> {
  let lo = 0;
  let hi = end;
  // Invariant: every line starting before lo is older than sinceNs; the answer is in [lo, hi].
  while (hi - lo > CHUNK) {
    const mid = Math.floor((lo + hi) / 2);
    const l = await lineAfter(fh, mid, end, stats);
    if (!l || l.offset >= hi) {
      hi = mid;
    } else if (l.timeNs < sinceNs) {
      lo = l.offset;
    } else {
      hi = l.offset;
    }
  }
  // Finish with a short forward scan from lo.
  const buf = await readAt(fh, lo, Math.min(end, hi + CHUNK) - lo, stats);
  let off = 0;
  while (off < buf.length) {
    const nl = buf.indexOf(0x0a, off);
    const line = buf.subarray(off, nl < 0 ? buf.length : nl);
    const sp = line.indexOf(SPACE);
    const t = sp > 0 ? parseTimeNs(line.subarray(0, sp).toString()) : undefined;
    if (t !== undefined && t >= sinceNs) return lo + off;
    if (nl < 0) break;
    off = nl + 1;
  }
  return Math.min(end, lo + buf.length);
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await fs.stat(path)).size;
  } catch {
    return undefined;
  }
}

export async function* readLogs(path: string, opts: ReadLogsOptions = {}): AsyncGenerator<LogRecord> {
  const { stats, signal } = opts;
  let fh: Handle | undefined;
  let watcher: FSWatcher | undefined;
  let wakeUp: (() => void) | undefined;
  let pending = false;
  const notify = (): void => {
    pending = true;
    wakeUp?.();
  };
  const unwake = opts.wake?.(notify);
  signal?.addEventListener('abort', notify);
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    if (pending || signal?.aborted) {
      pending = false;
      resolve();
      return;
    }
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      wakeUp = undefined;
      pending = false;
      resolve();
    }
    wakeUp = done;
  });
  try {
    // Wait for the file in follow mode; otherwise a missing file means no logs.
    for (;;) {
      try {
        fh = await fs.open(path, 'r');
        break;
      } catch {
        if (!opts.follow || signal?.aborted || (await opts.isDone?.())) return;
        await sleep(100);
      }
    }
    let end = (await fh.stat()).size;
    let pos = 0;
    if (opts.tail !== undefined && opts.tail >= 0) pos = await tailOffset(fh, end, opts.tail, stats);
    if (opts.sinceNs !== undefined) pos = Math.max(pos, await sinceOffset(fh, end, opts.sinceNs, stats));
    if (opts.follow) {
      try {
        watcher = watch(path, notify);
        watcher.on('error', () => undefined);
      } catch { /* fall back to polling */ }
    }
    let carry = Buffer.alloc(0);
    for (;;) {
      while (pos < end) {
        if (signal?.aborted) return;
        const chunk = await readAt(fh, pos, Math.min(CHUNK, end - pos), stats);
        if (chunk.length === 0) break;
        pos += chunk.length;
        let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
        let off = 0;
        for (;;) {
          const nl = buf.indexOf(0x0a, off);
          if (nl < 0) break;
          const rec = parseLogLine(buf.subarray(off, nl));
          off = nl + 1;
          if (!rec) continue;
          if (opts.sinceNs !== undefined && rec.timeNs < opts.sinceNs) continue;
          if (opts.untilNs !== undefined && rec.timeNs > opts.untilNs) return;
          yield rec;
        }
        buf = buf.subarray(off);
        carry = Buffer.from(buf);
      }
      if (!opts.follow || signal?.aborted) return;
      // Check "done" before waiting, then drain once more so nothing written
      // between the last read and the exit is lost.
      const done = await opts.isDone?.();
      const size = await sizeOf(path);
      if (size !== undefined && size < pos) {
        // Truncated (conmon's size limit): start over.
        pos = 0;
        carry = Buffer.alloc(0);
      }
      end = size ?? end;
      if (pos < end) continue;
      if (done) return;
      await sleep(1000);
      end = (await sizeOf(path)) ?? end;
    }
  } finally {
    unwake?.();
    signal?.removeEventListener('abort', notify);
    watcher?.close();
    await fh?.close();
  }
}
