// The OCI runtime spec for a container, as moby generates it
// (oci/defaults.go + daemon/oci_linux.go): default mounts, capabilities,
// masked and read-only paths, device rules, seccomp. No rlimits unless asked:
// these hosts lack CAP_SYS_RESOURCE, and Docker sets none by default either.
import { existsSync, readFileSync } from 'node:fs';
import { InvalidParameterError } from '../lib/errors.js';
import type { DeviceSpec } from './security.js';
import { defaultSeccompProfile, toOciSeccomp, type DockerSeccompProfile, type OciSeccomp } from './seccomp.js';

export interface OciMount { destination: string; type: string; source: string; options?: string[] }

export interface SpecOptions {
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
  hostname: string;
  domainname?: string;
  tty: boolean;
  readonlyRootfs?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  noNewPrivileges?: boolean;
  seccomp?: 'default' | 'unconfined' | DockerSeccompProfile;
  /** join this network namespace; undefined → a new one with loopback only */
  netnsPath?: string;
  networkMode?: 'host' | 'none' | 'private';
  cgroupsPath: string;
  /** cgroup namespace: Docker uses one on cgroup v2 hosts */
  cgroupNs?: boolean;
  extraMounts?: OciMount[];
  shmSize?: number;
  sysctl?: Record<string, string>;
  ulimits?: { name: string; soft: number; hard: number }[];
  annotations?: Record<string, string>;
  /** memory, cpu and pids limits (OCI linux.resources without devices) */
  resources?: Record<string, unknown>;
  /** --device: nodes to create and the cgroup rules that allow them */
  devices?: DeviceSpec[];
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

function normCap(c: string): string {
  const u = c.trim().toUpperCase();
  if (u === 'ALL') return u;
  const name = u.startsWith('CAP_') ? u : `CAP_${u}`;
  if (!ALL_CAPS.includes(name)) throw new InvalidParameterError(`invalid capability: ${c}`);
  return name;
}

/** Capabilities by bit number, as the kernel numbers them. */
const CAP_BITS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

let hostCaps: string[] | undefined;

/**
 * "All capabilities" means all that berthd itself holds, as Docker does it:
 * these hosts withhold CAP_SYS_RESOURCE, and runc cannot grant what it lacks.
 */
export function allHostCaps(statusText?: string): string[] {
  if (statusText === undefined && hostCaps) return hostCaps;
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return [...ALL_CAPS];
    }
  }
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(text);
  if (!m) return [...ALL_CAPS];
  const bits = BigInt('0x' + m[1]);
  const caps = CAP_BITS.filter((_, i) => ((bits >> BigInt(i)) & 1n) === 1n);
  if (statusText === undefined) hostCaps = caps;
  return caps;
}

/** Docker's cap-add/cap-drop semantics, including ALL on either side. */
export function effectiveCaps(add: string[] = [], drop: string[] = [], privileged = false): string[] {
  if (privileged) return allHostCaps();
  const a = add.map(normCap);
  const d = drop.map(normCap);
  let caps: string[];
  if (a.includes('ALL')) caps = allHostCaps();
  else if (d.includes('ALL')) caps = [];
  else caps = [...DEFAULT_CAPS];
  if (!a.includes('ALL')) for (const c of a) if (!caps.includes(c)) caps.push(c);
  // With ALL dropped, explicitly added caps still apply (as in Docker).
  if (d.includes('ALL')) caps = a.filter((c) => c !== 'ALL');
  else caps = caps.filter((c) => !d.includes(c));
  return caps;
}

const DEVICE_ALLOW = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'b', major: -1, minor: -1, access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

export function hostUsesCgroupV2(): boolean {
  return existsSync('/sys/fs/cgroup/cgroup.controllers');
}

export interface OciSpec {
  ociVersion: string;
  process: Record<string, unknown>;
  root: { path: string; readonly: boolean };
  hostname: string;
  domainname?: string;
  mounts: OciMount[];
  linux: Record<string, unknown> & { seccomp?: OciSeccomp };
  annotations?: Record<string, string>;
}

export function generateSpec(o: SpecOptions): OciSpec {
  const caps = effectiveCaps(o.capAdd, o.capDrop, o.privileged);
  const env = [...o.env];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(`PATH=${DEFAULT_PATH}`);
  const process: Record<string, unknown> = {
    terminal: o.tty,
    user: { uid: o.user.uid, gid: o.user.gid, ...(o.user.additionalGids.length ? { additionalGids: o.user.additionalGids } : {}) },
    args: o.args,
    env,
    cwd: o.cwd || '/',
    capabilities: { bounding: caps, effective: caps, permitted: caps },
    oomScoreAdj: 0,
    noNewPrivileges: o.noNewPrivileges ?? false,
  };
  if (o.ulimits && o.ulimits.length) {
    process.rlimits = o.ulimits.map((u) => ({ type: `RLIMIT_${u.name.toUpperCase()}`, soft: u.soft, hard: u.hard }));
  }
  const shm = o.shmSize ?? 64 * 1024 * 1024;
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', o.privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', o.privileged ? 'rw' : 'ro'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${Math.floor(shm / 1024)}k`] },
    ...(o.extraMounts ?? []),
  ];
  const namespaces: { type: string; path?: string }[] = [{ type: 'mount' }];
  if (o.networkMode !== 'host') namespaces.push(o.netnsPath ? { type: 'network', path: o.netnsPath } : { type: 'network' });
  namespaces.push({ type: 'uts' }, { type: 'pid' }, { type: 'ipc' });
  if (o.cgroupNs ?? hostUsesCgroupV2()) namespaces.push({ type: 'cgroup' });
  const linux: OciSpec['linux'] = {
    namespaces,
    resources: {
      ...(o.resources ?? {}),
      devices: o.privileged ? [{ allow: true, access: 'rwm' }] : [...DEVICE_ALLOW, ...(o.devices ?? []).map((d) => d.rule)],
    },
    cgroupsPath: o.cgroupsPath,
  };
  if (!o.privileged) {
    linux.maskedPaths = MASKED_PATHS;
    linux.readonlyPaths = READONLY_PATHS;
    if (o.seccomp !== 'unconfined') {
      const profile = !o.seccomp || o.seccomp === 'default' ? defaultSeccompProfile : o.seccomp;
      linux.seccomp = toOciSeccomp(profile, { arch: globalThis.process.arch, capabilities: caps });
    }
  }
  if (o.sysctl && Object.keys(o.sysctl).length) linux.sysctl = o.sysctl;
  if (o.devices && o.devices.length) linux.devices = o.devices.map((d) => d.device);
  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process,
    root: { path: o.rootfs, readonly: o.readonlyRootfs ?? false },
    hostname: o.hostname,
    mounts,
    linux,
  };
  if (o.domainname) spec.domainname = o.domainname;
  if (o.annotations) spec.annotations = o.annotations;
  return spec;
}
