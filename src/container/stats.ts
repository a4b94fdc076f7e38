// Container stats in Docker's JSON shape (GET /containers/{id}/stats), from
// runc's cgroup counters, which read the same on cgroup v1 and v2.
import { readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import type { RuntimeStats } from './runtime.js';

/** Linux's USER_HZ: /proc/stat counts in 1/100 s. */
const CLOCK_TICKS = 100;

/** Host CPU time in ns, as Docker's system_cpu_usage (the first line of /proc/stat). */
export async function systemCpuUsage(statText?: string): Promise<number> {
  const text = statText ?? await readFile('/proc/stat', 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line.split(/\s+/).slice(1, 8).reduce((s, v) => s + Number(v || 0), 0);
  return Math.round((ticks * 1e9) / CLOCK_TICKS);
}

export interface StatsSample {
  read: string;
  runtime: RuntimeStats;
  systemCpu: number;
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
