// Container stats in Docker's JSON shape (GET /containers/{id}/stats), from
// runc's cgroup counters, which read the same on cgroup v1 and v2.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, totalmem } from 'node:os';
import type { RuntimeStats } from './runtime.js';

/** Linux's USER_HZ: /proc/stat counts in 1/100 s. */
const CLOCK_TICKS = 100;

/** Host CPU time in ns, as Docker's system_cpu_usage (the first line of /proc/stat). */
export async function systemCpuUsage(statText?: string): Promise<number> {
  const text = statText ?? readText('/proc/stat') ?? '';
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line.split(/\s+/).slice(1, 8).reduce((s, v) => s + Number(v || 0), 0);
  return Math.round((ticks * 1e9) / CLOCK_TICKS);
}

export interface NetDevStats {
  rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number;
  tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number;
}

export interface StatsSample {
  read: string;
  runtime: RuntimeStats;
  systemCpu: number;
  /** per interface of the container's namespace, loopback left out (Docker's `networks`) */
  networks?: Record<string, NetDevStats>;
}

/** /proc/PID/net/dev: the counters of the namespace PID lives in. */
export function parseNetDev(text: string): Record<string, NetDevStats> {
  const out: Record<string, NetDevStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    out[m[1]!] = {
      rx_bytes: f[0] ?? 0, rx_packets: f[1] ?? 0, rx_errors: f[2] ?? 0, rx_dropped: f[3] ?? 0,
      tx_bytes: f[8] ?? 0, tx_packets: f[9] ?? 0, tx_errors: f[10] ?? 0, tx_dropped: f[11] ?? 0,
    };
  }
  return out;
}

function cpuStats(s: StatsSample | undefined): Record<string, unknown> {
  const u = s?.runtime.cpu?.usage ?? {};
  const t = s?.runtime.cpu?.throttling ?? {};
  return {
    cpu_usage: {
      total_usage: u.total ?? 0,
      percpu_usage: u.percpu ?? [],
      usage_in_kernelmode: u.kernel ?? 0,
      usage_in_usermode: u.user ?? 0,
    },
    system_cpu_usage: s?.systemCpu ?? 0,
    online_cpus: s ? (u.percpu?.length || cpus().length) : 0,
    throttling_data: { periods: t.periods ?? 0, throttled_periods: t.throttledPeriods ?? 0, throttled_time: t.throttledTime ?? 0 },
  };
}

