// Resource limits: Docker's HostConfig fields, checked with Docker's
// messages, and turned into the OCI spec's linux.resources (runc applies
// them on cgroup v1 and v2 alike).
import { cpus } from 'node:os';
import { InvalidParameterError } from '../lib/errors.js';

export interface ResourceConfig {
  Memory: number;
  MemorySwap: number;
  MemoryReservation: number;
  NanoCpus: number;
  CpuShares: number;
  CpuQuota: number;
  CpuPeriod: number;
  CpusetCpus: string;
  PidsLimit: number | null;
  OomKillDisable: boolean | null;
}

/** Below this the kernel cannot run a container: Docker's floor. */
const MIN_MEMORY = 6 * 1024 * 1024;

function num(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidParameterError(`json: cannot unmarshal ${typeof v} into Go struct field HostConfig.${field} of type int64`);
  return Math.trunc(v);
}

/** `0-2,4` → sorted cpu numbers; throws Docker's message when malformed. */
export function parseCpuset(spec: string): number[] {
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new InvalidParameterError(`Invalid value ${spec} for cpuset cpus`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new InvalidParameterError(`Invalid value ${spec} for cpuset cpus`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

export function validateResources(hc: Record<string, unknown>, ncpu = cpus().length): ResourceConfig {
  const r: ResourceConfig = {
    Memory: num(hc.Memory, 'Memory'),
    MemorySwap: num(hc.MemorySwap, 'MemorySwap'),
    MemoryReservation: num(hc.MemoryReservation, 'MemoryReservation'),
    NanoCpus: num(hc.NanoCpus, 'NanoCpus'),
    CpuShares: num(hc.CpuShares, 'CpuShares'),
    CpuQuota: num(hc.CpuQuota, 'CpuQuota'),
    CpuPeriod: num(hc.CpuPeriod, 'CpuPeriod'),
    CpusetCpus: typeof hc.CpusetCpus === 'string' ? hc.CpusetCpus : '',
    PidsLimit: hc.PidsLimit === undefined || hc.PidsLimit === null ? null : num(hc.PidsLimit, 'PidsLimit'),
    OomKillDisable: typeof hc.OomKillDisable === 'boolean' ? hc.OomKillDisable : null,
  };
  if (r.Memory > 0 && r.Memory < MIN_MEMORY) throw new InvalidParameterError('Minimum memory limit allowed is 6MB');
  if (r.MemorySwap > 0 && r.Memory === 0) {
    throw new InvalidParameterError('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  if (r.MemorySwap > 0 && r.MemorySwap < r.Memory) {
    throw new InvalidParameterError('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (r.Memory > 0 && r.MemoryReservation > r.Memory) {
    throw new InvalidParameterError('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  if (r.NanoCpus > 0 && (r.CpuPeriod > 0 || r.CpuQuota > 0)) {
    throw new InvalidParameterError(`Conflicting options: Nano CPUs and CPU ${r.CpuPeriod > 0 ? 'Period' : 'Quota'} cannot both be set`);
  }
  if (r.NanoCpus < 0 || r.NanoCpus > ncpu * 1e9) {
    throw new InvalidParameterError(`Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
  }
  if (r.CpuPeriod !== 0 && (r.CpuPeriod < 1000 || r.CpuPeriod > 1_000_000)) {
    throw new InvalidParameterError('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  if (r.CpuQuota !== 0 && r.CpuQuota < 1000) throw new InvalidParameterError('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if (r.CpusetCpus) {
    const want = parseCpuset(r.CpusetCpus);
    if (want.some((c) => c >= ncpu)) {
      throw new InvalidParameterError(`Requested CPUs are not available - requested ${r.CpusetCpus}, available: ${ncpu === 1 ? '0' : `0-${ncpu - 1}`}`);
    }
  }
  return r;
}

/** Docker's HostConfig fields → OCI linux.resources (devices are added by the spec). */
export function ociResources(r: ResourceConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const memory: Record<string, unknown> = {};
  if (r.Memory > 0) {
    memory.limit = r.Memory;
    // Docker: unset swap means as much swap as memory (limit+swap = 2×memory); -1 unlimited.
    memory.swap = r.MemorySwap > 0 ? r.MemorySwap : r.MemorySwap === -1 ? -1 : r.Memory * 2;
  }
  if (r.MemoryReservation > 0) memory.reservation = r.MemoryReservation;
  if (r.OomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) out.memory = memory;
  const cpu: Record<string, unknown> = {};
  if (r.CpuShares > 0) cpu.shares = r.CpuShares;
  if (r.NanoCpus > 0) {
    cpu.period = 100_000;
    cpu.quota = Math.round((r.NanoCpus * 100_000) / 1e9);
  } else {
    if (r.CpuPeriod > 0) cpu.period = r.CpuPeriod;
    if (r.CpuQuota > 0) cpu.quota = r.CpuQuota;
  }
  if (r.CpusetCpus) cpu.cpus = r.CpusetCpus;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r.PidsLimit !== null && r.PidsLimit > 0) out.pids = { limit: r.PidsLimit };
  return out;
}
