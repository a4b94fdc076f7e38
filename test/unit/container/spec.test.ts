import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { generateSpec, effectiveCaps, DEFAULT_CAPS, allHostCaps, MASKED_PATHS, type SpecOptions } from '../../../src/container/spec.js';
import { toOciSeccomp, defaultSeccompProfile } from '../../../src/container/seccomp.js';
import { resolveUser } from '../../../src/container/user.js';
import { tempDir } from '../../helpers/tmp.js';

const base: SpecOptions = {
  rootfs: '/r', args: ['sh'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] },
  hostname: 'h', tty: false, cgroupsPath: '/berth/x', cgroupNs: false,
};

test('default spec: Docker caps, no rlimits, masked paths, mounts, seccomp', () => {
  const s = generateSpec(base);
  const caps = (s.process.capabilities as { bounding: string[]; effective: string[] });
  assert.deepEqual(caps.bounding, DEFAULT_CAPS);
  assert.equal(DEFAULT_CAPS.length, 14);
  assert.equal(s.process.rlimits, undefined);
  assert.deepEqual(s.linux.maskedPaths, MASKED_PATHS);
  assert.ok((s.linux.readonlyPaths as string[]).includes('/proc/sys'));
  assert.deepEqual(s.mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
  assert.ok(s.mounts.find((m) => m.destination === '/dev/shm')!.options!.includes('size=65536k'));
  assert.ok(s.mounts.find((m) => m.destination === '/sys')!.options!.includes('ro'));
  assert.deepEqual(s.process.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  assert.equal(s.linux.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
  assert.deepEqual((s.linux.namespaces as { type: string }[]).map((n) => n.type), ['mount', 'network', 'uts', 'pid', 'ipc']);
});

test('options: PATH kept, shm size, netns path, host network, ulimits, privileged', () => {
  const s = generateSpec({ ...base, env: ['PATH=/x'], shmSize: 128 * 1024 * 1024, netnsPath: '/run/netns/a', ulimits: [{ name: 'nofile', soft: 10, hard: 20 }] });
  assert.deepEqual(s.process.env, ['PATH=/x']);
  assert.ok(s.mounts.find((m) => m.destination === '/dev/shm')!.options!.includes('size=131072k'));
  assert.deepEqual((s.linux.namespaces as { type: string; path?: string }[])[1], { type: 'network', path: '/run/netns/a' });
  assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }]);
  const host = generateSpec({ ...base, networkMode: 'host' });
  assert.ok(!(host.linux.namespaces as { type: string }[]).some((n) => n.type === 'network'));
  const p = generateSpec({ ...base, privileged: true });
  assert.deepEqual((p.process.capabilities as { bounding: string[] }).bounding, allHostCaps());
  assert.equal(p.linux.seccomp, undefined);
  assert.equal(p.linux.maskedPaths, undefined);
  assert.equal(generateSpec({ ...base, seccomp: 'unconfined' }).linux.seccomp, undefined);
});

test('cap-add and cap-drop', () => {
  assert.ok(effectiveCaps(['sys_admin']).includes('CAP_SYS_ADMIN'));
  assert.ok(!effectiveCaps([], ['NET_RAW']).includes('CAP_NET_RAW'));
  assert.deepEqual(effectiveCaps(['CAP_CHOWN'], ['ALL']), ['CAP_CHOWN']);
  assert.deepEqual(effectiveCaps(['ALL']), allHostCaps());
  assert.throws(() => effectiveCaps(['NOT_A_CAP']), /invalid capability/);
});

test('seccomp conversion follows caps, arch and kernel', () => {
  const without = toOciSeccomp(defaultSeccompProfile, { arch: 'x64', capabilities: DEFAULT_CAPS, kernel: '6.1.0' });
  const withAdmin = toOciSeccomp(defaultSeccompProfile, { arch: 'x64', capabilities: [...DEFAULT_CAPS, 'CAP_SYS_ADMIN'], kernel: '6.1.0' });
  const names = (s: typeof without): string[] => s.syscalls.flatMap((r) => r.names);
  assert.ok(!names(without).includes('mount'));
  assert.ok(names(withAdmin).includes('mount'));
  assert.deepEqual(without.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const oldKernel = toOciSeccomp(defaultSeccompProfile, { arch: 'x64', capabilities: DEFAULT_CAPS, kernel: '4.4.0' });
  assert.ok(names(without).includes('ptrace'));
  assert.ok(!names(oldKernel).includes('ptrace'));
});

test('resolveUser inside the rootfs', async () => {
  const root = tempDir('berth-user-');
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n');
  assert.deepEqual(await resolveUser(root, undefined), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
  assert.deepEqual(await resolveUser(root, 'app'), { uid: 1000, gid: 1000, additionalGids: [50], home: '/home/app' });
  assert.deepEqual(await resolveUser(root, '1000:50'), { uid: 1000, gid: 50, additionalGids: [], home: '/home/app' });
  assert.equal((await resolveUser(root, 'app:staff')).gid, 50);
  assert.equal((await resolveUser(root, '4242')).uid, 4242);
  await assert.rejects(resolveUser(root, 'ghost'), /unable to find user ghost: no matching entries in passwd file/);
  await assert.rejects(resolveUser(root, 'app:ghosts'), /unable to find group ghosts: no matching entries in group file/);
  // An absolute symlink is resolved inside the rootfs, never on the host.
  const evil = tempDir('berth-user-');
  mkdirSync(join(evil, 'etc'));
  mkdirSync(join(evil, 'host'));
  writeFileSync(join(evil, 'host/passwd'), 'inside:x:7:7::/:/bin/sh\n');
  symlinkSync('/host/passwd', join(evil, 'etc/passwd'));
  assert.equal((await resolveUser(evil, 'inside')).uid, 7);
  await assert.rejects(resolveUser(evil, 'root'), /unable to find user root/);
});

test('all capabilities are those the daemon holds (CapBnd), not the kernel list', async () => {
  const { allHostCaps } = await import('../../../src/container/spec.js');
  // bits 0, 12 and 21: CHOWN, NET_ADMIN, SYS_ADMIN
  const caps = allHostCaps('Name:\tx\nCapBnd:\t0000000000201001\n');
  assert.deepEqual(caps, ['CAP_CHOWN', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN']);
});
