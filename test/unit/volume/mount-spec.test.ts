import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inheritMounts, parseApiMount, parseBind, parseMountFlag, parseTmpfs, resolveMounts } from '../../../src/volume/mount-spec.js';

test('-v binds and named volumes', () => {
  assert.deepEqual(parseBind('/srv/app:/app:ro'), {
    Type: 'bind', Source: '/srv/app', Destination: '/app', Mode: 'ro', RW: false, Propagation: 'rprivate', CreateSource: true,
  });
  assert.equal(parseBind('/a:/b:rshared').Propagation, 'rshared');
  assert.deepEqual(parseBind('data:/var/lib/data/'), {
    Type: 'volume', Name: 'data', Source: '', Destination: '/var/lib/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '', NoCopy: false,
  });
  assert.equal(parseBind('data:/d:nocopy').NoCopy, true);
});

test('-v errors', () => {
  assert.throws(() => parseBind('/a'), /invalid volume specification: '\/a'/);
  assert.throws(() => parseBind('/a:/b:c:d'), /invalid volume specification/);
  assert.throws(() => parseBind('/a:b'), (e: Error) => e.message === `invalid volume specification: '/a:b': invalid mount config for type "bind": invalid mount path: 'b' mount path must be absolute`);
  assert.throws(() => parseBind('v:/'), /destination can't be '\/'/);
  assert.throws(() => parseBind('/a:/b:ro,rw'), /invalid mode: ro,rw/);
  assert.throws(() => parseBind('/a:/b:nocopy'), /invalid mode: nocopy/);
  assert.throws(() => parseBind('vol:/b:rshared'), /invalid mode: rshared/);
  assert.throws(() => parseBind('my vol:/b'), /includes invalid characters for a local volume name/);
});

test('--mount: bind, volume, tmpfs', () => {
  assert.deepEqual(parseApiMount(parseMountFlag('type=bind,src=/h,dst=/c,readonly,bind-propagation=rslave')), {
    Type: 'bind', Source: '/h', Destination: '/c', Mode: '', RW: false, Propagation: 'rslave', NonRecursive: false,
  });
  const v = parseApiMount(parseMountFlag('source=v1,target=/d,volume-nocopy'));
  assert.equal(v.Type, 'volume');
  assert.equal(v.NoCopy, true);
  assert.equal(parseApiMount(parseMountFlag('target=/anon')).Anonymous, true);
  const t = parseApiMount(parseMountFlag('type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770'));
  assert.deepEqual(t.TmpfsOptions, ['nosuid', 'nodev', 'noexec', 'size=65536k', 'mode=1770']);
});

test('--mount errors', () => {
  assert.throws(() => parseMountFlag('type=bind,bogus=1'), /unexpected key 'bogus'/);
  assert.throws(() => parseMountFlag('type=tmpfs,tmpfs-size=lots'), /invalid value for tmpfs-size/);
  assert.throws(() => parseApiMount({ Type: 'bind', Target: '/x' }), /field Source must not be empty/);
  assert.throws(() => parseApiMount({ Type: 'bind', Source: '/x' }), /field Target must not be empty/);
  assert.throws(() => parseApiMount({ Type: 'tmpfs', Source: '/x', Target: '/t' }), /field Source must not be specified/);
  assert.throws(() => parseApiMount({ Type: 'npipe', Target: '/t' }), /mount type unknown/);
  assert.throws(() => parseApiMount({ Type: 'bind', Source: '/h', Target: '/t', BindOptions: { Propagation: 'weird' } }), /invalid propagation mode: weird/);
});

test('--tmpfs: Docker\'s defaults unless the user says otherwise', () => {
  assert.deepEqual(parseTmpfs('/run', '').TmpfsOptions, ['noexec', 'nosuid', 'nodev']);
  assert.deepEqual(parseTmpfs('/run', 'exec,size=10m,mode=1777').TmpfsOptions, ['nosuid', 'nodev', 'exec', 'size=10m', 'mode=1777']);
  assert.equal(parseTmpfs('/run', 'ro').RW, false);
  assert.throws(() => parseTmpfs('/run', 'size=10m,evil=1'), /invalid tmpfs option \["evil=1"\]/);
  assert.throws(() => parseTmpfs('run', ''), /must be absolute/);
});

test('one mount per destination: explicit ones win over inherited and VOLUME ones; two explicit ones clash', () => {
  const all = resolveMounts({
    binds: ['/h:/data'], tmpfs: { '/tmp': '' }, volumes: { '/data': {}, '/cache': {} },
    inherited: [{ Type: 'volume', Name: 'x', Source: '/v', Destination: '/tmp', Mode: '', RW: true, Propagation: '' }],
  });
  assert.deepEqual(all.map((m) => `${m.Type}:${m.Destination}`), ['bind:/data', 'tmpfs:/tmp', 'volume:/cache']);
  assert.throws(() => resolveMounts({ binds: ['/a:/x'], mounts: [{ Type: 'tmpfs', Target: '/x/' }] }), /Duplicate mount point: \/x/);
});

test('--volumes-from: tmpfs not inherited, :ro and :rw override, anonymous ones are not ours to delete', () => {
  const from = [
    { Type: 'volume' as const, Name: 'a', Source: '/v/a', Destination: '/a', Mode: '', RW: true, Propagation: '', Anonymous: true },
    { Type: 'tmpfs' as const, Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' },
  ];
  const got = inheritMounts('c:ro', from);
  assert.equal(got.length, 1);
  assert.equal(got[0]!.RW, false);
  assert.equal(got[0]!.Anonymous, false);
  assert.throws(() => inheritMounts('c:xx', from), /invalid mode: xx/);
});
