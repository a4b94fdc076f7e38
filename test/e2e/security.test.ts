// Security and kernel options on real containers: --security-opt, --cap-*,
// --read-only, --sysctl, --ulimit, --device, --group-add, --privileged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daemonWithBusybox, hasDockerCli } from './harness.js';

const d = daemonWithBusybox();
const run = (flags: string[], script: string): { code: number; stdout: string; stderr: string } =>
  d.berth(['run', '--rm', ...flags, 'busybox', 'sh', '-c', script]);
const status = (field: string): string => `grep '^${field}:' /proc/self/status | cut -f2`;

test('seccomp and no-new-privileges: Docker default profile on, off on request', () => {
  assert.equal(run([], status('Seccomp')).stdout.trim(), '2');
  assert.equal(run([], status('NoNewPrivs')).stdout.trim(), '0');
  assert.equal(run(['--security-opt', 'seccomp=unconfined'], status('Seccomp')).stdout.trim(), '0');
  assert.equal(run(['--security-opt', 'no-new-privileges'], status('NoNewPrivs')).stdout.trim(), '1');
  assert.equal(run(['--security-opt', 'no-new-privileges:true'], status('NoNewPrivs')).stdout.trim(), '1');
  assert.equal(run(['--privileged'], status('Seccomp')).stdout.trim(), '0');
  const bad = run(['--security-opt', 'bogus'], 'true');
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /Invalid --security-opt: "bogus"/);
});

test('capabilities: the default set, --cap-add, --cap-drop, --read-only', () => {
  // CAP_NET_ADMIN (12) is not in Docker's default set; CAP_CHOWN (0) is.
  const eff = (flags: string[]): bigint => BigInt('0x' + run(flags, status('CapEff')).stdout.trim());
  const has = (caps: bigint, bit: number): boolean => ((caps >> BigInt(bit)) & 1n) === 1n;
  assert.equal(has(eff([]), 12), false);
  assert.equal(has(eff([]), 0), true);
  assert.equal(has(eff(['--cap-add', 'NET_ADMIN']), 12), true);
  assert.equal(has(eff(['--cap-drop', 'CHOWN']), 0), false);
  assert.equal(run(['--cap-drop', 'CHOWN'], 'touch /x && chown 1:1 /x').code, 1);
  const ro = run(['--read-only'], 'touch /x');
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);
  assert.equal(run(['--read-only'], 'touch /dev/shm/x').code, 0, '/dev/shm stays writable');
});

test('--sysctl, --ulimit, --group-add and --device reach the container; refused values say why', () => {
  assert.equal(run(['--sysctl', 'net.ipv4.ip_forward=1'], 'cat /proc/sys/net/ipv4/ip_forward').stdout.trim(), '1');
  assert.equal(run(['--sysctl', 'kernel.shmmax=123456789'], 'cat /proc/sys/kernel/shmmax').stdout.trim(), '123456789');
  const vm = run(['--sysctl', 'vm.swappiness=1'], 'true');
  assert.equal(vm.code, 125);
  assert.match(vm.stderr, /sysctl 'vm.swappiness' is not allowed/);
  assert.equal(run(['--ulimit', 'nofile=512:1024'], 'ulimit -n; ulimit -Hn').stdout, '512\n1024\n');
  const high = run(['--ulimit', 'nofile=99999999:99999999'], 'true');
  assert.equal(high.code, 125);
  assert.match(high.stderr, /needs CAP_SYS_RESOURCE/);
  assert.match(run(['--ulimit', 'nofile=10:5'], 'true').stderr, /soft limit must be less than or equal to hard limit/);
  assert.match(run(['--group-add', '1234', '--group-add', 'daemon'], 'id -G').stdout, /\b1234\b/);
  const unknown = run(['--group-add', 'nosuchgroup'], 'true');
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /Unable to find group nosuchgroup/);
  const dev = run(['--device', '/dev/null:/dev/mynull'], 'ls -l /dev/mynull; echo hi > /dev/mynull && echo wrote');
  assert.match(dev.stdout, /^c.* 1,\s+3 .*\/dev\/mynull\nwrote\n$/);
  const missing = run(['--device', '/dev/nosuchdevice'], 'true');
  // "no such file or directory" in a run error is exit 127 for the docker CLI too.
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /error gathering device information while adding custom device "\/dev\/nosuchdevice"/);
  if (hasDockerCli()) {
    const r = d.docker(['run', '--rm', '--ulimit', 'nofile=256:512', '--sysctl', 'net.ipv4.ip_forward=1', 'busybox', 'sh', '-c', 'ulimit -n; cat /proc/sys/net/ipv4/ip_forward']);
    assert.equal(r.stdout, '256\n1\n', r.stderr);
  }
  assert.equal(d.berth(['ps', '-aq']).stdout, '');
});
