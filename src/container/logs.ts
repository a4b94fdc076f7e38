// Reader for conmon's k8s-file logs: `TIMESTAMP STREAM F|P CONTENT` per line.
// `tail` reads backwards from the end, `since` binary-searches by timestamp,
// and `follow` sleeps on inotify: none of them scans a large file. Rotated
// files are read as one stream with the current one.
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';

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
  /** runs the opening of the file chain so that a rotation cannot shift files under it */
  lock?: <T>(fn: () => Promise<T>) => Promise<T>;
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

/**
 * Offset of the start of the last `n` lines ending at `end`, and how many
 * lines were found (fewer than `n` when the file is short: the caller goes on
 * into the previous, rotated file).
 */
async function tailOffset(fh: Handle, end: number, n: number, stats?: { bytesRead: number }): Promise<{ offset: number; found: number }> {
  if (n <= 0 || end === 0) return { offset: end, found: 0 };
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
      if (newlines === n) return { offset: start + i + 1, found: n };
    }
    pos = start;
  }
  return { offset: 0, found: newlines + 1 };
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

// ---- the chain of files ------------------------------------------------------
//
// Rotation (log-rotator.ts) renames `container.log` to `container.log.1`,
// shifts older files up by one and asks conmon to reopen. The chain, oldest
// first, is `container.log.N … container.log.1 container.log`.

interface ChainFile {
  fh: Handle;
  ino: number;
  end: number;
}

/** Rotated files of `path`, oldest first. */
export async function rotatedLogFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const prefix = basename(path) + '.';
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
    .map((n) => ({ n, k: Number(n.slice(prefix.length)) }))
    .sort((a, b) => b.k - a.k)
    .map(({ n }) => join(dir, n));
}

async function openFile(path: string): Promise<ChainFile | undefined> {
  let fh: Handle;
  try {
    fh = await fs.open(path, 'r');
  } catch {
    return undefined;
  }
  const st = await fh.stat();
  return { fh, ino: st.ino, end: st.size };
}

/** Open every file of the chain; the current file may be missing (never started, or mid-rotation). */
async function openChain(path: string): Promise<{ files: ChainFile[]; current: boolean }> {
  const files: ChainFile[] = [];
  for (const p of await rotatedLogFiles(path)) {
    const f = await openFile(p);
    if (f) files.push(f);
  }
  const cur = await openFile(path);
  if (cur) files.push(cur);
  return { files, current: cur !== undefined };
}

async function statOf(path: string): Promise<{ ino: number; size: number } | undefined> {
  try {
    const st = await fs.stat(path);
    return { ino: st.ino, size: st.size };
  } catch {
    return undefined;
  }
}

export async function* readLogs(path: string, opts: ReadLogsOptions = {}): AsyncGenerator<LogRecord> {
  const { stats, signal } = opts;
  let files: ChainFile[] = [];
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
  const lock = opts.lock ?? ((fn) => fn());
  try {
    if (opts.follow) {
      // The directory, not the file: a watch on the file would follow it into rotation.
      try {
        const base = basename(path);
        watcher = watch(dirname(path), (_ev, name) => {
          if (name === null || String(name).startsWith(base)) notify();
        });
        watcher.on('error', () => undefined);
      } catch { /* fall back to polling */ }
    }
    // Wait for the file in follow mode; otherwise a missing file means no logs.
    for (;;) {
      files = (await lock(() => openChain(path))).files;
      if (files.length) break;
      if (!opts.follow || signal?.aborted || (await opts.isDone?.())) return;
      await sleep(100);
    }

    // Where to start: `tail` walks back through the chain, `since` searches forward.
    let index = 0;
    let pos = 0;
    if (opts.tail !== undefined && opts.tail >= 0) {
      let remaining = opts.tail;
      index = files.length - 1;
      pos = files[index]!.end;
      for (let i = files.length - 1; i >= 0 && remaining > 0; i--) {
        const f = files[i]!;
        const r = await tailOffset(f.fh, f.end, remaining, stats);
        remaining -= r.found;
        index = i;
        pos = r.offset;
      }
    }
    if (opts.sinceNs !== undefined) {
      for (let i = index; i < files.length; i++) {
        const f = files[i]!;
        const off = Math.max(i === index ? pos : 0, await sinceOffset(f.fh, f.end, opts.sinceNs, stats));
        index = i;
        pos = off;
        if (off < f.end) break;
      }
    }

    let carry = Buffer.alloc(0);
    for (;;) {
      const f = files[index]!;
      const last = index === files.length - 1;
      while (pos < f.end) {
        if (signal?.aborted) return;
        const chunk = await readAt(f.fh, pos, Math.min(CHUNK, f.end - pos), stats);
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
      if (!last) {
        index++;
        pos = 0;
        carry = Buffer.alloc(0);
        continue;
      }
      if (!opts.follow || signal?.aborted) return;
      // Check "done" before looking at the files, then drain once more so
      // nothing written between the last read and the exit is lost.
      const done = await opts.isDone?.();
      const size = (await f.fh.stat()).size;
      if (size < pos) {
        // Truncated in place: start over.
        pos = 0;
        carry = Buffer.alloc(0);
      }
      f.end = size;
      if (pos < f.end) continue;
      const named = await statOf(path);
      if (named && named.ino !== f.ino) {
        // Rotated, and conmon has reopened (the new file appears only then):
        // what we hold is complete. Drain it, then move to the new file.
        f.end = (await f.fh.stat()).size;
        if (pos < f.end) continue;
        const next = await openFile(path);
        if (next) {
          for (const g of files) await g.fh.close().catch(() => undefined);
          files = [next];
          index = 0;
          pos = 0;
          carry = Buffer.alloc(0);
          continue;
        }
      }
      if (done) return;
      await sleep(1000);
    }
  } finally {
    unwake?.();
    signal?.removeEventListener('abort', notify);
    watcher?.close();
    for (const f of files) await f.fh.close().catch(() => undefined);
  }
}