/** Docker's stats JSON for one sample (and the one before it, for CPU %). */
export function dockerStats(id: string, name: string, cur: StatsSample, pre: StatsSample | undefined): Record<string, unknown> {
  const mem = cur.runtime.memory ?? {};
  const host = totalmem();
  // An unlimited cgroup reports a huge number; Docker shows the machine's memory instead.
  const limit = mem.usage?.limit && mem.usage.limit < host ? mem.usage.limit : host;
  const blk = cur.runtime.blkio?.ioServiceBytesRecursive ?? [];
  return {
    read: cur.read,
    preread: pre?.read ?? '0001-01-01T00:00:00Z',
    pids_stats: { current: cur.runtime.pids?.current ?? 0, ...(cur.runtime.pids?.limit ? { limit: cur.runtime.pids.limit } : {}) },
    blkio_stats: {
      io_service_bytes_recursive: blk.map((e) => ({ major: e.major, minor: e.minor, op: e.op, value: e.value })),
      io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
      io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(cur),
    precpu_stats: cpuStats(pre),
    memory_stats: {
      usage: mem.usage?.usage ?? 0,
      max_usage: mem.usage?.max ?? 0,
      stats: mem.raw ?? {},
      failcnt: mem.usage?.failcnt ?? 0,
      limit,
    },
    ...(cur.networks ? { networks: cur.networks } : {}),
    name: `/${name}`,
    id,
  };
}

/** The numbers `docker stats` prints, computed as the docker CLI does. */
export function statsRow(s: Record<string, unknown>): { cpuPercent: number; memUsage: number; memLimit: number; memPercent: number; blockRead: number; blockWrite: number; pids: number; netRx: number; netTx: number } {
  const cpu = s.cpu_stats as { cpu_usage: { total_usage: number }; system_cpu_usage: number; online_cpus: number };
  const pre = s.precpu_stats as typeof cpu;
  const cpuDelta = cpu.cpu_usage.total_usage - pre.cpu_usage.total_usage;
  const sysDelta = cpu.system_cpu_usage - pre.system_cpu_usage;
  const cpuPercent = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * (cpu.online_cpus || 1) * 100 : 0;
  const mem = s.memory_stats as { usage: number; limit: number; stats: Record<string, number> };
  // The docker CLI leaves the page cache out: total_inactive_file on v1, inactive_file on v2.
  const cache = mem.stats.total_inactive_file ?? mem.stats.inactive_file ?? 0;
  const memUsage = Math.max(0, mem.usage - (cache < mem.usage ? cache : 0));
  const blk = (s.blkio_stats as { io_service_bytes_recursive: Array<{ op: string; value: number }> }).io_service_bytes_recursive ?? [];
  const sum = (op: string): number => blk.filter((e) => e.op.toLowerCase() === op).reduce((a, e) => a + e.value, 0);
  const nets = (s.networks ?? {}) as Record<string, { rx_bytes: number; tx_bytes: number }>;
  return {
    cpuPercent,
    memUsage,
    memLimit: mem.limit,
    memPercent: mem.limit > 0 ? (memUsage / mem.limit) * 100 : 0,
    blockRead: sum('read'),
    blockWrite: sum('write'),
    pids: (s.pids_stats as { current: number }).current ?? 0,
    netRx: Object.values(nets).reduce((a, n) => a + n.rx_bytes, 0),
    netTx: Object.values(nets).reduce((a, n) => a + n.tx_bytes, 0),
  };
}

// ---- reading the cgroup directly ------------------------------------------------
//
// `runc events --stats` costs a process per container per sample; the same
// counters are plain files. Both cgroup layouts are read; anything missing
// sends the caller back to runc.

const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * A cgroup or proc file, read synchronously: these are generated in memory
 * by the kernel and read in microseconds, while each asynchronous read is four
 * round trips through libuv's four threads — `stats` of 50 containers queued
 * ~5,000 of them behind each other.
 */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function keyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

const num = (t: string | undefined): number | undefined => {
  const v = t?.trim();
  if (!v || v === 'max') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

/** The counters of the container in cgroup `path` (e.g. `/berth/ID`), or undefined to ask runc instead. */
/** v1 or v2 per cgroup root, looked up once: the layout does not change under a running daemon. */
const unified = new Map<string, boolean>();

export async function cgroupStats(path: string, root = CGROUP_ROOT): Promise<RuntimeStats | undefined> {
  let v2 = unified.get(root);
  if (v2 === undefined) unified.set(root, (v2 = existsSync(join(root, 'cgroup.controllers'))));
  return v2 ? cgroupV2Stats(join(root, path)) : cgroupV1Stats(root, path);
}

async function cgroupV1Stats(root: string, path: string): Promise<RuntimeStats | undefined> {
  const at = (ctrl: string, file: string): string | undefined => readText(join(root, ctrl, path, file));
  const [usage, percpu, cpuStat, cpuacctStat, memUsage, memLimit, memMax, memFail, memStat, pidsCur, pidsMax, blk] = [
    at('cpuacct', 'cpuacct.usage'), at('cpuacct', 'cpuacct.usage_percpu'), at('cpu', 'cpu.stat'), at('cpuacct', 'cpuacct.stat'),
    at('memory', 'memory.usage_in_bytes'), at('memory', 'memory.limit_in_bytes'), at('memory', 'memory.max_usage_in_bytes'),
    at('memory', 'memory.failcnt'), at('memory', 'memory.stat'), at('pids', 'pids.current'), at('pids', 'pids.max'),
    at('blkio', 'blkio.throttle.io_service_bytes_recursive'),
  ];
  if (usage === undefined || memUsage === undefined) return undefined;
  const ticksToNs = 1e9 / 100;
  const acct = keyValues(cpuacctStat);
  const thr = keyValues(cpuStat);
  return {
    cpu: {
      usage: {
        total: num(usage) ?? 0,
        percpu: (percpu ?? '').trim().split(/\s+/).filter(Boolean).map(Number),
        kernel: (acct.system ?? 0) * ticksToNs,
        user: (acct.user ?? 0) * ticksToNs,
      },
      throttling: { periods: thr.nr_periods ?? 0, throttledPeriods: thr.nr_throttled ?? 0, throttledTime: thr.throttled_time ?? 0 },
    },
    memory: {
      usage: { usage: num(memUsage) ?? 0, limit: num(memLimit), max: num(memMax), failcnt: num(memFail) },
      raw: keyValues(memStat),
    },
    pids: { current: num(pidsCur) ?? 0, limit: num(pidsMax) },
    blkio: { ioServiceBytesRecursive: blkioEntries(blk) },
  };
}

function blkioEntries(text: string | undefined): Array<{ major: number; minor: number; op: string; value: number }> {
  const out: Array<{ major: number; minor: number; op: string; value: number }> = [];
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
  }
  return out;
}

async function cgroupV2Stats(dir: string): Promise<RuntimeStats | undefined> {
  const at = (file: string): string | undefined => readText(join(dir, file));
  const [cpuStat, memCur, memMax, memPeak, memStat, pidsCur, pidsMax, io] = [
    at('cpu.stat'), at('memory.current'), at('memory.max'), at('memory.peak'), at('memory.stat'), at('pids.current'), at('pids.max'), at('io.stat'),
  ];
  if (cpuStat === undefined || memCur === undefined) return undefined;
  const c = keyValues(cpuStat);
  const blk: Array<{ major: number; minor: number; op: string; value: number }> = [];
  for (const line of (io ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (.*)$/.exec(line.trim());
    if (!m) continue;
    const kv = Object.fromEntries(m[3]!.split(' ').map((p) => p.split('=')));
    blk.push({ major: Number(m[1]), minor: Number(m[2]), op: 'read', value: Number(kv.rbytes ?? 0) });
    blk.push({ major: Number(m[1]), minor: Number(m[2]), op: 'write', value: Number(kv.wbytes ?? 0) });
  }
  return {
    cpu: {
      usage: { total: (c.usage_usec ?? 0) * 1000, kernel: (c.system_usec ?? 0) * 1000, user: (c.user_usec ?? 0) * 1000 },
      throttling: { periods: c.nr_periods ?? 0, throttledPeriods: c.nr_throttled ?? 0, throttledTime: (c.throttled_usec ?? 0) * 1000 },
    },
    memory: { usage: { usage: num(memCur) ?? 0, limit: num(memMax), max: num(memPeak) }, raw: keyValues(memStat) },
    pids: { current: num(pidsCur) ?? 0, limit: num(pidsMax) },
    blkio: { ioServiceBytesRecursive: blk },
  };
}
