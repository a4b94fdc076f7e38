// `cp` on the daemon side: stat, read and write paths inside a container.
// Every path is resolved with secureJoin against the container's own root —
// /proc/PID/root of a running container (its exact view: volumes, tmpfs,
// /etc/hosts), the merged rootfs plus its mounts of a stopped one — so no
// symlink in the container, nor in the archive being written, ever reaches
// the host (the class of CVE-2018-15664 and CVE-2019-14271).
import { promises as fs, constants, type Stats } from 'node:fs';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import tarStream from 'tar-stream';
import { EngineError, InvalidParameterError, NotFoundError, SystemError } from '../lib/errors.js';
import { secureJoin } from '../lib/secure-join.js';

const execFileP = promisify(execFile);

/** A container path and where it lives on the host. */
export interface ContainerRoot {
  /** /proc/PID/root, or the mounted rootfs of a stopped container */
  root: string;
  /** mounts to honour when root is not the container's own view: destination → host source */
  mounts: { destination: string; source: string; rw: boolean }[];
  readonlyRootfs: boolean;
  running: boolean;
}

export class ForbiddenError extends EngineError {
  constructor(message: string) { super(403, message); }
}

/** Host path of `path` inside the container; the final component is followed only when asked. */
export async function resolvePath(c: ContainerRoot, path: string, followFinal = false): Promise<{ host: string; writable: boolean }> {
  const clean = posix.normalize('/' + path);
  const parent = posix.dirname(clean);
  const base = posix.basename(clean);
  const dir = await resolveDir(c, parent);
  if (!base || base === '/' || clean === '/') return dir;
  const host = posix.join(dir.host, base);
  if (!followFinal) return { host, writable: dir.writable };
  const st = await fs.lstat(host).catch(() => undefined);
  if (!st?.isSymbolicLink()) return { host, writable: dir.writable };
  const target = await fs.readlink(host);
  return resolvePath(c, target.startsWith('/') ? target : posix.join(parent, target), true);
}

async function resolveDir(c: ContainerRoot, path: string): Promise<{ host: string; writable: boolean }> {
  // First as the rootfs sees it (symlinks followed inside it), then into a mount if one covers it.
  const inRoot = await secureJoin(c.root, path);
  const rel = '/' + posix.relative(c.root, inRoot);
  const m = [...c.mounts].sort((a, b) => b.destination.length - a.destination.length)
    .find((x) => rel === x.destination || rel.startsWith(x.destination + '/'));
  if (!m) return { host: inRoot, writable: !c.readonlyRootfs };
  return { host: await secureJoin(m.source, rel.slice(m.destination.length) || '/'), writable: m.rw };
}

/** Go's os.FileMode bits, which the docker CLI decodes from the stat header. */
export function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.isDirectory()) m += 2 ** 31;
  else if (st.isSymbolicLink()) m += 2 ** 27;
  else if (st.isFIFO()) m += 2 ** 25;
  else if (st.isSocket()) m += 2 ** 24;
  else if (st.isCharacterDevice()) m += 2 ** 26 + 2 ** 21;
  else if (st.isBlockDevice()) m += 2 ** 26;
  if (st.mode & 0o4000) m += 2 ** 23;
  if (st.mode & 0o2000) m += 2 ** 22;
  if (st.mode & 0o1000) m += 2 ** 20;
  return m;
}

export interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }

export async function statPath(c: ContainerRoot, path: string, containerName: string): Promise<{ stat: PathStat; host: string }> {
  const { host } = await resolvePath(c, path);
  // The container's root is /proc/PID/root, itself a (magic) symlink: stat it, lstat everything else.
  const isRoot = posix.normalize('/' + path) === '/';
  const st = await (isRoot ? fs.stat(host) : fs.lstat(host)).catch(() => undefined);
  if (!st) throw new NotFoundError(`Could not find the file ${path} in container ${containerName}`);
  const linkTarget = st.isSymbolicLink() && !isRoot ? await fs.readlink(host) : '';
  return {
    host,
    stat: { name: posix.basename(posix.normalize('/' + path)) || '/', size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget },
  };
}

/** The X-Docker-Container-Path-Stat header value. */
export function statHeader(s: PathStat): string {
  return Buffer.from(JSON.stringify(s)).toString('base64');
}

