// Resolve a path inside a root directory the way the container would see it:
// symlinks are followed, but every one of them — absolute or full of `..` —
// is evaluated against the root, never the host. The same idea as Go's
// securejoin, which Docker and runc use after CVE-2018-15664.
import { promises as fs } from 'node:fs';
import { posix } from 'node:path';

const MAX_LINKS = 255;

export class SymlinkLoopError extends Error {}

/**
 * The host path of `unsafePath` inside `root`. Missing components are kept
 * as they are (the result may not exist). The result always lies under root.
 */
export async function secureJoin(root: string, unsafePath: string): Promise<string> {
  const pending = posix.normalize('/' + unsafePath).split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const hostPath = posix.join(root, ...resolved, part);
    let target: string | undefined;
    try {
      const st = await fs.lstat(hostPath);
      if (st.isSymbolicLink()) target = await fs.readlink(hostPath);
    } catch {
      // Missing: the rest is taken literally (still clamped by the `..` handling).
    }
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new SymlinkLoopError(`too many levels of symbolic links: ${unsafePath}`);
    // An absolute target restarts at the root; a relative one at the link's directory.
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return posix.join(root, ...resolved);
}
