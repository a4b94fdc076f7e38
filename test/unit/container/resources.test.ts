import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateResources, ociResources, parseCpuset } from '../../../src/container/resources.js';
import { tempDir } from '../../helpers/tmp.js';

test('resources → OCI: Docker defaults for swap, cpus as a CFS quota', () => {
  assert.deepEqual(ociResources(validateResources({}, 2)), {});
  assert.deepEqual(ociResources(validateResources({ Memory: 64 << 20 }, 2)), { memory: { limit: 64 << 20, swap: 128 << 20 } });
  assert.deepEqual(ociResources(validateResources({ Memory: 64 << 20, MemorySwap: -1 }, 2)).memory, { limit: 64 << 20, swap: -1 });
  assert.deepEqual(ociResources(validateResources({ NanoCpus: 1.5e9, CpuShares: 256 }, 2)).cpu, { shares: 256, period: 100000, quota: 150000 });
  assert.deepEqual(ociResources(validateResources({ CpuPeriod: 50000, CpuQuota: 25000, CpusetCpus: '0' }, 2)).cpu, { period: 50000, quota: 25000, cpus: '0' });
  assert.deepEqual(ociResources(validateResources({ PidsLimit: 100 }, 2)).pids, { limit: 100 });
  assert.equal(ociResources(validateResources({ PidsLimit: -1 }, 2)).pids, undefined);
  assert.deepEqual(ociResources(validateResources({ OomKillDisable: true }, 2)).memory, { disableOOMKiller: true });
});

test('resources: Docker messages', () => {
  assert.throws(() => validateResources({ Memory: 1024 }, 2), /Minimum memory limit allowed is 6MB/);
  assert.throws(() => validateResources({ NanoCpus: 3e9 }, 2), /Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available/);
  assert.throws(() => validateResources({ NanoCpus: 1e9, CpuQuota: 5000 }, 2), /Nano CPUs and CPU Quota cannot both be set/);
  assert.throws(() => validateResources({ CpuPeriod: 10 }, 2), /CPU cfs period can not be less than 1ms/);
  assert.throws(() => validateResources({ Memory: 10 << 20, MemoryReservation: 20 << 20 }, 2), /memory reservation/);
  assert.throws(() => validateResources({ Memory: 'lots' }, 2), /cannot unmarshal string/);
  assert.deepEqual(parseCpuset('0-2,5'), [0, 1, 2, 5]);
  assert.throws(() => parseCpuset('3-1'), /Invalid value 3-1 for cpuset cpus/);
});

test('top: ps output cut down to the container pids; stats numbers as the docker CLI computes them', async () => {
  const { parsePsOutput } = await import('../../../src/container/service.js');
  const ps = 'UID   PID  PPID  CMD\nroot  10   1     sh -c sleep 5\nroot  11   10    sleep 5\nroot  99   1     other thing\n';
  assert.deepEqual(parsePsOutput(ps, new Set([10, 11])), { Titles: ['UID', 'PID', 'PPID', 'CMD'], Processes: [['root', '10', '1', 'sh -c sleep 5'], ['root', '11', '10', 'sleep 5']] });
  assert.throws(() => parsePsOutput('A B\n1 2\n', new Set()), /Couldn't find PID field/);
  const { dockerStats, statsRow, systemCpuUsage } = await import('../../../src/container/stats.js');
  assert.equal(await systemCpuUsage('cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1\n'), 10_000_000_000);
  const pre = { read: 'a', systemCpu: 1e10, runtime: { cpu: { usage: { total: 1e9, percpu: [1, 1] } } } };
  const cur = { read: 'b', systemCpu: 2e10, runtime: { cpu: { usage: { total: 3.5e9, percpu: [1, 1] } }, memory: { usage: { usage: 3 << 20, limit: 64 << 20 }, raw: { total_inactive_file: 1 << 20 } }, pids: { current: 3 } } };
  const row = statsRow(dockerStats('x', 'n', cur, pre));
  assert.equal(row.cpuPercent, 50);
  assert.deepEqual([row.memUsage, row.memLimit, row.pids], [2 << 20, 64 << 20, 3]);
});

test('stats straight from cgroup files, v1 and v2 layouts', async () => {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { cgroupStats } = await import('../../../src/container/stats.js');
  const v1 = tempDir('cg1-');
  const put = (root: string, rel: string, text: string): void => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  put(v1, 'cpuacct/berth/x/cpuacct.usage', '5000000\n');
  put(v1, 'cpuacct/berth/x/cpuacct.usage_percpu', '3000000 2000000 \n');
  put(v1, 'cpuacct/berth/x/cpuacct.stat', 'user 30\nsystem 10\n');
  put(v1, 'cpu/berth/x/cpu.stat', 'nr_periods 10\nnr_throttled 4\nthrottled_time 999\n');
  put(v1, 'memory/berth/x/memory.usage_in_bytes', '4096\n');
  put(v1, 'memory/berth/x/memory.limit_in_bytes', '9223372036854771712\n');
  put(v1, 'memory/berth/x/memory.stat', 'cache 0\ntotal_inactive_file 1024\n');
  put(v1, 'pids/berth/x/pids.current', '3\n');
  put(v1, 'pids/berth/x/pids.max', 'max\n');
  put(v1, 'blkio/berth/x/blkio.throttle.io_service_bytes_recursive', '8:0 Read 100\n8:0 Write 50\nTotal 150\n');
  const s1 = (await cgroupStats('/berth/x', v1))!;
  assert.deepEqual(s1.cpu!.usage, { total: 5000000, percpu: [3000000, 2000000], kernel: 100000000, user: 300000000 });
  assert.deepEqual(s1.cpu!.throttling, { periods: 10, throttledPeriods: 4, throttledTime: 999 });
  assert.deepEqual([s1.memory!.usage!.usage, s1.memory!.raw!.total_inactive_file, s1.pids!.current, s1.pids!.limit], [4096, 1024, 3, undefined]);
  assert.deepEqual(s1.blkio!.ioServiceBytesRecursive, [{ major: 8, minor: 0, op: 'Read', value: 100 }, { major: 8, minor: 0, op: 'Write', value: 50 }]);
  const v2 = tempDir('cg2-');
  put(v2, 'cgroup.controllers', 'cpu memory pids io\n');
  put(v2, 'berth/x/cpu.stat', 'usage_usec 7\nuser_usec 5\nsystem_usec 2\nnr_periods 3\nnr_throttled 1\nthrottled_usec 4\n');
  put(v2, 'berth/x/memory.current', '8192\n');
  put(v2, 'berth/x/memory.max', '67108864\n');
  put(v2, 'berth/x/memory.stat', 'inactive_file 512\n');
  put(v2, 'berth/x/pids.current', '2\n');
  put(v2, 'berth/x/io.stat', '8:0 rbytes=10 wbytes=20 rios=1 wios=2\n');
  const s2 = (await cgroupStats('/berth/x', v2))!;
  assert.deepEqual(s2.cpu!.usage, { total: 7000, kernel: 2000, user: 5000 });
  assert.deepEqual([s2.memory!.usage!.usage, s2.memory!.usage!.limit, s2.pids!.current], [8192, 67108864, 2]);
  assert.equal(s2.blkio!.ioServiceBytesRecursive!.find((e) => e.op === 'write')!.value, 20);
  assert.equal(await cgroupStats('/berth/missing', v1), undefined);
});
