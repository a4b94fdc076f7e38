// Resource limits on real containers: applied to the cgroup, shown by
// inspect, enforced by the kernel (OOM kill), refused with Docker's messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daemonWithBusybox, hasDockerCli } from './harness.js';

const d = daemonWithBusybox();

// cgroup v1 (these hosts) mounts each controller; v2 has one unified tree.
const READ_LIMITS = 'if [ -d /sys/fs/cgroup/memory ]; then cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max; '
  + 'else cat /sys/fs/cgroup/memory.max; cut -d" " -f1 /sys/fs/cgroup/cpu.max; cat /sys/fs/cgroup/pids.max; fi';

test('memory, cpus and pids limits reach the cgroup and inspect', () => {
  const r = d.berth(['run', '--name', 'limited', '-m', '32m', '--cpus', '0.5', '--pids-limit', '50', '--cpu-shares', '512', 'busybox', 'sh', '-c', READ_LIMITS]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['33554432', '50000', '50']);
  const hc = JSON.parse(d.berth(['inspect', '-f', '{{json .HostConfig}}', 'limited']).stdout) as Record<string, unknown>;
  assert.deepEqual([hc.Memory, hc.MemorySwap, hc.NanoCpus, hc.PidsLimit, hc.CpuShares], [33554432, 0, 500000000, 50, 512]);
  assert.equal(d.berth(['rm', 'limited']).code, 0);
});

test('a container over its memory limit is OOM-killed: exit 137, OOMKilled true, an oom event', () => {
  const since = String(Math.floor(Date.now() / 1000) - 1);
  const r = d.berth(['run', '--name', 'hog', '-m', '16m', 'busybox', 'sh', '-c', 'head -c 300m /dev/zero | tail']);
  assert.equal(r.code, 137, r.stderr);
  assert.equal(d.berth(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}}', 'hog']).stdout.trim(), 'true 137');
  const ev = d.berth(['events', '--since', since, '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'event=oom', '--format', '{{.Actor.Attributes.name}}']);
  assert.equal(ev.stdout.trim(), 'hog');
  // A normal run of the same container clears the flag.
  assert.equal(d.berth(['rm', 'hog']).code, 0);
  const ok = d.berth(['run', '--name', 'fine', '-m', '16m', 'busybox', 'true']);
  assert.equal(ok.code, 0);
  assert.equal(d.berth(['inspect', '-f', '{{.State.OOMKilled}}', 'fine']).stdout.trim(), 'false');
  assert.equal(d.berth(['rm', 'fine']).code, 0);
});

test('limits out of range are refused with Docker messages, nothing created', () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['-m', '4k'], 125, /Minimum memory limit allowed is 6MB/],
    [['-m', '4x'], 125, /invalid argument "4x" for "-m, --memory" flag: invalid size: '4x'/],
    [['--cpus', '99'], 125, /Range of CPUs is from 0.01 to \d+\.00, as there are only \d+ CPUs available/],
    [['--cpus', 'lots'], 125, /failed to parse lots as a rational number/],
    [['--cpus', '1', '--cpu-period', '50000'], 125, /Conflicting options: Nano CPUs and CPU Period cannot both be set/],
    [['--memory-swap', '64m'], 125, /You should always set the Memory limit when using Memoryswap limit/],
    [['-m', '64m', '--memory-swap', '32m'], 125, /Minimum memoryswap limit should be larger than memory limit/],
    [['--cpuset-cpus', '0-999'], 125, /Requested CPUs are not available - requested 0-999/],
    [['--cpuset-cpus', 'x'], 125, /Invalid value x for cpuset cpus/],
  ];
  for (const [flags, code, re] of cases) {
    const r = d.berth(['run', '--rm', ...flags, 'busybox', 'true']);
    assert.equal(r.code, code, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  if (hasDockerCli()) {
    const r = d.docker(['run', '--rm', '-m', '4k', 'busybox', 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /Minimum memory limit allowed is 6MB/);
  }
  assert.equal(d.berth(['ps', '-aq']).stdout, '');
});

test('update changes the limits of a running container and its restart policy', () => {
  assert.equal(d.berth(['run', '-d', '--name', 'grow', '-m', '32m', 'busybox', 'sleep', '1000']).code, 0);
  const u = d.berth(['update', '-m', '64m', '--memory-swap', '128m', '--cpus', '0.25', '--pids-limit', '30', '--restart', 'on-failure:2', 'grow']);
  assert.deepEqual([u.code, u.stdout], [0, 'grow\n'], u.stderr);
  const limits = d.berth(['exec', 'grow', 'sh', '-c', READ_LIMITS]).stdout.trim().split('\n');
  assert.deepEqual(limits, ['67108864', '25000', '30']);
  assert.equal(d.berth(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'grow']).stdout.trim(),
    '67108864 250000000 on-failure 2');
  const bad = d.berth(['update', '-m', '4k', 'grow']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Minimum memory limit allowed is 6MB/);
  assert.match(d.berth(['update', 'grow']).stderr, /you must provide one or more flags/);
  if (hasDockerCli()) {
    assert.equal(d.docker(['update', '--pids-limit', '40', 'grow']).code, 0);
    assert.equal(d.berth(['exec', 'grow', 'sh', '-c', READ_LIMITS]).stdout.trim().split('\n')[2], '40');
  }
  assert.equal(d.berth(['rm', '-f', 'grow']).code, 0);
  assert.equal(d.berth(['run', '-d', '--rm', '--name', 'auto', 'busybox', 'sleep', '1000']).code, 0);
  assert.match(d.berth(['update', '--restart', 'always', 'auto']).stderr, /Restart policy cannot be updated because AutoRemove is enabled/);
  assert.equal(d.berth(['rm', '-f', 'auto']).code, 0);
});
