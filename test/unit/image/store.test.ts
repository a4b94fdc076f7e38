import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, readlinkSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { makeTar, type TarEntry } from '../../helpers/tar.js';
import { ContentStore } from '../../../src/image/content-store.js';
import { LayerStore } from '../../../src/image/layer-store.js';
import { ImageStore } from '../../../src/image/image-store.js';
import { ConflictError } from '../../../src/lib/errors.js';
import { tempDir } from '../../helpers/tmp.js';

type Entry = TarEntry;
const tar = makeTar;

function stores(root = tempDir('berth-img-')): { root: string; content: ContentStore; layers: LayerStore; images: ImageStore } {
  const content = new ContentStore(join(root, 'content'));
  const layers = new LayerStore(join(root, 'layers'));
  return { root, content, layers, images: new ImageStore(join(root, 'image'), content, layers) };
}

const ROOTFS: Entry[] = [
  { name: 'bin/', type: 'directory', mode: 0o755 },
  { name: 'bin/tool', body: '#!/bin/sh\necho hi\n', mode: 0o755 },
  { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
  { name: 'bin/hard', type: 'link', linkname: 'bin/tool' },
  { name: 'etc/secret', body: 'x', mode: 0o600 },
];

test('content store: verified ingest, mismatch leaves nothing', async () => {
  const { content, root } = stores();
  const data = Buffer.from('hello blob');
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const r = await content.ingest(Readable.from([data]), digest);
  assert.equal(r.digest, digest);
  assert.equal(readFileSync(content.path(digest), 'utf8'), 'hello blob');
  await assert.rejects(content.ingest(Readable.from([Buffer.from('other')]), digest), /digest mismatch/);
  assert.deepEqual(await content.list(), [digest]);
  assert.deepEqual(readdirSync(join(root, 'content', 'ingest')), []);
});

test('content store: commit of a file written elsewhere works in a store nothing was ingested into yet (a load into a new store)', async () => {
  const root = tempDir('berth-cs-');
  const cs = new ContentStore(root);
  const file = join(tempDir('berth-cs-src-'), 'member');
  writeFileSync(file, 'blob');
  const digest = `sha256:${createHash('sha256').update('blob').digest('hex')}`;
  await cs.commit(file, digest);
  assert.equal(readFileSync(cs.path(digest), 'utf8'), 'blob');
  assert.ok(await cs.has(digest));
});

test('import unpacks files, modes, symlinks and hardlinks', async () => {
  const { images, layers } = stores();
  await images.load();
  const img = await images.importRootfs(Readable.from([await tar(ROOTFS)]), { tag: 'tool:1', changes: ['CMD ["tool"]'] });
  assert.deepEqual(img.repoTags, ['tool:1']);
  assert.deepEqual(img.config.config?.Cmd, ['tool']);
  const [dir] = await images.rootfsLayers(img.id);
  assert.equal(dir, layers.path(img.layers[0]!));
  assert.equal(statSync(join(dir!, 'bin/tool')).mode & 0o777, 0o755);
  assert.equal(statSync(join(dir!, 'etc/secret')).mode & 0o777, 0o600);
  assert.equal(readlinkSync(join(dir!, 'bin/alias')), 'tool');
  assert.equal(statSync(join(dir!, 'bin/hard')).ino, statSync(join(dir!, 'bin/tool')).ino);
});

test('hostile archives are refused and leave no image or layer', async () => {
  const { images, root } = stores();
  await images.load();
  const cases: Entry[][] = [
    [{ name: '../x', body: 'x' }],
    [{ name: '/etc/passwd', body: 'x' }],
    [{ name: 'a', type: 'symlink', linkname: '/etc' }, { name: 'a/passwd', body: 'x' }],
    [{ name: 'h', type: 'link', linkname: '../../x' }],
  ];
  for (const c of cases) {
    await assert.rejects(images.importRootfs(Readable.from([await tar(c)]), { tag: 'evil' }), /invalid tar entry/);
  }
  assert.deepEqual(images.list(), []);
  assert.equal(existsSync(join(root, 'layers')) ? readdirSync(join(root, 'layers')).length : 0, 0);
});

test('tag, untag, rmi, GC and reload', async () => {
  const s = stores();
  await s.images.load();
  const img = await s.images.importRootfs(Readable.from([await tar(ROOTFS)]), { tag: 'a:1' });
  await s.images.tag('a:1', 'b:2');
  assert.equal(s.images.resolve('b:2').id, img.id);
  assert.equal(s.images.resolve(img.id.slice(7, 12)).id, img.id);
  await assert.rejects(s.images.remove(img.id), (e: unknown) => e instanceof ConflictError && /referenced in multiple repositories/.test(e.message));
  assert.deepEqual(await s.images.remove('b:2'), [{ Untagged: 'b:2' }]);
  const inUse = { id: 'c'.repeat(64), running: false };
  await assert.rejects(s.images.remove('a:1', { isInUse: () => inUse }), /must force/);
  await assert.rejects(s.images.remove(img.id, { isInUse: () => inUse }), /must be forced\) - image is being used by stopped container cccccccccccc/);
  await assert.rejects(s.images.remove(img.id, { force: true, isInUse: () => ({ ...inUse, running: true }) }), /cannot be forced/);
  const again = stores(s.root);
  await again.images.load();
  assert.deepEqual(again.images.resolve('a:1').repoTags, ['a:1']);
  // (not 'a': that may be a prefix of the image id, which Docker accepts as a reference too)
  await assert.rejects(again.images.remove('nosuch'), /No such image: nosuch:latest/);
  const removed = await again.images.remove('a:1');
  assert.deepEqual(removed, [{ Untagged: 'a:1' }, { Deleted: img.id }]);
  assert.deepEqual(await again.layers.list(), []);
  assert.deepEqual(await again.content.list(), []);
});
