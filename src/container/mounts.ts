// A container's volumes, bind mounts and tmpfs: resolved at create (volumes
// are created then, as Docker does), turned into OCI mounts at start, with
// Docker's copy-up of image content into a new, empty volume.
import { promises as fs } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { InvalidParameterError, NotFoundError, SystemError } from '../lib/errors.js';
import { secureJoin } from '../lib/secure-join.js';
import type { VolumeService } from '../volume/service.js';
import { inheritMounts, resolveMounts, type ApiMount, type MountPoint } from '../volume/mount-spec.js';
import type { ContainerRecord } from './record.js';
import type { OciMount } from './spec.js';

const execFileP = promisify(execFile);

/** Resolve every mount a create request asks for; creates the volumes it names. */
export async function prepareMounts(
  hc: Record<string, unknown>,
  volumesConfig: Record<string, unknown> | null,
  lookup: (ref: string) => ContainerRecord | undefined,
  volumes: VolumeService,
): Promise<MountPoint[]> {
  const inherited: MountPoint[] = [];
  for (const spec of (hc.VolumesFrom as string[] | null | undefined) ?? []) {
    const name = spec.split(':')[0]!;
    const from = lookup(name);
    if (!from) throw new NotFoundError(`No such container: ${name}`);
    inherited.push(...inheritMounts(spec, from.Mounts ?? []));
  }
  const mounts = resolveMounts({
    binds: hc.Binds as string[] | null,
    mounts: hc.Mounts as ApiMount[] | null,
    tmpfs: hc.Tmpfs as Record<string, string> | null,
    volumes: volumesConfig,
    inherited,
  });
  for (const m of mounts) {
    if (m.Type === 'bind' && !m.CreateSource) {
      const ok = await fs.stat(m.Source).then(() => true, () => false);
      if (!ok) throw new InvalidParameterError(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
    }
  }
  for (const m of mounts) {
    if (m.Type !== 'volume') continue;
    const v = await volumes.create({ Name: m.Name }, !m.Name);
    m.Name = v.Name;
    m.Source = v.Mountpoint;
  }
  return mounts;
}

/** Parents before children, so a mount inside another mount lands on top of it. */
function depth(p: string): number {
  return p.split('/').filter(Boolean).length;
}

/**
 * OCI mounts for a start. `firstStart`: fill new empty volumes with what the
 * image has at the mount point (unless nocopy), as Docker does at create.
 */
export async function ociMounts(rec: ContainerRecord, rootfs: string, volumes: VolumeService, firstStart: boolean): Promise<OciMount[]> {
  const out: OciMount[] = [];
  for (const m of [...(rec.Mounts ?? [])].sort((a, b) => depth(a.Destination) - depth(b.Destination))) {
    if (m.Type === 'tmpfs') {
      out.push({ destination: m.Destination, type: 'tmpfs', source: 'tmpfs', options: m.TmpfsOptions ?? ['nosuid', 'nodev', 'noexec'] });
      continue;
    }
    let source = m.Source;
    if (m.Type === 'volume') {
      source = await volumes.acquire(m.Name!);
      if (firstStart && !m.NoCopy) await copyUp(rootfs, m.Destination, source);
    } else if (m.CreateSource) {
      // `-v /missing:/x` has always created the host directory in Docker.
      await fs.mkdir(source, { recursive: true });
    } else if (!(await fs.stat(source).then(() => true, () => false))) {
      throw new SystemError(`invalid mount config for type "bind": bind source path does not exist: ${source}`);
    }
    const options = [m.NonRecursive ? 'bind' : 'rbind', m.RW ? 'rw' : 'ro', m.Propagation || 'rprivate'];
    out.push({ destination: m.Destination, type: 'bind', source, options });
  }
  return out;
}

/** Copy the image's content at `dest` into an empty volume, ownership and modes included. */
async function copyUp(rootfs: string, dest: string, volumeDir: string): Promise<void> {
  const entries = await fs.readdir(volumeDir).catch(() => ['?']);
  if (entries.length) return;
  // The image may hold a symlink at the mount point: resolve it inside the rootfs only.
  const src = await secureJoin(rootfs, dest);
  const st = await fs.stat(src).catch(() => undefined);
  if (!st?.isDirectory()) return;
  try {
    await execFileP('cp', ['-a', `${src}/.`, `${volumeDir}/`]);
    await fs.chown(volumeDir, st.uid, st.gid);
    await fs.chmod(volumeDir, st.mode & 0o7777);
  } catch (err) {
    throw new SystemError(`failed to copy image content to volume at ${dest}: ${(err as { stderr?: string }).stderr?.trim() ?? String(err)}`);
  }
}

export async function releaseMounts(rec: ContainerRecord, volumes: VolumeService): Promise<void> {
  for (const m of rec.Mounts ?? []) if (m.Type === 'volume' && m.Name) await volumes.release(m.Name).catch(() => undefined);
}

/** `rm -v` and `--rm`: anonymous volumes go with their container; named ones stay. */
export async function removeAnonymousVolumes(rec: ContainerRecord, volumes: VolumeService): Promise<void> {
  for (const m of rec.Mounts ?? []) {
    if (m.Type === 'volume' && m.Name && m.Anonymous && volumes.isAnonymous(m.Name)) await volumes.remove(m.Name).catch(() => undefined);
  }
}

/** Docker's inspect `Mounts`: --tmpfs mounts are not listed there. */
export function inspectMounts(rec: ContainerRecord): Record<string, unknown>[] {
  return (rec.Mounts ?? []).filter((m) => !isTmpfsFlag(rec, m)).map((m) => ({
    Type: m.Type,
    ...(m.Type === 'volume' ? { Name: m.Name } : {}),
    Source: m.Source,
    Destination: m.Destination,
    ...(m.Type === 'volume' ? { Driver: m.Driver ?? 'local' } : {}),
    Mode: m.Mode,
    RW: m.RW,
    Propagation: m.Propagation,
  }));
}

function isTmpfsFlag(rec: ContainerRecord, m: MountPoint): boolean {
  const tmpfs = (rec.HostConfig as Record<string, unknown>).Tmpfs as Record<string, string> | null | undefined;
  return m.Type === 'tmpfs' && !!tmpfs && Object.keys(tmpfs).some((p) => p.replace(/(.)\/$/, '$1') === m.Destination);
}
