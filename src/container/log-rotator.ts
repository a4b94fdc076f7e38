// Size-based rotation of running containers' logs. conmon writes the log but
// can only truncate it (`--log-size-max` throws the current file away), so
// berthd rotates: it renames the file, shifts the older ones, and asks
// conmon through its control fifo to reopen. Lines written between the
// rename and the reopen land in the renamed file, so none are lost.
//
// While berthd is down nothing rotates and the log grows; the first check
// after a restart rotates it. That is the price of never losing a line.
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { KeyedMutex } from '../lib/mutex.js';
import type { RotationLimits } from './log-config.js';
import { conmonReopenLogs } from './runtime.js';

/** Checks are coalesced: a chatty container costs one stat per interval, not one per write. */
const CHECK_DELAY_MS = 50;

interface Watched {
  logPath: string;
  ctlPath: string;
  limits: RotationLimits;
  watcher?: FSWatcher;
  timer?: NodeJS.Timeout;
}

export type RotatorLog = (level: string, msg: string, fields?: Record<string, unknown>) => void;

export class LogRotator {
  private readonly watched = new Map<string, Watched>();
  private readonly lock = new KeyedMutex();

  constructor(private readonly log: RotatorLog = () => undefined) {}

  /** Rotate `logPath` whenever it reaches the limit, until unwatch(id). */
  watch(id: string, logPath: string, ctlPath: string, limits: RotationLimits): void {
    this.unwatch(id);
    const w: Watched = { logPath, ctlPath, limits };
    this.watched.set(id, w);
    const name = basename(logPath);
    try {
      w.watcher = watch(dirname(logPath), (_ev, file) => {
        if (file === null || String(file) === name) this.schedule(id);
      });
      w.watcher.on('error', () => undefined);
    } catch (err) {
      this.log('warn', 'cannot watch log directory; rotation falls back to the periodic check', { id, err: String(err) });
    }
    this.schedule(id);
  }

  unwatch(id: string): void {
    const w = this.watched.get(id);
    if (!w) return;
    w.watcher?.close();
    if (w.timer) clearTimeout(w.timer);
    this.watched.delete(id);
  }

  /** Run `fn` with no rotation of `id`'s files in progress (readers open the chain this way). */
  withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(id, fn);
  }

  /** A sweep over every watched log, for events inotify dropped. */
  checkAll(): void {
    for (const id of this.watched.keys()) this.schedule(id);
  }

  close(): void {
    for (const id of [...this.watched.keys()]) this.unwatch(id);
  }

  private schedule(id: string): void {
    const w = this.watched.get(id);
    if (!w || w.timer) return;
    w.timer = setTimeout(() => {
      w.timer = undefined;
      void this.check(id);
    }, CHECK_DELAY_MS);
    w.timer.unref();
  }

  /** Rotate if the current file is at or past max-size. */
  async check(id: string): Promise<boolean> {
    const w = this.watched.get(id);
    if (!w) return false;
    return this.lock.run(id, async () => {
      let size: number;
      try {
        size = (await fs.stat(w.logPath)).size;
      } catch {
        return false;
      }
      if (size < w.limits.maxSize) return false;
      await rotateLog(w.logPath, w.ctlPath, w.limits.maxFile).catch((err: unknown) => {
        this.log('warn', 'log rotation failed', { id, err: String(err) });
      });
      return true;
    });
  }
}

/**
 * Shift `path.k` to `path.k+1` (dropping the oldest), rename `path` to
 * `path.1` and have conmon reopen `path`. With max-file 1 the renamed file
 * is deleted once conmon writes to the new one.
 */
export async function rotateLog(path: string, ctlPath: string, maxFile: number): Promise<void> {
  const keep = Math.max(1, maxFile - 1);
  await fs.rm(`${path}.${keep}`, { force: true });
  for (let k = keep - 1; k >= 1; k--) await renameIfExists(`${path}.${k}`, `${path}.${k + 1}`);
  const before = await fs.stat(path);
  await fs.rename(path, `${path}.1`);
  const reopened = await conmonReopenLogs(ctlPath);
  if (!reopened) return;
  // conmon creates the new file only once it has closed the old one.
  const deadline = Date.now() + 2000;
  for (;;) {
    const now = await fs.stat(path).catch(() => undefined);
    if (now && now.ino !== before.ino) break;
    if (Date.now() > deadline) throw new Error(`conmon did not reopen ${path}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  if (maxFile === 1) await fs.rm(`${path}.1`, { force: true });
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
