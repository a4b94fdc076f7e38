// COPY and ADD into a stage's root filesystem, with Docker's rules: sources
// relative to the context (or another stage), wildcards, a directory's
// contents rather than the directory, the trailing-slash rule for the
// destination, new files owned by root unless --chown, modes kept unless
// --chmod. Destinations are resolved inside the rootfs: a symlink in the image
// never sends a write outside it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { promises as fs } from 'node:fs';
import { posix } from 'node:path';
import { secureJoin } from '../lib/secure-join.js';
import { InvalidParameterError } from '../lib/errors.js';

const execFileP = promisify(execFile);

export class CopyError extends InvalidParameterError {}

const hasWildcard = (s: string): boolean => /[*?[]/.test(s);

function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** Expand sources (relative to `root`, which is a directory on the host) to paths relative to it. */
export async function resolveSources(root: string, sources: string[], what: string): Promise<string[]> {
  const out: string[] = [];
  for (const src of sources) {
    const clean = posix.normalize('/' + src).slice(1) || '.';
    if (!hasWildcard(clean)) {
      const host = await secureJoin(root, clean);
      try {
        await fs.lstat(host);
      } catch {
        throw new CopyError(`${what} failed: file not found in build context or excluded by .dockerignore: stat ${src}: file does not exist`);
      }
      out.push(posix.relative(root, host) || '.');
      continue;
    }
    // Wildcards match one level per segment, as Go's filepath.Match.
    let matches = ['.'];
    for (const seg of clean.split('/')) {
      const next: string[] = [];
      for (const base of matches) {
        const dir = await secureJoin(root, base);
        if (!hasWildcard(seg)) {
          try {
            await fs.lstat(posix.join(dir, seg));
            next.push(posix.join(base, seg));
          } catch { /* no match here */ }
          continue;
        }
        const re = globToRegExp(seg);
        const names = await fs.readdir(dir).catch(() => [] as string[]);
        for (const n of names.sort()) if (re.test(n)) next.push(posix.join(base, n));
      }
      matches = next;
    }
    if (matches.length === 0) throw new CopyError(`${what} failed: no source files were specified`);
    out.push(...matches);
  }
  return out;
}

export interface CopyOptions {
  uid: number;
  gid: number;
  /** --chmod, applied to every copied file and directory */
  mode?: number;
}

/**
 * Copy `sources` (relative to `srcRoot`) to `dest` inside `rootfs`. `dest` is
 * absolute (already joined with WORKDIR). Returns nothing; throws CopyError
 * with Docker's message when the destination rule is broken.
 */
export async function copyInto(rootfs: string, srcRoot: string, sources: string[], dest: string, multipleGiven: boolean, opts: CopyOptions, what = 'COPY'): Promise<void> {
  const destIsDir = dest.endsWith('/') || dest.endsWith('/.');
  if ((sources.length > 1 || multipleGiven) && !destIsDir) {
    throw new CopyError(`When using ${what} with more than one source file, the destination must be a directory and end with a /`);
  }
  for (const src of sources) {
    const host = await secureJoin(srcRoot, src);
    const st = await fs.lstat(host);
    let targetDir: string;
    let targetName: string | undefined;
    if (st.isDirectory()) {
      targetDir = dest;
    } else {
      const existing = await fs.stat(await secureJoin(rootfs, dest)).catch(() => undefined);
      if (destIsDir || existing?.isDirectory()) {
        targetDir = dest;
        targetName = posix.basename(src);
      } else {
        targetDir = posix.dirname(dest);
        targetName = posix.basename(dest);
      }
    }
    const hostDir = await secureJoin(rootfs, targetDir);
    await mkdirOwned(rootfs, targetDir, opts);
    const copied: string[] = [];
    if (st.isDirectory()) {
      for (const name of await fs.readdir(host)) {
        await cp(posix.join(host, name), posix.join(hostDir, name));
        copied.push(posix.join(hostDir, name));
      }
    } else {
      // The final name is checked too: a symlink there is replaced, never followed.
      const target = posix.join(hostDir, targetName!);
      await fs.rm(target, { force: true, recursive: false }).catch(() => undefined);
      await cp(host, target);
      copied.push(target);
    }
    if (copied.length) {
      await execFileP('chown', ['-R', '-h', `${opts.uid}:${opts.gid}`, '--', ...copied]);
      if (opts.mode !== undefined) await execFileP('chmod', ['-R', opts.mode.toString(8), '--', ...copied]);
    }
  }
}

async function cp(from: string, to: string): Promise<void> {
  try {
    await execFileP('cp', ['-dR', '--preserve=mode,timestamps,links', '--', from, to], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new CopyError(`failed to copy files: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
}

/** mkdir -p inside the rootfs; the directories it creates belong to the copy's owner. */
async function mkdirOwned(rootfs: string, dir: string, opts: CopyOptions): Promise<void> {
  const parts = posix.normalize('/' + dir).split('/').filter(Boolean);
  let cur = '/';
  for (const p of parts) {
    cur = posix.join(cur, p);
    const host = await secureJoin(rootfs, cur);
    const st = await fs.stat(host).catch(() => undefined);
    if (st?.isDirectory()) continue;
    if (st) throw new CopyError(`cannot copy to non-directory: ${cur}`);
    await fs.mkdir(host, { mode: 0o755 });
    await fs.chown(host, opts.uid, opts.gid);
  }
}
