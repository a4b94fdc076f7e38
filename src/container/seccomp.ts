// Docker's seccomp profile format → the OCI runtime spec's linux.seccomp,
// filtered for one container's architecture, capabilities and kernel the
// way moby's profiles/seccomp does.
import { release } from 'node:os';
import defaultProfileJson from './seccomp-default.json' with { type: 'json' };

interface Filter { caps?: string[]; arches?: string[]; minKernel?: string }
interface DockerArg { index: number; value: number; valueTwo?: number; op: string }
interface DockerSyscall {
  names: string[];
  action: string;
  args?: DockerArg[];
  errnoRet?: number;
  comment?: string;
  includes?: Filter;
  excludes?: Filter;
}
export interface DockerSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap?: { architecture: string; subArchitectures: string[] }[];
  syscalls: DockerSyscall[];
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: { names: string[]; action: string; args?: DockerArg[]; errnoRet?: number }[];
}

export const defaultSeccompProfile = defaultProfileJson as DockerSeccompProfile;

const NODE_TO_SECCOMP: Record<string, string> = {
  x64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM', ia32: 'SCMP_ARCH_X86',
  ppc64: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X', riscv64: 'SCMP_ARCH_RISCV64',
};
// Docker's filters name architectures the Go way.
const NODE_TO_GO: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

function kernelAtLeast(kernel: string, min: string): boolean {
  const k = kernel.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const m = min.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(k.length, m.length); i++) {
    if ((k[i] ?? 0) !== (m[i] ?? 0)) return (k[i] ?? 0) > (m[i] ?? 0);
  }
  return true;
}

export function toOciSeccomp(profile: DockerSeccompProfile, o: { arch: string; capabilities: string[]; kernel?: string }): OciSeccomp {
  const native = NODE_TO_SECCOMP[o.arch] ?? o.arch;
  const goArch = NODE_TO_GO[o.arch] ?? o.arch;
  const kernel = o.kernel ?? release();
  const caps = new Set(o.capabilities);
  const architectures: string[] = [];
  for (const a of profile.archMap ?? []) {
    if (a.architecture === native) architectures.push(a.architecture, ...a.subArchitectures);
  }
  const syscalls: OciSeccomp['syscalls'] = [];
  for (const call of profile.syscalls) {
    const inc = call.includes ?? {};
    const exc = call.excludes ?? {};
    if (exc.arches?.includes(goArch)) continue;
    if (exc.caps?.some((c) => caps.has(c))) continue;
    if (exc.minKernel && kernelAtLeast(kernel, exc.minKernel)) continue;
    if (inc.arches && !inc.arches.includes(goArch)) continue;
    if (inc.caps && !inc.caps.every((c) => caps.has(c))) continue;
    if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) continue;
    const rule: OciSeccomp['syscalls'][number] = { names: call.names, action: call.action };
    if (call.args && call.args.length) rule.args = call.args.map((a) => ({ index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op }));
    if (call.errnoRet !== undefined) rule.errnoRet = call.errnoRet;
    syscalls.push(rule);
  }
  const out: OciSeccomp = { defaultAction: profile.defaultAction, architectures, syscalls };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  return out;
}
