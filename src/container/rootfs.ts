// The container's root filesystem: an overlay of the image's layers (lowest
// last in lowerdir, as overlayfs wants the topmost first) under a writable
// upper directory that belongs to the container.
import { promises as fs, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SystemError } from '../lib/errors.js';
import { forkServer } from '../lib/fork-server.js';
import { MNT_DETACH, MS_RDONLY, syscallServer } from '../lib/syscall-server.js';

export interface OverlayOptions {
  /**
   * For an upper that is thrown away with the container (`--rm`): overlayfs
   * skips every sync of the upper filesystem, above all the one at unmount,
   * which waited for an ext4 journal commit (~15 ms of every `run --rm`).
   * After a host crash such an upper may be incomplete; nobody reads it again.
   */
  volatile?: boolean;
}

export async function mountOverlay(
  lowerDirsBottomFirst: string[], upper: string, work: string, target: string, opts: OverlayOptions = {},
): Promise<void> {
  await fs.mkdir(upper, { recursive: true });
  await fs.mkdir(work, { recursive: true });
  await fs.mkdir(target, { recursive: true });
  if (isMountPoint(target)) return;
  const lower = [...lowerDirsBottomFirst].reverse().join(':');
  let options = `lowerdir=${lower},upperdir=${upper},workdir=${work}`;
  if (opts.volatile) {
    // overlayfs leaves this marker after a volatile mount and refuses the next
    // mount while it exists; a throwaway upper needs no such protection.
    rmSync(join(work, 'work', 'incompat'), { recursive: true, force: true });
    options += ',volatile';
  }
  const server = syscallServer();
  if (server) {
    await server.mount('overlay', target, 'overlay', 0, options).catch((err: Error) => {
      throw new SystemError(`error mounting container rootfs: ${err.message.toLowerCase()}`);
    });
    return;
  }
  // Through the fork server, as the unmount: both are on the path of every container.
  const r = await forkServer().run(['mount', '-t', 'overlay', 'overlay', '-o', options, target]);
  if (r.code !== 0) throw new SystemError(`error mounting container rootfs: ${r.stderr || `mount exited with ${r.code}`}`);
}

/** A read-only overlay of the layers (no upper): a build reads a stage's files through it. */
export async function mountOverlayReadOnly(lowerDirsBottomFirst: string[], target: string): Promise<void> {
  await fs.mkdir(target, { recursive: true });
  const lower = [...lowerDirsBottomFirst].reverse().join(':');
  const server = syscallServer();
  if (server) {
    await server.mount('overlay', target, 'overlay', MS_RDONLY, `lowerdir=${lower}`).catch((err: Error) => {
      throw new SystemError(`error mounting read-only overlay: ${err.message.toLowerCase()}`);
    });
    return;
  }
  const r = await forkServer().run(['mount', '-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${lower}`, target]);
  if (r.code !== 0) throw new SystemError(`error mounting read-only overlay: ${r.stderr || `mount exited with ${r.code}`}`);
}

/** A tmpfs at `target` (which must exist). */
export async function mountTmpfs(target: string, options: string): Promise<void> {
  const server = syscallServer();
  if (server) return server.mount('tmpfs', target, 'tmpfs', 0, options);
  const r = await forkServer().run(['mount', '-t', 'tmpfs', '-o', options, 'tmpfs', target]);
  if (r.code !== 0) throw new SystemError(`mounting tmpfs on ${target}: ${r.stderr || `mount exited with ${r.code}`}`);
}

export async function unmount(target: string): Promise<void> {
  // No await before the request is sent: callers start this alongside other
  // teardown work, and this is the part that takes longest.
  if (!isMountPoint(target)) return;
  const server = syscallServer();
  if (server) {
    // Busy (a process still holds it): detach so it goes away when released.
    await server.unmount(target).catch(() => server.unmount(target, MNT_DETACH)).catch(() => undefined);
    return;
  }
  const r = await forkServer().run(['umount', target]).catch(() => ({ code: -1 }));
  if (r.code !== 0) await forkServer().run(['umount', '-l', target]).catch(() => undefined);
}

export function isMountPoint(path: string): boolean {
  // Read at once: a procfs read takes microseconds, but queued behind the thread pool's
  // other work it took ~10 ms of every container's teardown.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const line of mounts.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp !== undefined && unescapeMountPath(mp) === path) return true;
  }
  return false;
}

/** Every mount point under `prefix` (used by startup reconciliation). */
export async function mountsUnder(prefix: string): Promise<string[]> {
  const mounts = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const line of mounts.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp === undefined) continue;
    const p = unescapeMountPath(mp);
    if (p.startsWith(prefix + '/')) out.push(p);
  }
  return out;
}

function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
