// The in-process unpacking of small contexts must mean exactly what GNU tar
// (`tar -x -p --numeric-owner`, the path for big contexts) makes of the same
// archive, and must never write outside its directory.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extractSmallTar } from '../../../src/build/small-tar.js';
import { peek } from '../../../src/image/compression.js';
import { hashMembers, listTree, packSmallTree, tarMembers, SMALL_CONTEXT_BYTES, SMALL_CONTEXT_ENTRIES } from '../../../src/build/tree-tar.js';
import { makeTar, type TarEntry } from '../../helpers/tar.js';

const tmp = mkdtempSync('/tmp/bt-smalltar-');
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const d = join(tmp, String(n++));
  mkdirSync(d);
  return d;
};

/** Everything under `dir`: type, mode, owner, size, mtime, link target, content. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, p));
      const what = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `symlink ${readlinkSync(join(dir, p))}` : `file ${readFileSync(join(dir, p), 'utf8')} links=${st.nlink}`;
      // Directories' mtimes are set last by both; a symlink's mtime is not compared (GNU tar keeps it only with some versions).
      const mtime = st.isSymbolicLink() ? '' : Math.floor(st.mtimeMs / 1000);
      out.push(`${p} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${mtime} ${what}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return out;
}

const t = (s: number): Date => new Date(s * 1000);

test('a small archive unpacks exactly as GNU tar unpacks it: modes with setuid and sticky bits, owners, mtimes, symlinks, hard links, replaced names', async () => {
  const entries: TarEntry[] = [
    { name: 'Dockerfile', body: 'FROM busybox\n', mode: 0o644, mtime: t(1600000000) },
    { name: 'bin/', type: 'directory', mode: 0o700, uid: 7, gid: 8, mtime: t(1500000000) },
    { name: 'bin/suid', body: 'x', mode: 0o4755, uid: 0, gid: 0, mtime: t(1600000001) },
    { name: 'bin/owned', body: 'owned', mode: 0o2640, uid: 1234, gid: 5678, mtime: t(1600000002) },
    { name: 'hard', type: 'link', linkname: 'bin/owned' },
    { name: 'sym', type: 'symlink', linkname: 'bin/owned', mtime: t(1600000003) },
    { name: 'tmp/', type: 'directory', mode: 0o1777, mtime: t(1500000001) },
    { name: 'deep/er/file', body: 'parents made on the way', mode: 0o600, mtime: t(1600000004) },
    { name: 'twice', body: 'one', mode: 0o644, mtime: t(1600000005) },
    { name: 'twice', body: 'two', mode: 0o600, mtime: t(1600000006) },
    { name: './dot/./slash/', type: 'directory', mode: 0o755, mtime: t(1500000002) },
    // Parents made on the way get times of their own here (else both would show the clock's, a second apart under load).
    { name: 'deep/er/', type: 'directory', mode: 0o755, mtime: t(1500000003) },
    { name: 'deep/', type: 'directory', mode: 0o755, mtime: t(1500000004) },
    { name: 'dot/', type: 'directory', mode: 0o755, mtime: t(1500000005) },
  ];
  const buf = await makeTar(entries);
  const mine = fresh();
  assert.equal(await extractSmallTar(buf, mine), true);
  const gnu = fresh();
  const r = spawnSync('tar', ['-x', '-p', '--numeric-owner', '-f', '-', '-C', gnu], { input: buf });
  assert.equal(r.status, 0, r.stderr?.toString());
  assert.deepEqual(listing(mine), listing(gnu));
  // And what that is, so that the comparison cannot pass on two empty trees.
  const l = listing(mine);
  assert.ok(l.includes('bin/suid 4755 0:0 1600000001 file x links=1'), l.join('\n'));
  assert.ok(l.includes('bin/owned 2640 1234:5678 1600000002 file owned links=2'), l.join('\n'));
  assert.ok(l.includes('bin 700 7:8 1500000000 dir'), l.join('\n'));
  assert.ok(l.includes('tmp 1777 0:0 1500000001 dir'), l.join('\n'));
  assert.ok(l.includes('twice 600 0:0 1600000006 file two links=1'), l.join('\n'));
});

test('a symlink replaced by a directory or a file is never written through; escaping names are refused before anything is written', async () => {
  const outside = fresh();
  writeFileSync(join(outside, 'target'), 'untouched');
  const buf = await makeTar([
    { name: 'a', type: 'symlink', linkname: outside },
    { name: 'a/', type: 'directory', mode: 0o700, mtime: t(1500000000) },
    { name: 'a/inside', body: 'in the context' },
    { name: 'f', type: 'symlink', linkname: join(outside, 'target') },
    { name: 'f', body: 'replaced', mode: 0o600 },
  ]);
  const dir = fresh();
  assert.equal(await extractSmallTar(buf, dir), true);
  assert.deepEqual(readdirSync(outside), ['target']);
  assert.equal(readFileSync(join(outside, 'target'), 'utf8'), 'untouched');
  assert.equal((lstatSync(join(outside)).mode & 0o777).toString(8), '755');
  assert.equal(readFileSync(join(dir, 'a/inside'), 'utf8'), 'in the context');
  assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'replaced');
  for (const evil of [
    [{ name: '../escape', body: 'x' }],
    [{ name: 'l', type: 'symlink', linkname: outside }, { name: 'l/x', body: 'through the symlink' }],
    [{ name: 'h', type: 'link', linkname: '../../etc/passwd' }],
  ] as TarEntry[][]) {
    const d = fresh();
    await assert.rejects(extractSmallTar(await makeTar(evil), d), /invalid tar entry/);
    assert.deepEqual(readdirSync(d), [], 'nothing written');
  }
  assert.deepEqual(readdirSync(outside), ['target']);
});

test('what GNU tar should make instead: fifos and devices, too many entries, a truncated archive', async () => {
  assert.equal(await extractSmallTar(await makeTar([{ name: 'p', type: 'fifo' }]), fresh()), false);
  const many = Array.from({ length: SMALL_CONTEXT_ENTRIES + 1 }, (_, i) => ({ name: `f${i}`, body: String(i) }));
  const d = fresh();
  assert.equal(await extractSmallTar(await makeTar(many), d), false);
  assert.deepEqual(readdirSync(d), []);
  const whole = await makeTar([{ name: 'a', body: 'x'.repeat(2000) }]);
  await assert.rejects(extractSmallTar(whole.subarray(0, 1000), fresh()), /invalid tar archive|unexpected end|Unexpected end/i);
});

test('peek (how a context is told small) keeps the whole stream, ended or not', async () => {
  const chunks = [Buffer.from('abc'), Buffer.from('def'), Buffer.from('ghi')];
  const small = await peek(Readable.from(chunks), 100);
  assert.equal(small.head.toString(), 'abcdefghi');
  const big = await peek(Readable.from(chunks), 4);
  assert.equal(big.head.length, 4);
  const all: Buffer[] = [];
  for await (const c of big.stream) all.push(c as Buffer);
  assert.equal(Buffer.concat(all).toString(), 'abcdefghi');
});

test('hashMembers: contents, names, modes and link targets count, mtimes and owners do not; few and many files alike', async () => {
  for (const count of [3, 100]) {
    const dir = fresh();
    const names = Array.from({ length: count }, (_, i) => `f${String(i).padStart(3, '0')}`);
    for (const f of names) writeFileSync(join(dir, f), f);
    const base = await hashMembers(dir, names);
    assert.equal(await hashMembers(dir, names), base, 'stable');
    spawnSync('touch', ['-d', '2001-01-01', join(dir, names[0]!)]);
    spawnSync('chown', ['123:456', join(dir, names[0]!)]);
    assert.equal(await hashMembers(dir, names), base, 'mtime and owner do not count');
    spawnSync('chmod', ['600', join(dir, names[0]!)]);
    const moded = await hashMembers(dir, names);
    assert.notEqual(moded, base, 'mode counts');
    writeFileSync(join(dir, names[1]!), 'changed');
    assert.notEqual(await hashMembers(dir, names), moded, 'content counts');
    assert.notEqual(await hashMembers(dir, names.slice(1)), await hashMembers(dir, names), 'the set of names counts');
  }
});

test('packSmallTree makes what GNU tar makes of the same files (as unpacked), and leaves many or big ones to it', async () => {
  const src = fresh();
  mkdirSync(join(src, 'dir/sub'), { recursive: true });
  writeFileSync(join(src, 'dir/sub/f'), 'content');
  writeFileSync(join(src, 'exec'), '#!/bin/sh\n');
  chmodSync(join(src, 'exec'), 0o4755);
  linkSync(join(src, 'exec'), join(src, 'hardlinked'));
  symlinkSync('dir/sub/f', join(src, 'sym'));
  chmodSync(join(src, 'dir'), 0o700);
  utimesSync(join(src, 'dir/sub/f'), t(1600000000), t(1600000000));
  utimesSync(join(src, 'dir/sub'), t(1500000000), t(1500000000));
  const members = (await listTree(src)).map((e) => e.rel);
  const mine = await packSmallTree(src, members);
  assert.ok(mine);
  const { stream, done } = tarMembers(src, members, { owner: { uid: 0, gid: 0 } });
  const parts: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) parts.push(c);
  await done;
  const unpack = (buf: Buffer): string[] => {
    const dir = fresh();
    const r = spawnSync('tar', ['-x', '-p', '--numeric-owner', '-f', '-', '-C', dir], { input: buf });
    assert.equal(r.status, 0, r.stderr?.toString());
    return listing(dir);
  };
  const fromMine = unpack(mine);
  assert.deepEqual(fromMine, unpack(Buffer.concat(parts)));
  assert.ok(fromMine.includes('hardlinked 4755 0:0 ' + Math.floor(lstatSync(join(src, 'exec')).mtimeMs / 1000) + ' file #!/bin/sh\n links=2'), fromMine.join('\n'));
  assert.ok(fromMine.includes('dir/sub 755 0:0 1500000000 dir'), fromMine.join('\n'));
  const many = fresh();
  for (let i = 0; i <= SMALL_CONTEXT_ENTRIES; i++) writeFileSync(join(many, `f${i}`), '');
  assert.equal(await packSmallTree(many, readdirSync(many)), undefined);
  const big = fresh();
  writeFileSync(join(big, 'big'), Buffer.alloc(SMALL_CONTEXT_BYTES + 1));
  assert.equal(await packSmallTree(big, ['big']), undefined);
});
