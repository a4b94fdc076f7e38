// GNU tar creating an archive of an explicit list of members, fed on stdin
// (NUL-separated, taken literally even when a name starts with `-`), the
// archive on stdout. Shared by the layer packer and the builder's tree
// mover, which differ only in the options they pass.
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/**
 * `tar -c` of `members` under `root` with `options` (everything but the
 * output and the list). `done` settles when tar exits: exit 1 (a file changed
 * or vanished while read) still means a whole archive.
 */
export function tarCreate(root: string, members: string[], options: string[]): { stream: Readable; done: Promise<void> } {
  // `options` come after the defaults, so a caller may choose another --format.
  const args = ['-c', '-f', '-', '-b', '1', '--format=gnu', '--numeric-owner', ...options,
    '-C', root, '--null', '--verbatim-files-from', '-T', '-'];
  const tar = spawn('tar', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  tar.stdin.on('error', () => undefined);
  tar.stdin.end(members.map((m) => `${m}\0`).join(''));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => (code === 0 || code === 1 ? resolve() : reject(new Error(stderr.trim() || `tar exited with ${code}`))));
  });
  done.catch(() => undefined);
  return { stream: tar.stdout, done };
}
