// LayerExtraction: a layer fed in any chunking (the compression is told
// from the first four bytes even when they come one at a time), each
// compression, and the failures: a hostile entry, a broken gzip, tar
// failing; an abort leaves no tar behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdirSync } from 'node:fs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { makeTar } from '../../helpers/tar.js';
import { tempDir } from '../../helpers/tmp.js';
import { LayerExtraction, extractLayerStream, UnsafeArchiveError } from '../../../src/image/layer-extract.js';
import { LayerStore } from '../../../src/image/layer-store.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** `buf` cut at the given sizes, the rest as one last chunk. */
function cut(buf: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  for (const n of sizes) {
    out.push(buf.subarray(off, off + n));
    off += n;
  }
  out.push(buf.subarray(off));
  return out.filter((c) => c.length > 0);
}

async function feed(x: LayerExtraction, chunks: Buffer[]): Promise<void> {
  for (const c of chunks) await x.write(c);
}

const noise = randomBytes(300_000);

async function sampleTar(): Promise<Buffer> {
  return makeTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/motd', body: 'hello\n', mode: 0o640 },
    { name: 'noise', body: noise },
    { name: 'link', type: 'symlink', linkname: 'etc/motd' },
    { name: 'etc/.wh.gone', body: '' },
  ]);
}

test('gzip, zstd and plain layers in any chunking give the files, the diff id, the size and the whiteouts', async () => {
  const plain = await sampleTar();
  const zstd = execFileSync('zstd', ['-q', '-c'], { input: plain });
  const forms: [string, Buffer][] = [['plain', plain], ['gzip', gzipSync(plain)], ['zstd', zstd]];
  const chunkings = [[1, 1, 1, 1], [3, 5], [2], [65536, 7], []];
  for (const [what, blob] of forms) {
    for (const sizes of chunkings) {
      const dir = tempDir('berth-extract-');
      const x = await LayerExtraction.start(dir);
      await feed(x, cut(blob, sizes));
      const r = await x.end();
      const label = `${what} cut at ${sizes.join(',') || 'nothing'}`;
      assert.equal(r.diffId, sha(plain), label);
      assert.equal(r.size, 6 + noise.length, label);
      assert.deepEqual(r.whiteouts, [{ kind: 'file', path: 'etc/gone', entry: 'etc/.wh.gone' }], label);
      assert.equal(readFileSync(join(dir, 'etc/motd'), 'utf8'), 'hello\n', label);
      assert.ok(readFileSync(join(dir, 'noise')).equals(noise), label);
    }
  }
});

test('extractLayerStream reads a stream the same way', async () => {
  const plain = await sampleTar();
  const dir = tempDir('berth-extract-');
  const r = await extractLayerStream(Readable.from(cut(gzipSync(plain), [1, 2, 100, 4096])), dir);
  assert.equal(r.diffId, sha(plain));
  assert.ok(readFileSync(join(dir, 'noise')).equals(noise));
});

test('a hostile entry fails it with UnsafeArchiveError, and nothing is written outside', async () => {
  const parent = tempDir('berth-extract-');
  const dir = join(parent, 'diff');
  mkdirSync(dir);
  const evil = await makeTar([{ name: 'ok', body: 'fine' }, { name: '../escaped', body: 'x' }]);
  await assert.rejects(extractLayerStream(Readable.from([evil]), dir), (err: unknown) => err instanceof UnsafeArchiveError && /path escapes the layer root/.test((err as Error).message));
  assert.deepEqual(readdirSync(parent), ['diff']);
});

test('a cut gzip stream, too few bytes for any header, and tar failing each reject', async () => {
  const plain = await sampleTar();
  await assert.rejects(extractLayerStream(Readable.from([gzipSync(plain).subarray(0, 200)]), tempDir('berth-extract-')), /unexpected end of file/);
  await assert.rejects(extractLayerStream(Readable.from([Buffer.from('ab')]), tempDir('berth-extract-')), /invalid tar archive|failed to unpack layer/);
  // tar cannot change into a directory that does not exist.
  const missing = join(tempDir('berth-extract-'), 'nope');
  await assert.rejects(extractLayerStream(Readable.from([plain]), missing), /failed to unpack layer/);
});

