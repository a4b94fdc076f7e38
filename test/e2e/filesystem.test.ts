// diff, export and cp against real containers, running and stopped, and cp's
// defences: symlinks in the container or in an archive never reach the host.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, existsSync, mkdirSync, rmSync, lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { daemonWithBusybox, hasDockerCli } from './harness.js';
import { makeTar } from '../helpers/tar.js';

const d = daemonWithBusybox();
let work = '';

before(() => {
  work = mkdtempSync('/tmp/bt-fs-');
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('diff and export', () => {
  test('diff lists added, changed and deleted paths, not Berth\'s own mount points', () => {
    const r = d.berth(['run', '--name', 'changed', '--init', '-v', '/avol', 'busybox', 'sh', '-c',
      'echo x > /tmp/new; rm /etc/group; mkdir -p /opt/a; echo y >> /etc/passwd']);
    assert.equal(r.code, 0, r.stderr);
    const diff = d.berth(['diff', 'changed']);
    assert.equal(diff.stdout, 'C /etc\nD /etc/group\nC /etc/passwd\nA /opt\nA /opt/a\nC /tmp\nA /tmp/new\n');
    if (hasDockerCli()) assert.equal(d.docker(['diff', 'changed']).stdout, diff.stdout);
    d.berth(['run', '--name', 'untouched', 'busybox', 'true']);
    assert.equal(d.berth(['diff', 'untouched']).stdout, '');
    assert.match(d.berth(['diff', 'nosuch']).stderr, /No such container: nosuch/);
  });

  test('export streams the whole filesystem of a stopped container, then releases it', () => {
    const file = join(work, 'changed.tar');
    assert.equal(d.berth(['export', '-o', file, 'changed']).code, 0);
    const names = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n');
    assert.ok(names.includes('tmp/new'));
    assert.ok(names.includes('bin/busybox'));
    assert.ok(!names.includes('etc/group'));
    assert.deepEqual(d.mounts().filter((l) => l.includes('/rootfs')), [], 'the temporary mount is gone');
    assert.equal(d.berth(['start', 'changed']).code, 0, 'and the container can start');
    // Through a pipe too, with a reader that stops early.
    const head = execFileSync('sh', ['-c', `${process.execPath} ${join(process.cwd(), 'dist/berth.js')} -H unix://${d.socket} export changed | tar -t | head -1`], { encoding: 'utf8' });
    assert.equal(head.split('\n').filter(Boolean).length, 1);
    d.berth(['rm', '-f', 'changed', 'untouched']);
  });
});

describe('cp', () => {
  before(() => {
    const r = d.berth(['run', '-d', '--name', 'box', '-v', 'cpvol:/vol', '--tmpfs', '/tm', 'busybox', 'sh', '-c',
      'mkdir -p /d/sub; echo a > /d/a; echo b > /d/sub/b; ln -s /etc /d/etclink; echo v > /vol/v; echo t > /tm/t; exec sleep 1000']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('from a container: a directory, a file renamed, contents with /., volumes, tmpfs, -L, and - for a tar', () => {
    const out = join(work, 'from');
    mkdirSync(out);
    assert.equal(d.berth(['cp', 'box:/d', out]).code, 0);
    assert.equal(readFileSync(join(out, 'd/sub/b'), 'utf8'), 'b\n');
    assert.equal(readlinkSync(join(out, 'd/etclink')), '/etc');
    assert.equal(d.berth(['cp', 'box:/d/a', join(out, 'renamed')]).code, 0);
    assert.equal(readFileSync(join(out, 'renamed'), 'utf8'), 'a\n');
    mkdirSync(join(out, 'contents'));
    assert.equal(d.berth(['cp', 'box:/d/.', join(out, 'contents')]).code, 0);
    assert.deepEqual(readdirSync(join(out, 'contents')).sort(), ['a', 'etclink', 'sub']);
    assert.equal(d.berth(['cp', 'box:/vol/v', out]).code, 0);
    assert.equal(readFileSync(join(out, 'v'), 'utf8'), 'v\n');
    assert.equal(d.berth(['cp', 'box:/tm/t', out]).code, 0);
    assert.equal(readFileSync(join(out, 't'), 'utf8'), 't\n');
    assert.equal(d.berth(['cp', '-L', 'box:/d/etclink', join(out, 'etc')]).code, 0);
    assert.ok(lstatSync(join(out, 'etc')).isDirectory());
    assert.ok(existsSync(join(out, 'etc', 'passwd')));
    const tar = d.berth(['cp', 'box:/d/a', '-']);
    assert.match(tar.stdout, /^a\0/);
    const missing = d.berth(['cp', 'box:/nope', out]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Could not find the file \/nope in container box/);
    const toFile = d.berth(['cp', 'box:/d', join(out, 'renamed')]);
    assert.match(toFile.stderr, /cannot copy a directory to a file/);
  });

  test('into a container: a file, a renamed file, a directory, into a volume and a tmpfs, a tar from stdin', () => {
    const src = join(work, 'to');
    mkdirSync(join(src, 'dir/x'), { recursive: true });
    writeFileSync(join(src, 'f'), 'host\n');
    writeFileSync(join(src, 'dir/x/y'), 'deep\n');
    assert.equal(d.berth(['cp', join(src, 'f'), 'box:/d/']).code, 0);
    assert.equal(d.berth(['cp', join(src, 'f'), 'box:/d/renamed']).code, 0);
    assert.equal(d.berth(['cp', join(src, 'dir'), 'box:/']).code, 0);
    assert.equal(d.berth(['cp', join(src, 'f'), 'box:/vol/']).code, 0);
    assert.equal(d.berth(['cp', join(src, 'f'), 'box:/tm/']).code, 0);
    const r = d.berth(['exec', 'box', 'sh', '-c', 'cat /d/f /d/renamed /dir/x/y /tm/f; stat -c %u /d/f']);
    assert.equal(r.stdout, 'host\nhost\ndeep\nhost\n0\n', r.stderr);
    assert.equal(readFileSync(join(d.dataRoot, 'volumes/cpvol/_data/f'), 'utf8'), 'host\n');
    const tar = execFileSync('tar', ['-c', '-C', src, 'f']);
    assert.equal(d.berth(['cp', '-', 'box:/tmp'], { input: tar }).code, 0);
    assert.equal(d.berth(['exec', 'box', 'cat', '/tmp/f']).stdout, 'host\n');
    const noParent = d.berth(['cp', join(src, 'f'), 'box:/nodir/x']);
    assert.equal(noParent.code, 1);
    assert.match(noParent.stderr, /Could not find the file \/nodir in container box/);
    assert.match(d.berth(['cp', join(src, 'nope'), 'box:/']).stderr, /no such file or directory/);
    assert.match(d.berth(['cp', join(src, 'f'), 'nosuch:/']).stderr, /No such container: nosuch/);
    assert.equal(d.berth(['exec', 'box', 'echo', 'still running']).stdout, 'still running\n', 'the freeze during cp was lifted');
  });

  test('a stopped container can be copied from and into', () => {
    assert.equal(d.berth(['stop', '-t', '0', 'box']).code, 0);
    const f = join(work, 'stopped');
    writeFileSync(f, 'offline\n');
    assert.equal(d.berth(['cp', f, 'box:/d/']).code, 0);
    assert.equal(d.berth(['cp', 'box:/d/a', join(work, 'stopped-a')]).code, 0);
    assert.equal(readFileSync(join(work, 'stopped-a'), 'utf8'), 'a\n');
    assert.equal(d.berth(['cp', 'box:/vol/v', join(work, 'stopped-v')]).code, 0, 'volumes of a stopped container too');
    assert.equal(d.berth(['start', 'box']).code, 0);
    assert.equal(d.berth(['exec', 'box', 'cat', '/d/stopped']).stdout, 'offline\n');
  });

  test('symlinks in the container never lead to host files, either way', () => {
    const hostDir = mkdtempSync('/tmp/bt-hostonly-');
    writeFileSync(join(hostDir, 'secret'), 'host secret\n');
    d.berth(['exec', 'box', 'sh', '-c', `ln -s ${hostDir} /d/out; ln -s ${hostDir}/secret /d/leak; ln -s ../../../../../..${hostDir} /d/up`]);
    const f = join(work, 'payload');
    writeFileSync(f, 'payload\n');
    // Whatever these do inside the container (replace the link, or fail), the host directory stays untouched.
    for (const target of ['box:/d/out/', 'box:/d/up/', 'box:/d/up/payload', 'box:/d/out/payload']) d.berth(['cp', f, target]);
    const leak = d.berth(['cp', '-L', 'box:/d/leak', join(work, 'leaked')]);
    assert.notEqual(leak.code, 0);
    assert.ok(!existsSync(join(work, 'leaked')) || readFileSync(join(work, 'leaked'), 'utf8') !== 'host secret\n');
    assert.deepEqual(readdirSync(hostDir), ['secret'], 'nothing was written on the host');
    rmSync(hostDir, { recursive: true, force: true });
  });

  test('hostile archives: .. entries and a symlink followed by a write through it', async () => {
    const hostDir = mkdtempSync('/tmp/bt-hostonly-');
    const dotdot = await makeTar([{ name: '../../../../../../../../..' + hostDir + '/pwned', body: 'x' }]);
    const r1 = d.berth(['cp', '-', 'box:/d'], { input: dotdot });
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr, /leaves the destination|invalid archive entry/);
    const through = await makeTar([
      { name: 'hop', type: 'symlink', linkname: hostDir },
      { name: 'hop/pwned', body: 'x' },
    ]);
    d.berth(['cp', '-', 'box:/d'], { input: through });
    assert.deepEqual(readdirSync(hostDir), [], 'nothing was written on the host');
    rmSync(hostDir, { recursive: true, force: true });
  });

  test('a truncated archive is an error, and the daemon lives on', async () => {
    const whole = await makeTar([{ name: 'big', body: 'z'.repeat(20000) }]);
    const r = d.berth(['cp', '-', 'box:/d'], { input: whole.subarray(0, 3000) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Unexpected end of data/);
    assert.equal(d.berth(['exec', 'box', 'true']).code, 0);
  });

  test('the docker CLI copies both ways', { skip: !hasDockerCli() }, () => {
    const f = join(work, 'dock');
    writeFileSync(f, 'via docker\n');
    const put = d.docker(['cp', f, 'box:/d/']);
    assert.equal(put.code, 0, put.stderr);
    const out = join(work, 'dock-back');
    const get = d.docker(['cp', 'box:/d/dock', out]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(readFileSync(out, 'utf8'), 'via docker\n');
    d.berth(['rm', '-f', '-v', 'box']);
    d.berth(['volume', 'rm', 'cpvol']);
  });
});
