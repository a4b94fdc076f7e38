// --security-opt, --sysctl, --ulimit, --device: parsed and checked with
// Docker's messages at create, turned into OCI spec pieces at start.
import { readFileSync, statSync } from 'node:fs';
import { InvalidParameterError } from '../lib/errors.js';
import type { DockerSeccompProfile } from './seccomp.js';

export interface SecurityOptions {
  noNewPrivileges: boolean;
  seccomp: 'default' | 'unconfined' | DockerSeccompProfile;
}

/** `no-new-privileges[:true|=true]`, `seccomp=unconfined|<profile JSON>`; AppArmor and SELinux labels are accepted and have no effect here. */
export function parseSecurityOpts(opts: string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: 'default' };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    const m = /^([a-z-]+)[=:](.*)$/s.exec(opt);
    if (!m) throw new InvalidParameterError(`Invalid --security-opt: "${opt}"`);
    const [, key, value] = m as unknown as [string, string, string];
    switch (key) {
      case 'no-new-privileges':
        if (!['true', 'false'].includes(value)) throw new InvalidParameterError(`invalid --security-opt 2: "${opt}"`);
        out.noNewPrivileges = value === 'true';
        break;
      case 'seccomp':
        if (value === 'unconfined') out.seccomp = 'unconfined';
        else {
          try {
            out.seccomp = JSON.parse(value) as DockerSeccompProfile;
          } catch (err) {
            throw new InvalidParameterError(`Decoding seccomp profile failed: ${(err as Error).message}`);
          }
        }
        break;
      case 'apparmor':
      case 'label':
        break;
      default:
        throw new InvalidParameterError(`Invalid --security-opt: "${opt}"`);
    }
  }
  return out;
}

/** Docker's namespaced sysctls: IPC ones, and net.* unless the container shares the host's network. */
export function validateSysctls(sysctls: Record<string, string> | null | undefined, networkMode: string): void {
  for (const key of Object.keys(sysctls ?? {})) {
    const ipc = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'].includes(key)
      || key.startsWith('fs.mqueue.');
    const net = key.startsWith('net.');
    if (net && networkMode === 'host') throw new InvalidParameterError(`sysctl '${key}' not allowed in host network namespace`);
    if (!ipc && !net) throw new InvalidParameterError(`sysctl '${key}' is not allowed`);
  }
}

export interface Ulimit { Name: string; Soft: number; Hard: number }

/** This process's hard limits (from /proc/self/limits): a container may not go above them without CAP_SYS_RESOURCE. */
function currentHardLimits(): Map<string, number> {
  const names: Record<string, string> = {
    'Max cpu time': 'cpu', 'Max file size': 'fsize', 'Max data size': 'data', 'Max stack size': 'stack', 'Max core file size': 'core',
    'Max resident set': 'rss', 'Max processes': 'nproc', 'Max open files': 'nofile', 'Max locked memory': 'memlock',
    'Max address space': 'as', 'Max file locks': 'locks', 'Max pending signals': 'sigpending', 'Max msgqueue size': 'msgqueue',
    'Max nice priority': 'nice', 'Max realtime priority': 'rtprio', 'Max realtime timeout': 'rttime',
  };
  const out = new Map<string, number>();
  try {
    for (const line of readFileSync('/proc/self/limits', 'utf8').split('\n').slice(1)) {
      const m = /^(.+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
      if (!m) continue;
      const name = names[m[1]!.trim()];
      if (name) out.set(name, m[3] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[3]));
    }
  } catch { /* not Linux: no check */ }
  return out;
}

const ULIMIT_NAMES = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack', 'as'];

export function validateUlimits(ulimits: Ulimit[] | null | undefined, hard = currentHardLimits()): void {
  for (const u of ulimits ?? []) {
    if (!ULIMIT_NAMES.includes(u.Name)) throw new InvalidParameterError(`invalid ulimit type: ${u.Name}`);
    if (u.Soft > u.Hard) throw new InvalidParameterError(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
    const max = hard.get(u.Name);
    if (max !== undefined && u.Hard > max) {
      // Raising a hard limit needs CAP_SYS_RESOURCE, which these hosts do not give: say so now, not at start.
      throw new InvalidParameterError(`ulimit ${u.Name}: hard limit ${u.Hard} is above the daemon's own hard limit ${max}; raising it needs CAP_SYS_RESOURCE`);
    }
  }
}

export interface DeviceMapping { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }

export interface OciDevice { path: string; type: 'c' | 'b'; major: number; minor: number; fileMode: number; uid: number; gid: number }

/** A host device for the spec: its type and numbers come from the host node. */
export interface DeviceSpec { device: OciDevice; rule: { allow: true; type: 'c' | 'b'; major: number; minor: number; access: string } }

export function deviceFor(d: DeviceMapping): DeviceSpec {
  let st;
  try {
    st = statSync(d.PathOnHost);
  } catch {
    throw new InvalidParameterError(`error gathering device information while adding custom device "${d.PathOnHost}": no such file or directory`);
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) {
    throw new InvalidParameterError(`error gathering device information while adding custom device "${d.PathOnHost}": not a device node`);
  }
  const type = st.isCharacterDevice() ? 'c' : 'b';
  // Linux dev_t: major in bits 8–19 (and above 32), minor in bits 0–7 and 20–31.
  const rdev = st.rdev;
  const major = ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
  const access = d.CgroupPermissions || 'rwm';
  if (!/^[rwm]{1,3}$/.test(access)) throw new InvalidParameterError(`invalid device mode: ${access}`);
  return {
    device: { path: d.PathInContainer || d.PathOnHost, type, major, minor, fileMode: st.mode & 0o7777, uid: 0, gid: 0 },
    rule: { allow: true, type, major, minor, access },
  };
}
