// Layers: whiteouts both ways, compression, diff ids, and the overlay really
// hiding what a whiteout deletes. Runs as root (mknod, trusted xattrs, mount).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, symlinkSync, linkSync, statSync, existsSync, readdirSync, readFileSync, lstatSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import tarStream from 'tar-stream';
import { makeTar } from '../../helpers/tar.js';
import { LayerStore } from '../../../src/image/layer-store.js';
import { ContentStore } from '../../../src/image/content-store.js';
import { packUpper, writeLayer, opaqueDirs, charDeviceInSmallTree } from '../../../src/image/layer-diff.js';
import { parseWhiteout, whiteoutEntryFor, shQuote } from '../../../src/image/whiteouts.js';
import { detectCompression } from '../../../src/image/compression.js';
import { tempDir } from '../../helpers/tmp.js';

const tmp = (p: string): string => tempDir(p);
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function entries(stream: Readable): Promise<{ name: string; type: string; linkname?: string | null; body: string }[]> {
  const ex = tarStream.extract();
  const out: { name: string; type: string; linkname?: string | null; body: string }[] = [];
  ex.on('entry', (h, s, next) => {
    let body = '';
    s.on('data', (d: unknown) => { body += String(d); });
    s.on('end', () => { out.push({ name: h.name, type: h.type ?? 'file', linkname: h.linkname, body }); next(); });
  });
  const done = new Promise<void>((resolve, reject) => { ex.on('finish', resolve); ex.on('error', reject); });
  stream.pipe(ex as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

const isWhiteoutDev = (p: string): boolean => { const st = lstatSync(p); return st.isCharacterDevice() && st.rdev === 0; };
const opaqueAttr = (p: string): string => execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', p]).toString();

test('parseWhiteout names', () => {
  assert.deepEqual(parseWhiteout('etc/.wh.passwd'), { kind: 'file', path: 'etc/passwd', entry: 'etc/.wh.passwd' });
  assert.deepEqual(parseWhiteout('.wh.top'), { kind: 'file', path: 'top', entry: '.wh.top' });
  assert.deepEqual(parseWhiteout('var/cache/.wh..wh..opq'), { kind: 'opaque', dir: 'var/cache', entry: 'var/cache/.wh..wh..opq' });
  assert.deepEqual(parseWhiteout('.wh..wh..opq'), { kind: 'opaque', dir: '', entry: '.wh..wh..opq' });
  assert.equal(parseWhiteout('etc/passwd'), undefined);
  assert.equal(parseWhiteout('etc/.wh.'), undefined);
  assert.equal(parseWhiteout('etc/.wh...'), undefined);
  assert.equal(whiteoutEntryFor('a/b/c'), 'a/b/.wh.c');
  assert.equal(whiteoutEntryFor('c'), '.wh.c');
  assert.equal(shQuote(`it's`), `'it'\\''s'`);
});

test('compression is detected from magic bytes', () => {
  assert.equal(detectCompression(gzipSync(Buffer.from('x'))), 'gzip');
  assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])), 'zstd');
  assert.equal(detectCompression(Buffer.from('ustar')), 'none');
  assert.equal(detectCompression(Buffer.alloc(0)), 'none');
});

