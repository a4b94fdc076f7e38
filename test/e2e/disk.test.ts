// system df and system prune against real containers, images, volumes and networks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daemonWithBusybox, hasDockerCli } from './harness.js';

const d = daemonWithBusybox();

test('system df: counts, sizes and what is reclaimable; -v lists each kind', () => {
  assert.equal(d.berth(['run', '-d', '--name', 'up', '-v', 'dfdata:/data', 'busybox', 'sleep', '600']).code, 0);
  assert.equal(d.berth(['run', '--name', 'down', 'busybox', 'sh', '-c', 'head -c 200000 /dev/zero > /junk']).code, 0);
  assert.equal(d.berth(['volume', 'create', 'dfidle']).code, 0);
  assert.equal(d.berth(['commit', 'down', 'dfimg:1']).code, 0);
  const r = d.berth(['system', 'df']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n').map((l) => l.split(/\s{2,}/));
  assert.deepEqual(lines[0], ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE']);
  assert.deepEqual(lines[1]!.slice(0, 3), ['Images', '2', '1']);
  assert.deepEqual(lines[2]!.slice(0, 4), ['Containers', '2', '1', '200kB']);
  assert.equal(lines[2]![4], '200kB (100%)');
  assert.deepEqual(lines[3]!.slice(0, 3), ['Local Volumes', '2', '1']);
  assert.deepEqual(lines[4], ['Build Cache', '0', '0', '0B', '0B']);
  const v = d.berth(['system', 'df', '-v']);
  assert.match(v.stdout, /^Images space usage:\n\nREPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+SHARED SIZE\s+UNIQUE SIZE\s+CONTAINERS\n/);
  assert.match(v.stdout, /dfimg\s+1\s+[a-f0-9]{12}/);
  assert.match(v.stdout, /Containers space usage:[\s\S]*down\n/);
  assert.match(v.stdout, /Local Volumes space usage:\n\nVOLUME NAME\s+LINKS\s+SIZE\n[\s\S]*dfdata\s+1\s+/);
  assert.equal(d.berth(['system', 'df', '--format', '{{.Type}}={{.TotalCount}}']).stdout, 'Images=2\nContainers=2\nLocal Volumes=2\nBuild Cache=0\n');
  if (hasDockerCli()) {
    const dk = d.docker(['system', 'df']);
    assert.equal(dk.code, 0, dk.stderr);
    assert.match(dk.stdout, /Images\s+2\s+1/);
  }
});

test('system prune: stopped containers, unused networks, dangling images; -a and --volumes go further', () => {
  assert.equal(d.berth(['network', 'create', 'idle-net']).code, 0);
  assert.equal(d.berth(['run', '--name', 'anon', '-v', '/scratch', 'busybox', 'true']).code, 0);
  const dangling = d.berth(['commit', 'down']).stdout.trim();
  const asked = d.berth(['system', 'prune'], { input: 'n\n' });
  assert.match(asked.stdout, /^WARNING! This will remove:\n {2}- all stopped containers\n {2}- all networks not used by at least one container\n {2}- all dangling images\n {2}- unused build cache\n\nAre you sure you want to continue\? \[y\/N\] $/);
  assert.equal(d.berth(['inspect', 'down']).code, 0, 'a no changes nothing');
  const r = d.berth(['system', 'prune', '-f']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Deleted Containers:\n[a-f0-9]{64}\n[a-f0-9]{64}\n\nDeleted Networks:\nidle-net\n\nDeleted Images:\ndeleted: sha256:[a-f0-9]{64}\n\nTotal reclaimed space: /);
  assert.match(r.stdout, new RegExp(dangling));
  assert.equal(d.berth(['inspect', 'up']).code, 0, 'running containers stay');
  assert.equal(d.berth(['image', 'inspect', 'dfimg:1']).code, 0, 'tagged images stay without -a');
  const anonVolumes = d.berth(['volume', 'ls', '-q', '--filter', 'dangling=true']).stdout.trim().split('\n').filter((n) => /^[a-f0-9]{64}$/.test(n));
  assert.equal(anonVolumes.length, 1, 'the anonymous volume outlived its container (no -v)');
  const all = d.berth(['system', 'prune', '-a', '-f', '--volumes']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /Deleted Volumes:\n(dfidle\n[a-f0-9]{64}|[a-f0-9]{64}\ndfidle)\n\n/);
  assert.match(all.stdout, /untagged: dfimg:1/);
  assert.equal(d.berth(['image', 'inspect', 'busybox']).code, 0, 'busybox is used by a running container');
  // API 1.41 semantics (Berth's API version): every unused volume goes, named ones too.
  assert.equal(d.berth(['volume', 'inspect', 'dfidle']).code, 1);
  assert.equal(d.berth(['volume', 'inspect', 'dfdata']).code, 0, 'a volume a running container uses stays');
  d.berth(['rm', '-f', 'up']);
});
