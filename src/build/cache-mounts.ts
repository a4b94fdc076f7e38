// `RUN --mount=type=cache` directories: one per cache id, kept across builds
// under DATA/build/cache-mounts, each with a small record beside it (its id,
// when it was made and last used, how often). They are what `system df`
// shows as build cache (BuildKit's `exec.cachemount` records; the step cache
// itself is made of images, counted with the images) and what
// `builder prune` empties.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readJson, writeJsonAtomic } from '../lib/atomic.js';

const execFileP = promisify(execFile);

interface CacheMountMeta { id: string; createdAt: string; lastUsedAt: string; usageCount: number }

/** The Engine API's BuildCache record. */
export interface BuildCacheRecord {
  ID: string;
  Parents: string[] | null;
  Type: string;
  Description: string;
  InUse: boolean;
  Shared: boolean;
  Size: number;
  CreatedAt: string;
  LastUsedAt: string | null;
  UsageCount: number;
}

/** Directories a running step has mounted: never pruned, shown as active. Shared by every build of this daemon. */
const inUse = new Map<string, number>();

export class CacheMounts {
  constructor(readonly root: string) {}

  private dirOf(id: string): string {
    return join(this.root, createHash('sha256').update(id).digest('hex').slice(0, 32));
  }

  /**
   * The directory for cache `id`, created on first use (owner and mode then),
   * marked in use until `release` is called.
   */
  async acquire(id: string, init: { uid: number; gid: number; mode?: number }): Promise<{ dir: string; release(): void }> {
    const dir = this.dirOf(id);
    const fresh = !(await fs.stat(dir).catch(() => undefined));
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    if (fresh) {
      if (init.mode !== undefined) await fs.chmod(dir, init.mode);
      await fs.chown(dir, init.uid, init.gid);
    }
    const now = new Date().toISOString();
    const old = await readJson<CacheMountMeta>(`${dir}.json`).catch(() => undefined);
    await writeJsonAtomic(`${dir}.json`, { id, createdAt: old?.createdAt ?? now, lastUsedAt: now, usageCount: (old?.usageCount ?? 0) + 1 });
    inUse.set(dir, (inUse.get(dir) ?? 0) + 1);
    let released = false;
    return {
      dir,
      release: () => {
        if (released) return;
        released = true;
        const n = (inUse.get(dir) ?? 1) - 1;
        if (n > 0) inUse.set(dir, n);
        else inUse.delete(dir);
      },
    };
  }

  async list(): Promise<BuildCacheRecord[]> {
    const names = await fs.readdir(this.root).catch(() => [] as string[]);
    const out: BuildCacheRecord[] = [];
    for (const name of names.filter((n) => /^[a-f0-9]{32}$/.test(n)).sort()) {
      const dir = join(this.root, name);
      const st = await fs.stat(dir).catch(() => undefined);
      if (!st) continue;
      const meta = await readJson<CacheMountMeta>(`${dir}.json`).catch(() => undefined);
      out.push({
        ID: name,
        Parents: null,
        Type: 'exec.cachemount',
        Description: `cached mount ${meta?.id ?? name}`,
        InUse: inUse.has(dir),
        Shared: false,
        Size: await diskSize(dir),
        CreatedAt: meta?.createdAt ?? st.birthtime.toISOString(),
        LastUsedAt: meta?.lastUsedAt ?? null,
        UsageCount: meta?.usageCount ?? 0,
      });
    }
    return out;
  }

  /** Remove every cache directory no running step uses; returns what went and the bytes freed. */
  async prune(): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const rec of await this.list()) {
      if (rec.InUse) continue;
      const dir = join(this.root, rec.ID);
      await fs.rm(dir, { recursive: true, force: true });
      await fs.rm(`${dir}.json`, { force: true });
      deleted.push(rec.ID);
      reclaimed += rec.Size;
    }
    return { deleted, reclaimed };
  }
}

/** Bytes a directory tree takes, as `du` counts them (one native walk). */
async function diskSize(dir: string): Promise<number> {
  try {
    const { stdout } = await execFileP('du', ['-s', '-B1', dir]);
    return Number(stdout.split('\t')[0]) || 0;
  } catch {
    return 0;
  }
}
