// Git repositories as build contexts: `berth build https://host/repo.git#ref:dir`
// (also `git://…`, `git@host:repo.git`, `github.com/…`). The `git` binary
// clones (shallow when the ref is a name; whole then checked out when it is a
// commit), submodules included; `#ref` picks a branch, tag or commit and
// `:dir` a directory inside the repository as the context. The `.git`
// directory is not part of the context, as with BuildKit.
import { execFile, type ExecFileOptions } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { secureJoin } from '../lib/secure-join.js';

/**
 * execFile as a promise, made when called: the berth CLI loads this module
 * for every build, and reading `execFile` at load time would load
 * child_process (~5 ms) for the builds that have no git context.
 */
function execFileP(file: string, args: string[], options: ExecFileOptions): Promise<unknown> {
  return promisify(execFile)(file, args, options);
}

export class GitContextError extends Error {}

/** Docker's rule for what is a git URL rather than a plain download. */
export function isGitUrl(s: string): boolean {
  if (/^git:\/\//.test(s) || s.startsWith('git@') || s.startsWith('github.com/')) return true;
  return /^https?:\/\//.test(s) && /\.git(#.*)?$/.test(s);
}

export interface GitRef { remote: string; ref?: string; subdir?: string }

/** `url#ref:subdir` into its parts (the fragment splits at its first `:`). */
export function parseGitUrl(url: string): GitRef {
  const hash = url.indexOf('#');
  let remote = hash < 0 ? url : url.slice(0, hash);
  const fragment = hash < 0 ? '' : url.slice(hash + 1);
  if (remote.startsWith('github.com/')) remote = `https://${remote}`;
  const colon = fragment.indexOf(':');
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? '' : fragment.slice(colon + 1);
  return { remote, ...(ref ? { ref } : {}), ...(subdir ? { subdir } : {}) };
}

async function git(args: string[], cwd?: string): Promise<void> {
  try {
    // Never ask for a password on a terminal: a private repository fails instead.
    await execFileP('git', args, { ...(cwd ? { cwd } : {}), env: { ...process.env, GIT_TERMINAL_PROMPT: '0' }, maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new GitContextError('unable to prepare context: unable to find \'git\': exec: "git": executable file not found in $PATH');
    throw new GitContextError(`unable to prepare context: unable to 'git clone' to temporary context directory: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** Clone `url` into `dest` (which must not exist); returns the context directory inside it. */
export async function cloneGitContext(url: string, dest: string): Promise<string> {
  const { remote, ref, subdir } = parseGitUrl(url);
  if (ref && /^[0-9a-f]{7,40}$/.test(ref)) {
    await git(['clone', '-q', '--recurse-submodules', '--', remote, dest]);
    await git(['checkout', '-q', ref], dest);
    await git(['submodule', 'update', '-q', '--init', '--recursive'], dest);
  } else {
    await git(['clone', '-q', '--depth', '1', '--recurse-submodules', '--shallow-submodules', ...(ref ? ['--branch', ref] : []), '--', remote, dest]);
  }
  await fs.rm(`${dest}/.git`, { recursive: true, force: true });
  if (!subdir) return dest;
  const dir = await secureJoin(dest, subdir);
  const st = await fs.stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new GitContextError(`unable to prepare context: subdirectory "${subdir}" not found in ${remote}`);
  return dir;
}
