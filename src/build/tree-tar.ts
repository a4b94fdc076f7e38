// GNU tar as the builder's mover of file trees. A COPY of a big context
// touches every file two or three times (hash it for the cache key, read it,
// write it); done from JavaScript each file costs several promise round trips
// to the thread pool, done by tar it costs a few system calls. JavaScript
// still decides *which* files (sorted, --exclude applied), and hands tar an
// explicit list.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, promises as fs, readFileSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { tarCreate } from '../lib/gnu-tar.js';

/** Contexts up to this size (uncompressed) may be packed and unpacked in memory (small-tar.ts)… */
export const SMALL_CONTEXT_BYTES = 4 << 20;
/** …and up to this many entries: each costs a few synchronous system calls. */
export const SMALL_CONTEXT_ENTRIES = 256;

export type EntryKind = 'dir' | 'file' | 'symlink' | 'other';

export interface TreeEntry {
  /** path relative to the walk's root, `/`-separated */
  rel: string;
  kind: EntryKind;
}

const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Everything under `dir` (not `dir` itself), sorted, parents before children.
 * `exclude` matches paths relative to `dir`; an excluded directory is still
 * entered when some pattern re-includes things (`!keep`), but is not listed.
 */
/** What decides exclusions: a DockerIgnore, or anything that answers the same way. */
export interface Exclusions {
  excludes(path: string): boolean;
  /** some pattern re-includes paths (`!keep`): an excluded directory may still hold included files */
  readonly hasExceptions: boolean;
}

export async function listTree(dir: string, exclude?: Exclusions): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const ents = await fs.readdir(rel ? posix.join(dir, rel) : dir, { withFileTypes: true });
    ents.sort((a, b) => byBytes(a.name, b.name));
    for (const e of ents) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      const kind: EntryKind = e.isDirectory() ? 'dir' : e.isFile() ? 'file' : e.isSymbolicLink() ? 'symlink' : 'other';
      const excluded = exclude?.excludes(path) ?? false;
      if (excluded && !(kind === 'dir' && exclude!.hasExceptions)) continue;
      if (!excluded) out.push({ rel: path, kind });
      if (kind === 'dir') await walk(path);
    }
  };
  await walk('');
  return out;
}

export interface TarOptions {
  /** every member owned by these ids */
  owner?: { uid: number; gid: number };
  /** every member's mode (--chmod) */
  mode?: number;
  /** every member's mtime, in seconds */
  mtime?: number;
}

/** A tar of exactly `members` (relative to `root`, in this order, no recursion). */
export function tarMembers(root: string, members: string[], opts: TarOptions = {}): { stream: Readable; done: Promise<void> } {
  const options = ['--no-recursion', '--warning=no-file-changed'];
  if (opts.owner) options.push(`--owner=${opts.owner.uid}`, `--group=${opts.owner.gid}`);
  if (opts.mode !== undefined) options.push(`--mode=${opts.mode.toString(8).padStart(4, '0')}`);
  if (opts.mtime !== undefined) options.push(`--mtime=@${opts.mtime}`);
  return tarCreate(root, members, options);
}

/** Unpack a tar stream into `dir` with owners and modes exactly as the archive says. */
export async function untarInto(input: Readable, dir: string): Promise<void> {
  const tar = spawn('tar', ['-x', '-f', '-', '-b', '1', '-p', '--numeric-owner', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  tar.stdin.on('error', () => undefined);
  input.on('error', (err) => tar.stdin.destroy(err));
  input.pipe(tar.stdin);
  await new Promise<void>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(stderr.trim() || `tar exited with ${code}`))));
  });
}

/**
 * The digest of what a COPY takes: names, types, modes, sizes, link targets
 * and contents, in a stable order. Owners and mtimes are left out: they
 * change on every checkout, and COPY resets owners anyway. A few small
 * files are hashed here (reading them costs less than spawning tar, which
 * is most of a rebuild with nothing changed); many or big ones through tar.
 * The two digests differ, but which one a set of files gets depends only on
 * the files, so a key stays the same as long as they do.
 */
export async function hashMembers(root: string, members: string[]): Promise<string> {
  const small = members.length <= SMALL_HASH_MEMBERS ? hashSmall(root, members) : undefined;
  if (small) return small;
  const h = createHash('sha256');
  const { stream, done } = tarMembers(root, members, { owner: { uid: 0, gid: 0 }, mtime: 0 });
  for await (const chunk of stream as AsyncIterable<Buffer>) h.update(chunk);
  await done;
  return `sha256:${h.digest('hex')}`;
}

const SMALL_HASH_MEMBERS = 64;
const SMALL_HASH_BYTES = 1 << 20;

/** The in-process digest; undefined when the files are too many or too big for it. */
function hashSmall(root: string, members: string[]): string | undefined {
  const stats = members.map((m) => lstatSync(posix.join(root, m)));
  let bytes = 0;
  for (const st of stats) if (st.isFile()) bytes += st.size;
  if (bytes > SMALL_HASH_BYTES) return undefined;
  const h = createHash('sha256').update('berth-members-v1\n');
  members.forEach((m, i) => {
    const st = stats[i]!;
    const path = posix.join(root, m);
    const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
    const data = type === 'file' ? readFileSync(path) : undefined;
    h.update(`${JSON.stringify([m, type, st.mode & 0o7777, data?.length ?? 0, type === 'symlink' ? readlinkSync(path) : '', type === 'other' ? [st.mode & 0o170000, st.rdev] : 0])}\n`);
    if (data) h.update(data);
  });
  return `sha256:${h.digest('hex')}`;
}

/**
 * A tar of exactly `members` (relative to `root`, in this order), owned by
 * root, as `tarMembers` makes it with GNU tar — made here when the files
 * are few and small (the usual build context), where spawning tar costs
 * more than the packing. Undefined when they are not, or when one is
 * neither a file, a directory nor a symlink.
 */
export async function packSmallTree(root: string, members: string[]): Promise<Buffer | undefined> {
  if (members.length > SMALL_CONTEXT_ENTRIES) return undefined;
  const stats = members.map((m) => lstatSync(posix.join(root, m)));
  let bytes = 0;
  for (const st of stats) {
    if (!st.isFile() && !st.isDirectory() && !st.isSymbolicLink()) return undefined;
    if (st.isFile()) bytes += st.size;
  }
  if (bytes > SMALL_CONTEXT_BYTES) return undefined;
  const pack = tarStream.pack();
  // Hard links as GNU tar writes them: the first name carries the content, later ones point to it.
  const firstName = new Map<string, string>();
  members.forEach((m, i) => {
    const st = stats[i]!;
    const base = { name: m, mode: st.mode & 0o7777, uid: 0, gid: 0, mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000) };
    if (st.isDirectory()) {
      pack.entry({ ...base, type: 'directory' });
    } else if (st.isSymbolicLink()) {
      pack.entry({ ...base, type: 'symlink', linkname: readlinkSync(posix.join(root, m)) });
    } else {
      const inode = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? firstName.get(inode) : undefined;
      if (first !== undefined) {
        pack.entry({ ...base, type: 'link', linkname: first });
        return;
      }
      if (st.nlink > 1) firstName.set(inode, m);
      const data = readFileSync(posix.join(root, m));
      pack.entry({ ...base, type: 'file', size: data.length }, data);
    }
  });
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
