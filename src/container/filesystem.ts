// A container's filesystem as a whole: `diff` (what the overlay's upper
// directory changed against the image) and `export` (the merged tree as a
// tar stream). Both work on stopped containers too.
import { promises as fs, type Stats } from 'node:fs';
import { spawn } from 'node:child_process';
import { join, posix } from 'node:path';
import type { Writable } from 'node:stream';
import { SystemError } from '../lib/errors.js';
import { opaqueDirs } from '../image/layer-diff.js';

/** Docker's change kinds: 0 modified, 1 added, 2 deleted. */
export interface Change { Path: string; Kind: 0 | 1 | 2 }

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  return fs.lstat(p).catch(() => undefined);
}

/** Does `path` exist in the image (lowers bottom first), honouring whiteouts of upper layers? */
async function inImage(lowers: string[], path: string): Promise<boolean> {
  for (let i = lowers.length - 1; i >= 0; i--) {
    const st = await lstatOrUndefined(join(lowers[i]!, path));
    if (st) return !isWhiteout(st);
  }
  return false;
}

/**
 * The upper directory's changes against the image. `hidden` are paths Berth
 * itself put there (mount points of /etc/hosts and friends, volumes): Docker
 * keeps those in an init layer, so they never show in a diff.
 */
export async function changes(upper: string, lowers: string[], hidden: Set<string>): Promise<Change[]> {
  const out: Change[] = [];
  // A directory deleted and made again is opaque in the upper: Docker reports it deleted (D), then what is in it now.
  const opaque = await opaqueDirs(upper);
  const walk = async (rel: string): Promise<void> => {
    const names = await fs.readdir(join(upper, rel)).catch(() => [] as string[]);
    for (const name of names.sort()) {
      const path = posix.join('/', rel, name);
      const st = await lstatOrUndefined(join(upper, path));
      if (!st) continue;
      if (isWhiteout(st)) {
        out.push({ Path: path, Kind: 2 });
        continue;
      }
      const existed = await inImage(lowers, path);
      const replaced = existed && st.isDirectory() && opaque.has(path.slice(1));
      if (!hidden.has(path)) out.push({ Path: path, Kind: replaced ? 2 : existed ? 0 : 1 });
      if (st.isDirectory()) await walk(path);
    }
  };
  await walk('/');
  // A directory that changed (or appeared) only because runc made a mount point in it did not change for the user.
  return out.filter((c) => c.Kind === 2 || !isDirOnlyHolding(c.Path, out, hidden));
}

function isDirOnlyHolding(dir: string, all: Change[], hidden: Set<string>): boolean {
  const prefix = dir === '/' ? '/' : dir + '/';
  const hiddenInside = [...hidden].some((h) => h.startsWith(prefix));
  if (!hiddenInside) return false;
  return !all.some((c) => c.Path.startsWith(prefix));
}

/** `docker diff` lines. */
export function formatChange(c: Change): string {
  return `${'CAD'[c.Kind]} ${c.Path}`;
}

/** Write the tree under `root` to `out` as a tar stream, names relative to root. */
export async function tarTree(root: string, out: Writable): Promise<void> {
  const entries = await fs.readdir(root);
  await new Promise<void>((resolve, reject) => {
    const tar = spawn('tar', ['-C', root, '-c', '-f', '-', '--numeric-owner', '--xattrs', '--', ...entries.sort()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    tar.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    tar.stdout.pipe(out, { end: false });
    // A client that goes away must not leave tar blocked on a full pipe (and the container locked).
    const abort = (): void => { tar.kill('SIGKILL'); };
    out.once('close', abort);
    out.once('error', abort);
    tar.on('error', reject);
    tar.on('close', (code, signal) => {
      out.off('close', abort);
      out.off('error', abort);
      if (signal === 'SIGKILL') {
        reject(new SystemError('export aborted: the client went away'));
        return;
      }
      // 1: some files changed while being read (a running container); the archive is still whole.
      if (code === 0 || code === 1) resolve();
      else reject(new SystemError(`export failed: ${err.trim()}`));
    });
  });
}