test('unpack turns .wh. entries into overlay whiteouts, and the overlay hides the lower files', async () => {
  const layers = new LayerStore(tmp('berth-layers-'));
  const lowerTar = await makeTar([
    { name: 'etc/', type: 'directory' }, { name: 'etc/passwd', body: 'root' }, { name: 'etc/keep', body: 'k' },
    { name: 'cache/', type: 'directory' }, { name: 'cache/old', body: 'o' },
  ]);
  const lower = await layers.unpack(Readable.from([lowerTar]));
  assert.equal(lower.diffId, sha(lowerTar));
  const upperTar = await makeTar([
    { name: 'etc/', type: 'directory' }, { name: 'etc/.wh.passwd', body: '' },
    { name: 'cache/', type: 'directory' }, { name: 'cache/.wh..wh..opq', body: '' }, { name: 'cache/new', body: 'n' },
  ]);
  const upper = await layers.unpack(Readable.from([gzipSync(upperTar)]), { parent: lower.chainId, expectedDiffId: sha(upperTar) });
  assert.equal(upper.parent, lower.chainId);
  const dir = layers.path(upper.chainId);
  assert.ok(isWhiteoutDev(join(dir, 'etc/passwd')));
  assert.ok(!existsSync(join(dir, 'etc/.wh.passwd')));
  assert.equal(opaqueAttr(join(dir, 'cache')), 'y');
  assert.ok(!existsSync(join(dir, 'cache/.wh..wh..opq')));
  const mnt = tmp('berth-mnt-');
  const rw = tmp('berth-rw-');
  mkdirSync(join(rw, 'u'));
  mkdirSync(join(rw, 'w'));
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${dir}:${layers.path(lower.chainId)},upperdir=${rw}/u,workdir=${rw}/w`, mnt]);
  try {
    assert.deepEqual(readdirSync(join(mnt, 'etc')), ['keep']);
    assert.deepEqual(readdirSync(join(mnt, 'cache')), ['new']);
  } finally {
    execFileSync('umount', [mnt]);
  }
});

test('unpack: a diff id mismatch, a broken gzip or a hostile entry leaves nothing behind', async () => {
  const root = tmp('berth-layers-');
  const layers = new LayerStore(root);
  const good = await makeTar([{ name: 'a', body: 'a' }]);
  await assert.rejects(layers.unpack(Readable.from([good]), { expectedDiffId: `sha256:${'0'.repeat(64)}` }), /diff id mismatch/);
  await assert.rejects(layers.unpack(Readable.from([gzipSync(good).subarray(0, 30)])), /failed to register layer|unexpected end|invalid/);
  await assert.rejects(layers.unpack(Readable.from([await makeTar([{ name: '../../x', body: 'x' }])])), /invalid tar entry/);
  await assert.rejects(layers.unpack(Readable.from([Buffer.from('this is not a tar archive at all'.repeat(20))])), /invalid tar|failed to register layer/);
  assert.deepEqual(readdirSync(root), []);
});

test('unpack reads zstd layers', async () => {
  const layers = new LayerStore(tmp('berth-layers-'));
  const t = await makeTar([{ name: 'z', body: 'zstd!' }]);
  const z = execFileSync('zstd', ['-c', '-q'], { input: t });
  const rec = await layers.unpack(Readable.from([z]), { expectedDiffId: sha(t) });
  assert.equal(readFileSync(join(layers.path(rec.chainId), 'z'), 'utf8'), 'zstd!');
});

function makeUpper(): string {
  const u = tmp('berth-upper-');
  mkdirSync(join(u, 'etc'));
  writeFileSync(join(u, 'etc/app.conf'), 'conf');
  symlinkSync('app.conf', join(u, 'etc/link'));
  linkSync(join(u, 'etc/app.conf'), join(u, 'etc/hard'));
  execFileSync('mknod', [join(u, 'etc/passwd'), 'c', '0', '0']);
  execFileSync('mkfifo', [join(u, 'pipe')]);
  mkdirSync(join(u, 'cache'));
  writeFileSync(join(u, 'cache/new'), 'n');
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(u, 'cache')]);
  writeFileSync(join(u, 'etc/hosts'), '');
  return u;
}

test('packUpper: whiteouts and opaque dirs become OCI entries, hardlinks stay links, excluded paths stay out', async () => {
  const u = makeUpper();
  assert.deepEqual([...(await opaqueDirs(u))], ['cache']);
  const list = await entries(packUpper(u, { exclude: new Set(['/etc/hosts']) }));
  const byName = new Map(list.map((e) => [e.name, e]));
  // Directories end in `/`, as in the layers Docker writes.
  assert.deepEqual(list.map((e) => e.name), ['cache/', 'cache/.wh..wh..opq', 'cache/new', 'etc/', 'etc/app.conf', 'etc/hard', 'etc/link', 'etc/.wh.passwd', 'pipe']);
  assert.equal(byName.get('etc/hard')?.type, 'link');
  assert.equal(byName.get('etc/hard')?.linkname, 'etc/app.conf');
  assert.equal(byName.get('etc/link')?.type, 'symlink');
  assert.equal(byName.get('pipe')?.type, 'fifo');
  assert.equal(byName.get('etc/app.conf')?.body, 'conf');
});

test('writeLayer then unpack gives back the same tree, and the same upper gives the same digests', async () => {
  const u = makeUpper();
  const content = new ContentStore(tmp('berth-content-'));
  const a = await writeLayer(content, u, { clampMtime: 0 });
  const b = await writeLayer(content, u, { clampMtime: 0 });
  assert.equal(a.diffId, b.diffId);
  assert.equal(a.descriptor.digest, b.descriptor.digest);
  assert.equal(a.descriptor.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  const layers = new LayerStore(tmp('berth-layers-'));
  const rec = await layers.unpack(Readable.from([readFileSync(content.path(a.descriptor.digest))]), { expectedDiffId: a.diffId });
  const d = layers.path(rec.chainId);
  assert.ok(isWhiteoutDev(join(d, 'etc/passwd')));
  assert.equal(opaqueAttr(join(d, 'cache')), 'y');
  assert.equal(statSync(join(d, 'etc/hard')).ino, statSync(join(d, 'etc/app.conf')).ino);
  assert.ok(lstatSync(join(d, 'pipe')).isFIFO());
  assert.equal(statSync(join(d, 'etc/app.conf')).mtimeMs, 0);
});

test('packUpper: an upper without whiteouts is packed as is; names with spaces, dashes and long paths survive', async () => {
  const u = tmp('berth-upper-plain-');
  const long = 'd'.repeat(120);
  mkdirSync(join(u, long), { recursive: true });
  writeFileSync(join(u, long, 'f'.repeat(110)), 'long');
  writeFileSync(join(u, '-rf'), 'dash');
  writeFileSync(join(u, 'a b'), 'space');
  const list = await entries(packUpper(u, { exclude: new Set(['/a b']) }));
  assert.deepEqual(list.map((e) => e.name), ['-rf', `${long}/`, `${long}/${'f'.repeat(110)}`]);
  assert.equal(list[2]!.body, 'long');
  // An empty upper is an empty archive: two zero blocks, as Docker's empty layer.
  const empty = tmp('berth-upper-empty-');
  const chunks: Buffer[] = [];
  for await (const c of packUpper(empty)) chunks.push(c as Buffer);
  assert.deepEqual(Buffer.concat(chunks), Buffer.alloc(1024));
});

test('TarContentCounter counts file bytes across any chunking, and skips long-name records', async () => {
  const { TarContentCounter } = await import('../../../src/image/tar-headers.js');
  const u = tmp('berth-upper-count-');
  mkdirSync(join(u, 'x'.repeat(150)));
  writeFileSync(join(u, 'x'.repeat(150), 'big'), Buffer.alloc(70_000, 1));
  writeFileSync(join(u, 'small'), 'abc');
  symlinkSync('small', join(u, 'link'));
  const chunks: Buffer[] = [];
  for await (const c of packUpper(u)) chunks.push(c as Buffer);
  const tar = Buffer.concat(chunks);
  for (const size of [1, 7, 511, 512, 513, 4096, tar.length]) {
    const c = new TarContentCounter();
    for (let i = 0; i < tar.length; i += size) c.feed(tar.subarray(i, i + size));
    assert.equal(c.contentBytes, 70_003, `chunks of ${size}`);
    assert.equal(c.entries, 4, `chunks of ${size}`);
  }
});

test('charDeviceInSmallTree: finds a whiteout device anywhere in a small tree, gives up on a big one', () => {
  const root = tempDir('bt-chardev-');
  try {
    mkdirSync(`${root}/a/b/c`, { recursive: true });
    writeFileSync(`${root}/a/b/file`, 'x');
    assert.equal(charDeviceInSmallTree(root, 100), false);
    execFileSync('mknod', [`${root}/a/b/c/gone`, 'c', '0', '0']);
    assert.equal(charDeviceInSmallTree(root, 100), true);
    assert.equal(charDeviceInSmallTree(root, 2), undefined, 'more entries than the limit: left to find');
    assert.equal(charDeviceInSmallTree(`${root}/missing`, 100), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('packUpper of a small upper never loses tar\'s output, however soon tar is done (100 times)', async () => {
  const root = tempDir('bt-packsmall-');
  try {
    writeFileSync(join(root, 'state'), 'live\n');
    for (let i = 0; i < 100; i++) {
      assert.deepEqual((await entries(packUpper(root))).map((e) => e.name), ['state'], `run ${i}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
