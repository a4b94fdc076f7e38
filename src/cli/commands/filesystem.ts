// Container filesystem commands: diff, export, cp (the copy logic lives here, as
// in the docker CLI; the daemon only stats, reads and writes archives).
import { createWriteStream } from 'node:fs';
import { lstat, stat, realpath } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { posix } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { client, CliError, out } from '../context.js';
import { EngineApiError } from '../../client/client.js';
import { humanSize } from '../../lib/units.js';

type Opts = Record<string, unknown>;

export async function diff(args: string[]): Promise<number> {
  const list = await client().json<{ Path: string; Kind: number }[] | null>('GET', `/containers/${encodeURIComponent(args[0]!)}/changes`);
  out((list ?? []).map((c) => `${'CAD'[c.Kind] ?? '?'} ${c.Path}\n`).join(''));
  return 0;
}

export async function exportCmd(args: string[], opts: Opts): Promise<number> {
  const file = opts.output as string | undefined;
  if (!file && process.stdout.isTTY) {
    throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
  }
  const res = await client().raw('GET', `/containers/${encodeURIComponent(args[0]!)}/export`);
  try {
    await pipeline(res, file ? createWriteStream(file) : process.stdout);
  } catch (e) {
    // `export c | tar -t | head`: the reader stopped early, which is not an error.
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') {
      res.destroy();
      return 0;
    }
    throw e;
  }
  return 0;
}

interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }
interface Location { container?: string; path: string }

const GO_MODE_DIR = 2 ** 31;

/** `c:/path` names a container path; anything starting with / or . is local (as the docker CLI decides). */
function splitCpArg(arg: string): Location {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const i = arg.indexOf(':');
  return i > 0 ? { container: arg.slice(0, i), path: arg.slice(i + 1) || '/' } : { path: arg };
}

function escapeRe(s: string): string {
  return s.replace(/[\\^$.*[\]/,&]/g, '\\$&');
}

async function statInContainer(container: string, path: string): Promise<PathStat | undefined> {
  try {
    const r = await client().raw('HEAD', `/containers/${encodeURIComponent(container)}/archive`, { query: { path } });
    r.resume();
    const h = r.headers['x-docker-container-path-stat'];
    return h ? JSON.parse(Buffer.from(String(h), 'base64').toString()) as PathStat : undefined;
  } catch (e) {
    // A HEAD answer has no body: any 404 reads as "not there"; the next request tells which (path or container).
    if (e instanceof EngineApiError && e.status === 404) return undefined;
    throw e;
  }
}

/** Run tar with stdin/stdout wired to streams; rejects with tar's message. */
/**
 * tar stops reading at the archive's end-of-archive blocks: the padding
 * after them may still be on its way. Unread, that rest would hold the
 * response — and its socket, and so the CLI — open forever: drain it. It is
 * unpiped from tar's stdin first. tar's 'close' can come before its stdin
 * reports the EPIPE, and that report unpipes the input — and unpiping the
 * last destination pauses a stream, which would stop the drain for good (a
 * cp hang seen in CI).
 */
export function drainAfter(input: Readable, stdin: Writable): void {
  if (input.readableEnded) return;
  input.unpipe(stdin);
  input.resume();
}

export function runTar(args: string[], input?: Readable, output?: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('tar', args, { stdio: [input ? 'pipe' : 'ignore', output ? 'pipe' : 'ignore', 'pipe'] });
    let errText = '';
    p.stderr!.on('data', (d: Buffer) => { errText += d.toString(); });
    if (input) {
      // tar may be done before its input is (see below): a write after that
      // fails with EPIPE, which tar's own exit status already tells about.
      p.stdin!.on('error', () => undefined);
      input.pipe(p.stdin!);
    }
    if (output) p.stdout!.pipe(output);
    p.on('error', reject);
    p.on('close', (code) => {
      if (input) drainAfter(input, p.stdin!);
      if (code === 0) resolve();
      else reject(new CliError(errText.trim() || `tar exited with ${code}`, 1));
    });
  });
}

export async function cp(args: string[], opts: Opts): Promise<number> {
  const src = splitCpArg(args[0]!);
  const dst = splitCpArg(args[1]!);
  if (src.container && dst.container) throw new CliError('copying between containers is not supported', 1);
  if (!src.container && !dst.container) throw new CliError('must specify at least one container source', 1);
  const copied = src.container
    ? await copyFromContainer(src.container, src.path, dst.path, opts)
    : await copyToContainer(src.path, dst.container!, dst.path, opts);
  if (process.stderr.isTTY && !opts.quiet && args[1] !== '-' && args[0] !== '-') {
    process.stderr.write(`Successfully copied ${humanSize(copied)} to ${args[1]}\n`);
  }
  return 0;
}

