// The mount server makes real mount(2)/umount2(2) calls: these tests need
// root, as the whole suite does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, readlinkSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { MNT_DETACH, SyscallError, SyscallServer, MS_RDONLY, SYSCALLS, syscallServer } from '../../../src/lib/syscall-server.js';
import { isMountPoint } from '../../../src/container/rootfs.js';
import { tempDir } from '../../helpers/tmp.js';

function server(): SyscallServer {
  const s = syscallServer();
  assert.ok(s, 'perl and the system call numbers of this architecture are there');
  return s;
}

test('a tmpfs mounted and unmounted; a path with spaces, quotes and a newline arrives whole', async () => {
  const dir = tempDir('berth-syscallsrv-');
  const target = join(dir, "odd dir 'x'\nline");
  mkdirSync(target);
  await server().mount('tmpfs', target, 'tmpfs', 0, 'size=1m,mode=0700');
  assert.ok(isMountPoint(target));
  writeFileSync(join(target, 'f'), 'in tmpfs');
  await server().unmount(target);
  assert.ok(!isMountPoint(target));
  assert.ok(!existsSync(join(target, 'f')), 'the file lived in the tmpfs, not in the directory below');
});

test('an overlay, read-only and read-write, with the flags and options as given', async () => {
  const dir = tempDir('berth-syscallsrv-');
  for (const d of ['lower1', 'lower2', 'upper', 'work', 'merged', 'ro']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'lower1', 'a'), 'bottom');
  writeFileSync(join(dir, 'lower2', 'a'), 'top');
  const s = server();
  await s.mount('overlay', join(dir, 'ro'), 'overlay', MS_RDONLY, `lowerdir=${join(dir, 'lower2')}:${join(dir, 'lower1')}`);
  assert.equal(readFileSync(join(dir, 'ro', 'a'), 'utf8'), 'top');
  assert.throws(() => writeFileSync(join(dir, 'ro', 'b'), 'x'), /EROFS/);
  await s.mount('overlay', join(dir, 'merged'), 'overlay', 0,
    `lowerdir=${join(dir, 'lower1')},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`);
  writeFileSync(join(dir, 'merged', 'b'), 'written');
  assert.equal(readFileSync(join(dir, 'upper', 'b'), 'utf8'), 'written');
  await Promise.all([s.unmount(join(dir, 'ro')), s.unmount(join(dir, 'merged'))]);
  assert.ok(!isMountPoint(join(dir, 'ro')) && !isMountPoint(join(dir, 'merged')));
});

test('failures carry the errno: bad options, nothing mounted, busy; detach unmounts a busy mount', async () => {
  const dir = tempDir('berth-syscallsrv-');
  const target = join(dir, 't');
  mkdirSync(target);
  const s = server();
  await assert.rejects(s.mount('overlay', target, 'overlay', 0, 'lowerdir=/nonexistent-berth-layer'),
    (err: unknown) => err instanceof SyscallError && err.code === 'ENOENT' && /no such file/i.test(err.message));
  await assert.rejects(s.unmount(target), (err: unknown) => err instanceof SyscallError && err.code === 'EINVAL');
  await assert.rejects(s.mount('tmpfs', join(dir, 'missing'), 'tmpfs', 0, ''), (err: unknown) => err instanceof SyscallError && err.code === 'ENOENT');
  await s.mount('tmpfs', target, 'tmpfs', 0, '');
  const fd = openSync(join(target, 'held'), 'w');
  try {
    await assert.rejects(s.unmount(target), (err: unknown) => err instanceof SyscallError && err.code === 'EBUSY');
    await s.unmount(target, MNT_DETACH);
    assert.ok(!isMountPoint(target));
  } finally {
    closeSync(fd);
  }
  // The server is still there after failures.
  await s.mount('tmpfs', target, 'tmpfs', 0, '');
  await s.unmount(target);
});

test('a killed helper is replaced by the next call', async () => {
  const s = new SyscallServer(SYSCALLS[process.arch]!);
  const dir = tempDir('berth-syscallsrv-');
  await assert.rejects(s.unmount(dir), SyscallError);
  const helper = (s as unknown as { helper: { pid: number } }).helper;
  process.kill(helper.pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 50));
  await assert.rejects(s.unmount(dir), SyscallError, 'a new helper answers');
  s.close();
});

test('a NUL byte in a path is refused before anything is sent', async () => {
  await assert.rejects(server().unmount('/tmp/a\0b'), /NUL/);
});

test('createNetns binds a new network namespace with loopback up on an empty file; a missing file is an error', async () => {
  const dir = tempDir('berth-syscallsrv-');
  const path = join(dir, 'ns');
  writeFileSync(path, '');
  const s = server();
  await s.createNetns(path);
  try {
    assert.ok(isMountPoint(path));
    const inside = execFileSync('nsenter', [`--net=${path}`, 'ip', '-o', 'link'], { encoding: 'utf8' });
    assert.match(inside, /^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    assert.equal(inside.trim().split('\n').length, 1, 'nothing but loopback');
    const host = readlinkSync('/proc/self/ns/net');
    const bound = execFileSync('nsenter', [`--net=${path}`, 'readlink', '/proc/self/ns/net'], { encoding: 'utf8' }).trim();
    assert.notEqual(bound, host, 'a namespace of its own, not the host\'s');
  } finally {
    await s.unmount(path, MNT_DETACH);
  }
  assert.ok(!isMountPoint(path));
  await assert.rejects(s.createNetns(join(dir, 'missing')), (err: unknown) => err instanceof SyscallError && err.code === 'ENOENT');
});

test('mkfifo makes a FIFO with the mode asked (less the umask); an existing name is EEXIST', async () => {
  const dir = tempDir('berth-syscallsrv-');
  const path = join(dir, 'a fifo');
  await server().mkfifo(path, 0o600);
  const st = statSync(path);
  assert.ok(st.isFIFO());
  assert.equal(st.mode & 0o777, 0o600);
  await assert.rejects(server().mkfifo(path), (err: unknown) => err instanceof SyscallError && err.code === 'EEXIST');
});
