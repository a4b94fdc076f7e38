import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateResources, ociResources, parseCpuset } from '../../../src/container/resources.js';

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