async function copyFromContainer(container: string, srcPath: string, dstPath: string, opts: Opts): Promise<number> {
  let path = srcPath;
  let st = await statInContainer(container, path);
  if (!st) {
    await client().inspectContainer(container); // "No such container" when that is why
    throw new CliError(`Error response from daemon: Could not find the file ${srcPath} in container ${container}`, 1);
  }
  if (opts.followLink && st.linkTarget) {
    path = st.linkTarget.startsWith('/') ? st.linkTarget : posix.join(posix.dirname(path), st.linkTarget);
    st = await statInContainer(container, path);
    if (!st) throw new CliError(`Error response from daemon: Could not find the file ${path} in container ${container}`, 1);
  }
  const get = (): Promise<Readable> => client().raw('GET', `/containers/${encodeURIComponent(container)}/archive`, { query: { path } });
  if (dstPath === '-') {
    await pipeline(await get(), process.stdout);
    return st.size;
  }
  const srcIsDir = (st.mode & GO_MODE_DIR) !== 0 || st.mode >= GO_MODE_DIR;
  const base = posix.basename(posix.normalize('/' + path)) || '.';
  const contentsOnly = /\/\.$/.test(srcPath);
  const local = await lstat(dstPath).catch(() => undefined);
  let dir: string;
  const transform: string[] = [];
  if (local?.isDirectory()) {
    dir = dstPath;
    if (contentsOnly) transform.push(`--transform=s,^${escapeRe(base)}\\(/\\|$\\),./,`);
  } else {
    if (local && srcIsDir) throw new CliError(`cannot copy a directory to a file: ${dstPath}`, 1);
    if (!local && dstPath.endsWith('/')) throw new CliError(`destination directory ${dstPath} does not exist`, 1);
    dir = posix.dirname(dstPath);
    const parent = await lstat(dir).catch(() => undefined);
    if (!parent?.isDirectory()) throw new CliError(`lstat ${dir}: no such file or directory`, 1);
    transform.push(`--transform=s,^${escapeRe(base)}\\(/\\|$\\),${escapeRe(posix.basename(dstPath))}\\1,`);
  }
  // Everything is checked before the archive is asked for: the daemon keeps a running container frozen while it streams.
  await runTar(['-x', '-f', '-', '-C', dir, '--no-overwrite-dir', ...transform], await get());
  return st.size;
}

async function copyToContainer(srcPath: string, container: string, dstPath: string, opts: Opts): Promise<number> {
  const query = (path: string): Record<string, string | undefined> => ({ path, noOverwriteDirNonDir: 'true', copyUIDGID: opts.archive ? 'true' : undefined });
  if (srcPath === '-') {
    await client().raw('PUT', `/containers/${encodeURIComponent(container)}/archive`, { query: query(dstPath), stream: process.stdin }).then((r) => r.resume());
    return 0;
  }
  const local = await (opts.followLink ? stat(srcPath) : lstat(srcPath)).catch(() => undefined);
  if (!local) throw new CliError(`lstat ${srcPath}: no such file or directory`, 1);
  const real = opts.followLink ? await realpath(srcPath) : posix.normalize(srcPath);
  const base = posix.basename(real);
  const contentsOnly = /\/\.$/.test(srcPath);
  const target = await statInContainer(container, dstPath);
  if (!target) await client().inspectContainer(container); // "No such container" when that is why
  let putDir: string;
  const transform: string[] = [];
  if (target && (target.mode & GO_MODE_DIR || target.mode >= GO_MODE_DIR)) {
    putDir = dstPath;
    if (contentsOnly) transform.push(`--transform=s,^${escapeRe(base)}\\(/\\|$\\),./,`);
    else if (base !== posix.basename(srcPath.replace(/\/+$/, ''))) transform.push(`--transform=s,^${escapeRe(base)}\\(/\\|$\\),${escapeRe(posix.basename(srcPath))}\\1,`);
  } else {
    if (target && local.isDirectory()) throw new CliError(`cannot copy a directory to a file: ${dstPath}`, 1);
    if (!target && dstPath.endsWith('/')) throw new CliError(`Error response from daemon: Could not find the file ${dstPath} in container ${container}`, 1);
    putDir = posix.dirname(posix.normalize('/' + dstPath));
    transform.push(`--transform=s,^${escapeRe(base)}\\(/\\|$\\),${escapeRe(posix.basename(dstPath))}\\1,`);
  }
  const pass = new PassThrough();
  const upload = client().raw('PUT', `/containers/${encodeURIComponent(container)}/archive`, { query: query(putDir), stream: pass });
  await Promise.all([
    runTar(['-c', '-f', '-', '-C', posix.dirname(real), '--numeric-owner', ...transform, '--', base], undefined, pass),
    upload.then((r) => r.resume()),
  ]);
  return local.size;
}

export async function commit(args: string[], opts: Opts): Promise<number> {
  const [container, repository] = args as [string, string | undefined];
  const changes = (opts.change as string[] | undefined) ?? [];
  const res = await client().json<{ Id: string }>('POST', '/commit', {
    query: {
      container,
      repo: repository,
      comment: opts.message as string | undefined,
      author: opts.author as string | undefined,
      pause: opts.pause === false ? '0' : '1',
      changes,
    },
  });
  out(`${res.Id}\n`);
  return 0;
}
