// Volumes, bind mounts and tmpfs on real containers: persistence, copy-up,
// read-only mounts, anonymous volumes and their removal, driver options,
// errors, and a symlink in the image that points outside.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { daemonWithBusybox, hasDockerCli } from './harness.js';
import { makeTar } from '../helpers/tar.js';

const d = daemonWithBusybox();

function volumeNames(): string[] {
  return d.berth(['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean);
}

describe('named volumes', () => {
  test('data written by one container is read by the next; inspect and ls show the volume', () => {
    const c = d.berth(['volume', 'create', '--label', 'app=tasks', 'task-data']);
    assert.equal(c.stdout, 'task-data\n', c.stderr);
    assert.equal(d.berth(['run', '--rm', '-v', 'task-data:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']).code, 0);
    const r = d.berth(['run', '--rm', '-v', 'task-data:/data', 'busybox', 'cat', '/data/f']);
    assert.equal(r.stdout, 'kept\n', r.stderr);
    const v = JSON.parse(d.berth(['volume', 'inspect', 'task-data']).stdout) as [{ Name: string; Driver: string; Mountpoint: string; Labels: Record<string, string>; Scope: string; CreatedAt: string }];
    assert.equal(v[0].Driver, 'local');
    assert.equal(v[0].Mountpoint, join(d.dataRoot, 'volumes', 'task-data', '_data'));
    assert.deepEqual(v[0].Labels, { app: 'tasks' });
    assert.equal(v[0].Scope, 'local');
    assert.match(v[0].CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(readFileSync(join(v[0].Mountpoint, 'f'), 'utf8'), 'kept\n');
    assert.match(d.berth(['volume', 'ls']).stdout, /^DRIVER\s+VOLUME NAME\nlocal\s+task-data\n/);
    assert.equal(d.berth(['volume', 'ls', '--filter', 'label=app=tasks', '--format', '{{.Name}}']).stdout, 'task-data\n');
    // Creating it again is not an error (Docker's create is idempotent).
    assert.equal(d.berth(['volume', 'create', 'task-data']).code, 0);
  });

  test('a new empty volume is filled with the image content it covers; nocopy and non-empty volumes are left alone', () => {
    const r = d.berth(['run', '--rm', '-v', 'etc-copy:/etc', 'busybox', 'cat', '/etc/passwd']);
    assert.match(r.stdout, /^root:/, r.stderr);
    assert.ok(existsSync(join(d.dataRoot, 'volumes', 'etc-copy', '_data', 'passwd')));
    const n = d.berth(['run', '--rm', '--mount', 'type=volume,source=etc-nocopy,target=/etc,volume-nocopy', 'busybox', 'ls', '/etc']);
    assert.doesNotMatch(n.stdout, /passwd/, n.stderr);
    assert.equal(d.berth(['run', '--rm', '-v', 'task-data:/etc', 'busybox', 'ls', '/etc/passwd']).code, 1, 'a volume with data is not copied into');
  });

  test('a volume in use cannot be removed; prune removes the unused ones', () => {
    const c = d.berth(['create', '--name', 'holder', '-v', 'task-data:/data', 'busybox', 'true']);
    assert.equal(c.code, 0, c.stderr);
    const rm = d.berth(['volume', 'rm', 'task-data']);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, new RegExp(`remove task-data: volume is in use - \\[${c.stdout.trim()}\\]`));
    assert.equal(d.berth(['volume', 'ls', '-q', '--filter', 'dangling=true']).stdout.includes('task-data'), false);
    d.berth(['rm', 'holder']);
    const missing = d.berth(['volume', 'rm', 'nosuchvolume']);
    assert.match(missing.stderr, /get nosuchvolume: no such volume/);
    assert.equal(d.berth(['volume', 'rm', '-f', 'nosuchvolume']).code, 0);
    const p = d.berth(['volume', 'prune', '-f']);
    assert.match(p.stdout, /^Deleted Volumes:\n/);
    assert.deepEqual(volumeNames(), []);
    assert.ok(!existsSync(join(d.dataRoot, 'volumes', 'task-data')));
  });

  test('bad volume names and specs get Docker\'s messages', () => {
    const bad = d.berth(['volume', 'create', 'bad/name']);
    assert.match(bad.stderr, /"bad\/name" includes invalid characters for a local volume name/);
    for (const [spec, msg] of [
      ['vol:relative', /invalid volume specification: 'vol:relative': invalid mount config for type "volume": invalid mount path: 'relative' mount path must be absolute/],
      ['vol:/x:bogus', /invalid mode: bogus/],
      ['./rel:/x', /includes invalid characters for a local volume name/],
    ] as const) {
      const r = d.berth(['run', '--rm', '-v', spec, 'busybox', 'true']);
      assert.equal(r.code, 125, spec);
      assert.match(r.stderr, msg);
    }
    const dup = d.berth(['run', '--rm', '-v', 'a1:/x', '-v', 'a2:/x', 'busybox', 'true']);
    assert.match(dup.stderr, /Duplicate mount point: \/x/);
    assert.deepEqual(volumeNames().filter((v) => v === 'a1' || v === 'a2'), [], 'a refused create leaves no volume');
  });
});

describe('anonymous volumes', () => {
  test('-v /path makes one; rm -v and --rm remove it, named volumes stay', () => {
    const before = volumeNames();
    const c = d.berth(['run', '-d', '--name', 'anon', '-v', '/scratch', '-v', 'keepme:/keep', 'busybox', 'sh', '-c', 'echo x > /scratch/f; sleep 1000']);
    assert.equal(c.code, 0, c.stderr);
    const mounts = JSON.parse(d.berth(['inspect', '-f', '{{json .Mounts}}', 'anon']).stdout) as { Type: string; Name: string; Destination: string; RW: boolean }[];
    const anon = mounts.find((m) => m.Destination === '/scratch')!;
    assert.match(anon.Name, /^[0-9a-f]{64}$/);
    assert.ok(volumeNames().includes(anon.Name));
    assert.equal(d.berth(['rm', '-f', '-v', 'anon']).code, 0);
    assert.ok(!volumeNames().includes(anon.Name));
    assert.ok(volumeNames().includes('keepme'));
    d.berth(['run', '--rm', '-v', '/scratch2', 'busybox', 'true']);
    assert.deepEqual(volumeNames().sort(), [...before, 'keepme'].sort());
    d.berth(['volume', 'rm', 'keepme']);
  });

  test('--volumes-from shares another container\'s volumes, read-only when asked', () => {
    assert.equal(d.berth(['run', '-d', '--name', 'source', '-v', 'shared:/shared', 'busybox', 'sh', '-c', 'echo hi > /shared/f; sleep 1000']).code, 0);
    const r = d.berth(['run', '--rm', '--volumes-from', 'source:ro', 'busybox', 'sh', '-c', 'cat /shared/f; touch /shared/g; echo rc=$?']);
    assert.match(r.stdout, /^hi\nrc=1\n$/);
    assert.match(r.stderr, /Read-only file system/);
    const missing = d.berth(['run', '--rm', '--volumes-from', 'nosuch', 'busybox', 'true']);
    assert.match(missing.stderr, /No such container: nosuch/);
    d.berth(['rm', '-f', 'source']);
    d.berth(['volume', 'rm', 'shared']);
  });
});

describe('bind mounts and tmpfs', () => {
  const host = mkdtempSync('/tmp/bt-bind-');

  test('-v host:/path shares files both ways; :ro refuses writes', () => {
    writeFileSync(join(host, 'in.txt'), 'from host\n');
    const r = d.berth(['run', '--rm', '-v', `${host}:/app`, 'busybox', 'sh', '-c', 'cat /app/in.txt; echo from container > /app/out.txt']);
    assert.equal(r.stdout, 'from host\n', r.stderr);
    assert.equal(readFileSync(join(host, 'out.txt'), 'utf8'), 'from container\n');
    const ro = d.berth(['run', '--rm', '-v', `${host}:/app:ro`, 'busybox', 'sh', '-c', 'touch /app/x']);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    const mro = d.berth(['run', '--rm', '--mount', `type=bind,source=${host},target=/app,readonly`, 'busybox', 'touch', '/app/y']);
    assert.match(mro.stderr, /Read-only file system/);
    const info = d.berth(['run', '-d', '--name', 'bound', '-v', `${host}:/app:ro`, 'busybox', 'sleep', '100']);
    assert.equal(info.code, 0);
    const m = JSON.parse(d.berth(['inspect', '-f', '{{json .Mounts}}', 'bound']).stdout) as Record<string, unknown>[];
    assert.deepEqual(m, [{ Type: 'bind', Source: host, Destination: '/app', Mode: 'ro', RW: false, Propagation: 'rprivate' }]);
    d.berth(['rm', '-f', 'bound']);
  });

  test('a missing source: -v creates it, --mount refuses', () => {
    const missing = join(host, 'made', 'by', 'run');
    assert.equal(d.berth(['run', '--rm', '-v', `${missing}:/x`, 'busybox', 'true']).code, 0);
    assert.ok(existsSync(missing));
    const other = join(host, 'absent');
    const r = d.berth(['run', '--rm', '--mount', `type=bind,source=${other},target=/x`, 'busybox', 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, new RegExp(`invalid mount config for type "bind": bind source path does not exist: ${other}`));
    assert.ok(!existsSync(other));
  });

  test('--tmpfs and --mount type=tmpfs are memory-backed with their size; --read-only leaves them writable', () => {
    const r = d.berth(['run', '--rm', '--read-only', '--tmpfs', '/scratch:size=1m', '--mount', 'type=tmpfs,target=/t2,tmpfs-size=2m',
      'busybox', 'sh', '-c', 'grep -E " /(scratch|t2) " /proc/mounts; echo ok > /scratch/f && cat /scratch/f; touch /rootfile; echo root=$?']);
    assert.match(r.stdout, /^tmpfs \/scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k/m, r.stderr);
    assert.match(r.stdout, /^tmpfs \/t2 tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k/m);
    assert.match(r.stdout, /ok\nroot=1\n$/);
    const bad = d.berth(['run', '--rm', '--tmpfs', '/x:bogus', 'busybox', 'true']);
    assert.match(bad.stderr, /invalid tmpfs option \["bogus"\]/);
  });

  test('a tmpfs volume is mounted while used and unmounted after', () => {
    assert.equal(d.berth(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=2m', 'memvol']).code, 0);
    const mp = join(d.dataRoot, 'volumes', 'memvol', '_data');
    assert.equal(d.berth(['run', '-d', '--name', 'memuser', '-v', 'memvol:/m', 'busybox', 'sleep', '1000']).code, 0);
    assert.ok(d.mounts().some((l) => l.includes(` ${mp} `) && l.includes('tmpfs')), 'mounted while running');
    const df = d.berth(['exec', 'memuser', 'sh', '-c', 'grep " /m " /proc/mounts']);
    assert.match(df.stdout, /tmpfs \/m tmpfs .*size=2048k/);
    d.berth(['stop', '-t', '0', 'memuser']);
    assert.ok(!d.mounts().some((l) => l.includes(` ${mp} `)), 'unmounted once nobody runs on it');
    d.berth(['rm', 'memuser']);
    d.berth(['volume', 'rm', 'memvol']);
    rmSync(host, { recursive: true, force: true });
  });
});

test('copy-up never follows an image symlink out of the container', async () => {
  const secret = mkdtempSync('/tmp/bt-secret-');
  writeFileSync(join(secret, 'host-secret'), 'do not copy\n');
  const tar = await makeTar([{ name: 'data', type: 'symlink', linkname: `/../../../../../../..${secret}` }]);
  const tarPath = join(secret, 'evil.tar');
  writeFileSync(tarPath, tar);
  assert.equal(d.berth(['import', tarPath, 'evil:1']).code, 0);
  const r = d.berth(['run', '--rm', '-v', 'trap:/data', 'evil:1', '/nothing']);
  assert.notEqual(r.code, 0);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'volumes', 'trap', '_data')).filter((f) => f === 'host-secret'), []);
  d.berth(['volume', 'rm', 'trap']);
  rmSync(secret, { recursive: true, force: true });
});

test('the docker CLI creates, uses and removes volumes', { skip: !hasDockerCli() }, () => {
  assert.equal(d.docker(['volume', 'create', 'dvol']).stdout, 'dvol\n');
  assert.equal(d.docker(['run', '--rm', '-v', 'dvol:/d', 'busybox', 'sh', '-c', 'echo 1 > /d/x']).code, 0);
  assert.equal(d.docker(['run', '--rm', '--mount', 'source=dvol,target=/d', 'busybox', 'cat', '/d/x']).stdout, '1\n');
  assert.match(d.docker(['volume', 'ls']).stdout, /local\s+dvol/);
  assert.equal(d.docker(['volume', 'rm', 'dvol']).stdout, 'dvol\n');
});

test('kill -9 of berthd with a tmpfs volume in use: the restart keeps it, rm releases it', async () => {
  assert.equal(d.berth(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', 'crashvol']).code, 0);
  assert.equal(d.berth(['run', '-d', '--name', 'crashuser', '-v', 'crashvol:/m', 'busybox', 'sh', '-c', 'echo alive > /m/f; sleep 1000']).code, 0);
  await d.kill9();
  await d.start();
  assert.equal(d.berth(['exec', 'crashuser', 'cat', '/m/f']).stdout, 'alive\n');
  assert.equal(d.berth(['rm', '-f', 'crashuser']).code, 0);
  const mp = join(d.dataRoot, 'volumes', 'crashvol', '_data');
  assert.ok(!d.mounts().some((l) => l.includes(` ${mp} `)));
  d.berth(['volume', 'rm', 'crashvol']);
});