/** A tar of `host` (a file, or a directory and everything under it) named by its base name. */
export function tarPath(host: string, out: Writable, isRoot = false): Promise<void> {
  return new Promise((resolve, reject) => {
    const [dir, name] = isRoot ? [host, '.'] : [posix.dirname(host), posix.basename(host)];
    const tar = spawn('tar', ['-C', dir, '-c', '-f', '-', '--numeric-owner', '--', name],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    tar.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    tar.stdout.pipe(out, { end: false });
    const abort = (): void => { tar.kill('SIGKILL'); };
    out.once('close', abort);
    tar.on('error', reject);
    tar.on('close', (code) => {
      out.off('close', abort);
      if (code === 0 || code === 1) resolve();
      else reject(new SystemError(`copy failed: ${err.trim()}`));
    });
  });
}

export interface ExtractOptions {
  /** keep the archive's uid/gid (`cp -a`); otherwise files belong to the container's root */
  copyUidGid: boolean;
  /** refuse to replace a directory with a non-directory or the reverse */
  noOverwriteDirNonDir: boolean;
}

function cleanEntryName(name: string): string {
  const n = posix.normalize(name).replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (n.startsWith('/') || n === '..' || n.startsWith('../')) throw new InvalidParameterError(`invalid archive entry name "${name}": it leaves the destination`);
  return n;
}

/** Unpack a tar stream into directory `dest` of the container, entry by entry. */
export async function extractInto(c: ContainerRoot, dest: string, input: Readable, o: ExtractOptions, containerName: string): Promise<void> {
  const target = await resolvePath(c, dest, true);
  const st = await fs.stat(target.host).catch(() => undefined);
  if (!st) throw new NotFoundError(`Could not find the file ${dest} in container ${containerName}`);
  if (!st.isDirectory()) throw new InvalidParameterError('extraction point is not a directory');
  if (!target.writable) throw new ForbiddenError('container rootfs is marked read-only');
  const extract = tarStream.extract();
  const destClean = posix.normalize('/' + dest);
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      // A truncated archive errors the entry stream; the extract's own error reports it.
      stream.on('error', () => undefined);
      void (async () => {
        const name = cleanEntryName(header.name);
        if (!name || name === '.') {
          stream.resume();
          return;
        }
        const containerPath = posix.join(destClean, name);
        // Parents resolved inside the container; the final component never followed.
        const { host, writable } = await resolvePath(c, containerPath);
        if (!writable) throw new ForbiddenError('container rootfs is marked read-only');
        const existing = await fs.lstat(host).catch(() => undefined);
        const isDir = header.type === 'directory';
        if (existing && o.noOverwriteDirNonDir && existing.isDirectory() !== isDir) {
          throw new InvalidParameterError(`cannot overwrite ${existing.isDirectory() ? 'directory' : 'non-directory'} "${containerPath}" with ${isDir ? 'directory' : 'non-directory'}`);
        }
        if (existing && !(isDir && existing.isDirectory())) await fs.rm(host, { recursive: true, force: true });
        const mode = (header.mode ?? 0o644) & 0o7777;
        switch (header.type) {
          case 'directory':
            if (!existing?.isDirectory()) await fs.mkdir(host, { mode });
            await fs.chmod(host, mode);
            stream.resume();
            break;
          case 'file':
          case 'contiguous-file': {
            // O_NOFOLLOW|O_EXCL: a symlink planted at the name since the rm is never written through.
            const fh = await fs.open(host, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
            try {
              for await (const chunk of stream) await fh.write(chunk as Buffer);
            } finally {
              await fh.close();
            }
            await fs.chmod(host, mode);
            break;
          }
          case 'symlink':
            await fs.symlink(header.linkname ?? '', host);
            stream.resume();
            break;
          case 'link': {
            const src = await resolvePath(c, posix.join(destClean, cleanEntryName(header.linkname ?? '')));
            await fs.link(src.host, host);
            stream.resume();
            break;
          }
          case 'fifo':
            await execFileP('mkfifo', ['-m', mode.toString(8), host]);
            stream.resume();
            break;
          case 'character-device':
          case 'block-device':
            await execFileP('mknod', ['-m', mode.toString(8), host, header.type === 'block-device' ? 'b' : 'c', String(header.devmajor ?? 0), String(header.devminor ?? 0)]);
            stream.resume();
            break;
          default:
            stream.resume();
            return;
        }
        const uid = o.copyUidGid ? header.uid ?? 0 : 0;
        const gid = o.copyUidGid ? header.gid ?? 0 : 0;
        await fs.lchown(host, uid, gid);
        if (header.type !== 'symlink' && (uid !== 0 || gid !== 0) && mode & 0o6000) await fs.chmod(host, mode);
        if (header.mtime) await fs.lutimes(host, header.mtime, header.mtime).catch(() => undefined);
      })().then(() => next(), (err: unknown) => {
        stream.resume();
        extract.destroy(err as Error);
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  await done.catch((err: unknown) => {
    if (err instanceof EngineError) throw err;
    throw new InvalidParameterError(`error extracting archive: ${(err as Error).message}`);
  });
}