test('bytes after the end-of-archive blocks: tar stops reading there, the extraction still ends, and the diff id covers them', { timeout: 20_000 }, async () => {
  // Padding far past tar's last read (some writers pad a lot): its pipe breaks under a write still under way.
  const blob = Buffer.concat([await sampleTar(), Buffer.alloc(4 << 20)]);
  for (const chunks of [[blob], cut(blob, Array(64).fill(65536))]) {
    const dir = tempDir('berth-extract-');
    const x = await LayerExtraction.start(dir);
    await feed(x, chunks);
    const r = await x.end();
    assert.equal(r.diffId, sha(blob));
    assert.equal(readFileSync(join(dir, 'etc/motd'), 'utf8'), 'hello\n');
  }
});

test('tar killed by someone else mid-way: the pending writes end, and the extraction fails with tar\'s failure', { timeout: 20_000 }, async () => {
  const big = await makeTar([{ name: 'big', body: randomBytes(16 << 20) }]);
  const parent = tempDir('berth-extract-');
  const dir = join(parent, 'diff');
  mkdirSync(dir);
  const x = await LayerExtraction.start(dir);
  await x.write(big.subarray(0, 2000));
  execFileSync('pkill', ['-KILL', '-f', `^tar -x .* -C ${dir}$`]);
  // More than the FIFO holds: without the EPIPE a write would wait for a reader for ever.
  const writes = (async () => {
    for (let off = 2000; off < big.length; off += 1 << 20) await x.write(big.subarray(off, off + (1 << 20)));
  })();
  // They settle (failing, or having gone nowhere once the pipe broke) instead of waiting.
  await writes.catch((err: Error) => assert.match(err.message, /failed to unpack layer/));
  await assert.rejects(x.end(), /failed to unpack layer/);
  assert.deepEqual(readdirSync(parent), ['diff'], 'no FIFO left');
});

test('abort mid-way kills tar and resolves once it is gone; no FIFO is left', async () => {
  const plain = await sampleTar();
  const parent = tempDir('berth-extract-');
  const dir = join(parent, 'diff');
  mkdirSync(dir);
  const x = await LayerExtraction.start(dir);
  await x.write(plain.subarray(0, 2000));
  const running = (): boolean => spawnSync('pgrep', ['-f', `^tar -x .* -C ${dir}$`]).status === 0;
  assert.ok(running(), 'tar runs while the layer is written');
  await x.abort();
  assert.equal(running(), false);
  assert.deepEqual(readdirSync(parent), ['diff']);
});

test('the FIFO that feeds tar is gone once tar runs, and after a failed extraction', async () => {
  const parent = tempDir('berth-extract-');
  const dir = join(parent, 'diff');
  mkdirSync(dir);
  const x = await LayerExtraction.start(dir);
  await x.write(await sampleTar());
  await x.end();
  assert.deepEqual(readdirSync(parent), ['diff']);
  const evil = await makeTar([{ name: '/etc/passwd', body: 'x' }]);
  await assert.rejects(extractLayerStream(Readable.from([evil]), dir), /absolute paths are not allowed/);
  assert.deepEqual(readdirSync(parent), ['diff']);
});

test('cleanupTemp lets go of a tar shell left waiting on its FIFO by a killed berthd, and removes the directory', { timeout: 10_000 }, async () => {
  const root = tempDir('berth-extract-');
  const tmp = join(root, '.tmp-0123456789abcdef');
  mkdirSync(join(tmp, 'diff'), { recursive: true });
  const fifo = join(tmp, '.tar-stdin-aaaaaaaaaaaa');
  execFileSync('mkfifo', [fifo]);
  // What the fork server's job does: open the FIFO for reading (blocks: no writer), then tar.
  const waiting = spawn('sh', ['-c', `tar -x -f - -C ${join(tmp, 'diff')} < ${fifo}`], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => waiting.on('exit', (code) => resolve(code)));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(waiting.exitCode, null, 'the reader waits for a writer');
  await new LayerStore(root).cleanupTemp();
  assert.notEqual(await exited, null);
  assert.deepEqual(readdirSync(root), []);
});
