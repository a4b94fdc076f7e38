// `-u` resolution inside the container's rootfs, as Docker does it
// (moby/sys/user): name or uid, optional group, supplementary groups from
// /etc/group. Files are read without following links out of the rootfs.
import { promises as fs } from 'node:fs';
import { join, resolve, dirname } from 'node:path';

export interface ResolvedUser { uid: number; gid: number; additionalGids: number[]; home?: string }

export class UserLookupError extends Error {}

/** Resolve `rel` inside `root`, following symlinks as if `root` were `/`. */
async function readInRoot(root: string, rel: string): Promise<string | undefined> {
  let current = '/';
  const parts = rel.split('/').filter(Boolean);
  let hops = 0;
  while (parts.length) {
    const part = parts.shift()!;
    if (part === '..') {
      current = dirname(current);
      continue;
    }
    const next = join(current, part);
    let st;
    try {
      st = await fs.lstat(join(root, next));
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = await fs.readlink(join(root, next));
      parts.unshift(...target.split('/').filter(Boolean));
      current = target.startsWith('/') ? '/' : current;
      continue;
    }
    current = next;
  }
  const full = resolve(root, '.' + current);
  try {
    return await fs.readFile(full, 'utf8');
  } catch {
    return undefined;
  }
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

function parsePasswd(text: string | undefined): PasswdEntry[] {
  if (!text) return [];
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':')).filter((f) => f.length >= 4)
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' }));
}

function parseGroup(text: string | undefined): GroupEntry[] {
  if (!text) return [];
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':')).filter((f) => f.length >= 3)
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

const isNum = (s: string): boolean => /^\d+$/.test(s);

/** `--group-add`: names (from the image's /etc/group) or numbers, added to the user's groups. */
export async function resolveGroups(rootfs: string, names: string[]): Promise<number[]> {
  if (names.length === 0) return [];
  const groups = parseGroup(await readInRoot(rootfs, '/etc/group'));
  return names.map((n) => {
    if (isNum(n)) return Number(n);
    const g = groups.find((x) => x.name === n);
    if (!g) throw new UserLookupError(`Unable to find group ${n}: no matching entries in group file`);
    return g.gid;
  });
}

export async function resolveUser(rootfs: string, user: string | undefined): Promise<ResolvedUser> {
  const spec = user ?? '';
  const [userPart = '', groupPart] = spec.split(':', 2);
  const passwd = parsePasswd(await readInRoot(rootfs, '/etc/passwd'));
  const groups = parseGroup(await readInRoot(rootfs, '/etc/group'));
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name = 'root';
  if (userPart === '') {
    const root = passwd.find((p) => p.uid === 0);
    if (root) home = root.home || '/root';
    else home = '/root';
  } else if (isNum(userPart)) {
    uid = Number(userPart);
    const e = passwd.find((p) => p.uid === uid);
    if (e) {
      gid = e.gid;
      home = e.home || '/';
      name = e.name;
    } else {
      name = '';
    }
  } else {
    const e = passwd.find((p) => p.name === userPart);
    if (!e) throw new UserLookupError(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = e.uid;
    gid = e.gid;
    home = e.home || '/';
    name = e.name;
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (isNum(groupPart)) {
      gid = Number(groupPart);
    } else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new UserLookupError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  }
  const additionalGids = name
    ? groups.filter((g) => g.members.includes(name) && g.gid !== gid).map((g) => g.gid)
    : [];
  return { uid, gid, additionalGids, home };
}

/**
 * A process's supplementary groups as dockerd sets them: its primary group
 * first (so `id` lists it under groups, and getgroups(2) has it), then the
 * user's groups from /etc/group, then `--group-add`.
 */
export function supplementaryGroups(user: ResolvedUser, groupAdd: number[]): number[] {
  return [...new Set([user.gid, ...user.additionalGids, ...groupAdd])];
}
