// Headers read from a tar file (contents skipped) against tar-stream's
// reading of the same bytes, and unpackFile: GNU tar reading the file itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, readdirSync, lstatSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import tarStream from 'tar-stream';
import { makeTar } from '../../helpers/tar.js';
import { scanTarFile, TarHeaderStream, type TarHeaderInfo } from '../../../src/image/tar-file-scan.js';
import { LayerStore } from '../../../src/image/layer-store.js';
import { sha256File } from '../../../src/lib/hash-pool.js';
import { decompressFile } from '../../../src/image/compression.js';
import { gzipSync } from 'node:zlib';
import { tempDir } from '../../helpers/tmp.js';

const tmp = (p: string): string => tempDir(p);
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function fileOf(buf: Buffer): string {
  const f = join(tmp('berth-scan-'), 'layer.tar');
  writeFileSync(f, buf);
  return f;
}

async function scanned(buf: Buffer): Promise<TarHeaderInfo[]> {
  const out: TarHeaderInfo[] = [];
  await scanTarFile(fileOf(buf), (h) => out.push(h));
  return out;
}

/** TarHeaderStream's reading of `buf` fed in pieces of the given sizes (cycling). */
function headerStreamed(buf: Buffer, sizes: number[]): TarHeaderInfo[] {
  const out: TarHeaderInfo[] = [];
  const scan = new TarHeaderStream((h) => out.push(h));
  for (let off = 0, i = 0; off < buf.length; i++) {
    const n = sizes[i % sizes.length]!;
    scan.write(buf.subarray(off, off + n));
    off += n;
  }
  scan.end();
  return out;
}

const CHUNKINGS = [[1 << 30], [1, 511, 513], [7, 4096], [65536]];

/** What tar-stream reports for the same bytes. */
async function streamed(buf: Buffer): Promise<TarHeaderInfo[]> {
  const out: TarHeaderInfo[] = [];
  const ex = tarStream.extract();
  ex.on('entry', (h, s, next) => {
    out.push({ name: h.name, type: h.type ?? 'file', linkname: h.linkname ?? '', size: h.size ?? 0 });
    s.on('end', next);
    s.resume();
  });
  const done = new Promise<void>((resolve, reject) => { ex.on('finish', resolve); ex.on('error', reject); });
  ex.end(buf);
  await done;
  return out;
}

test('scanTarFile and TarHeaderStream (in any chunking) report what tar-stream reads: ustar prefixes, pax and GNU long names, links, big and empty files', async () => {
  const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
  const src = tmp('berth-scan-src-');
  // ustar has no long names, only its prefix field (a path of 150 characters splits there).
  const prefixed = `u/${'p'.repeat(90)}/${'q'.repeat(50)}`;
  execFileSync('sh', ['-c', [
    `mkdir -p ${long.split('/')[0]} sub ${prefixed.split('/').slice(0, 2).join('/')}`, `printf x > ${long}`, `printf y > ${prefixed}`,
    'head -c 3000000 /dev/urandom > sub/big', ': > sub/empty', `ln -s ${long} sub/longlink`, 'ln sub/big sub/hard', 'mkfifo sub/fifo',
    'ln -s big u/short', 'ln u/../sub/empty u/hard',
  ].join(' && ')], { cwd: src });
  for (const format of ['gnu', 'posix', 'ustar']) {
    const members = format === 'ustar' ? ['u'] : ['.'];
    const buf = execFileSync('tar', ['-c', `--format=${format}`, '-f', '-', '-C', src, ...members], { maxBuffer: 64 << 20 });
    assert.ok((await scanned(buf)).length >= 5, format);
    const expected = await streamed(buf);
    assert.deepEqual(await scanned(buf), expected, format);
    for (const sizes of CHUNKINGS) assert.deepEqual(headerStreamed(buf, sizes), expected, `${format} in pieces of ${sizes.join(',')}`);
  }
  const made = await makeTar([{ name: 'a/', type: 'directory' }, { name: 'a/b', body: 'hello' }, { name: 'a/l', type: 'symlink', linkname: 'b' }]);
  assert.deepEqual(await scanned(made), await streamed(made));
  for (const sizes of CHUNKINGS) assert.deepEqual(headerStreamed(made, sizes), await streamed(made));
});

test('TarHeaderStream refuses what is not tar, stops at the end-of-archive block as GNU tar does, and bounds long-name records', async () => {
  const good = await makeTar([{ name: 'a', body: 'x'.repeat(5000) }, { name: 'b', body: 'y' }]);
  for (const sizes of CHUNKINGS) {
    assert.throws(() => headerStreamed(good.subarray(0, 1024), sizes), /invalid tar archive: unexpected end of data/);
    assert.throws(() => headerStreamed(good.subarray(0, 300), sizes), /invalid tar archive: unexpected end of data/);
    const bad = Buffer.from(good);
    bad[10] = bad[10]! ^ 1;
    assert.throws(() => headerStreamed(bad, sizes), /invalid tar archive: invalid tar header/);
    assert.throws(() => headerStreamed(Buffer.from('not a tar archive, not at all'.repeat(40)), sizes), /invalid tar archive/);
    // What follows the first zero block is not read (GNU tar stops there too, with "A lone zero block").
    const entryA = good.subarray(0, 512 + 5120);
    const lone = Buffer.concat([entryA, Buffer.alloc(512), good.subarray(entryA.length), randomBytes(3000)]);
    assert.deepEqual(headerStreamed(lone, sizes).map((h) => h.name), ['a']);
  }
  // A pax size that is not a plain decimal number, or an octal size that is not octal: refused, streamed or from a file.
  for (const bad of ['1e3', '-1', '0x10', '']) {
    const withPax = await makeTar([{ name: 'f', body: 'x', pax: { size: bad } }]);
    assert.throws(() => headerStreamed(withPax, [512]), /invalid tar archive: invalid size in the header of "f"/, `pax size ${JSON.stringify(bad)}`);
    await assert.rejects(scanned(withPax), /invalid size in the header/);
  }
  // A stream with nothing in it is an archive with no entries (as tar-stream had it).
  assert.deepEqual(headerStreamed(Buffer.alloc(0), [1]), []);
  // A GNU long name beyond 1 MiB is refused before it is gathered.
  const huge = execFileSync('tar', ['-c', '--format=gnu', '-f', '-', '-C', tmp('berth-scan-'), '.'], { maxBuffer: 1 << 20 });
  const longHeader = Buffer.from(huge.subarray(0, 512));
  longHeader.write('././@LongLink\0', 0, 'latin1');
  longHeader[156] = 'L'.charCodeAt(0);
  longHeader.write(`${(2 << 20).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  longHeader.fill(' ', 148, 156);
  let sum = 0;
  for (const b of longHeader) sum += b;
  longHeader.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  assert.throws(() => headerStreamed(longHeader, [512]), /invalid tar archive: a long name or pax header of 2097152 bytes/);
});

test('scanTarFile refuses what is not a whole tar: truncated, a bad checksum, another format, empty', async () => {
  const good = await makeTar([{ name: 'a', body: 'x'.repeat(5000) }, { name: 'b', body: 'y' }]);
  await assert.rejects(scanned(good.subarray(0, 1024)), /invalid tar archive: unexpected end of data/);
  const bad = Buffer.from(good);
  bad[10] = bad[10]! ^ 1;
  await assert.rejects(scanned(bad), /invalid tar archive: invalid tar header/);
  await assert.rejects(scanned(Buffer.from('not a tar archive, not at all'.repeat(40))), /invalid tar archive/);
  await assert.rejects(scanned(Buffer.alloc(0)), /invalid tar archive/);
  // The end-of-archive blocks alone: an empty layer.
  assert.deepEqual(await scanned(Buffer.alloc(1024)), []);
});

test('unpackFile: GNU tar unpacks the file, whiteouts become overlay whiteouts; a hostile entry, a wrong digest or a broken file leave nothing', async () => {
  const root = tmp('berth-layers-');
  const layers = new LayerStore(root);
  const body = randomBytes(200_000);
  const tar = await makeTar([
    { name: 'etc/', type: 'directory' }, { name: 'etc/.wh.passwd', body: '' }, { name: 'etc/data', body: body.toString('base64') },
    { name: 'etc/link', type: 'symlink', linkname: 'data' },
  ]);
  const file = fileOf(tar);
  assert.equal((await sha256File(file)).digest, sha(tar));
  const rec = await layers.unpackFile(file, { expectedDiffId: sha(tar), diffId: sha256File(file).then((d) => d.digest) });
  const dir = layers.path(rec.chainId);
  assert.equal(readFileSync(join(dir, 'etc/data'), 'utf8'), body.toString('base64'));
  assert.equal(rec.size, body.toString('base64').length);
  const wh = lstatSync(join(dir, 'etc/passwd'));
  assert.ok(wh.isCharacterDevice() && wh.rdev === 0);
  const before = readdirSync(root).sort();

  const hostile = fileOf(await makeTar([{ name: 'x', type: 'symlink', linkname: '/etc' }, { name: 'x/passwd', body: 'pwned' }]));
  await assert.rejects(layers.unpackFile(hostile, { expectedDiffId: 'sha256:0', diffId: sha256File(hostile).then((d) => d.digest) }), /reached through the symlink/);
  await assert.rejects(layers.unpackFile(file, { parent: rec.chainId, expectedDiffId: `sha256:${'0'.repeat(64)}`, diffId: sha256File(file).then((d) => d.digest) }), /diff id mismatch/);
  const truncated = fileOf(tar.subarray(0, 2048));
  await assert.rejects(layers.unpackFile(truncated, { expectedDiffId: sha(tar), diffId: sha256File(truncated).then((d) => d.digest) }), /unexpected end of data/);
  // The file goes (the load fails) before its hash ends: that late failure is nobody's error.
  const late = new Promise<string>((_resolve, reject) => setTimeout(() => reject(new Error('ENOENT: the file went')), 20));
  await assert.rejects(layers.unpackFile(truncated, { expectedDiffId: sha(tar), diffId: late }), /unexpected end of data/);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(readdirSync(root).sort(), before, 'nothing left of the failed unpacks');
});

test('sha256File fails cleanly for a missing file', async () => {
  await assert.rejects(sha256File('/nonexistent/berth-file'), /ENOENT/);
});

test('decompressFile: gzip and zstd from file to file; damaged or cut data is refused with the tool\'s reason', async () => {
  const data = Buffer.concat([randomBytes(300_000), Buffer.from('text '.repeat(100_000))]);
  const dir = tmp('berth-decompress-');
  const gz = join(dir, 'l.gz');
  writeFileSync(gz, gzipSync(data));
  await decompressFile(gz, join(dir, 'from-gz'), 'gzip');
  assert.ok(readFileSync(join(dir, 'from-gz')).equals(data));
  const zst = join(dir, 'l.zst');
  writeFileSync(zst, execFileSync('zstd', ['-c', '-q'], { input: data, maxBuffer: 16 << 20 }));
  await decompressFile(zst, join(dir, 'from-zst'), 'zstd');
  assert.ok(readFileSync(join(dir, 'from-zst')).equals(data));
  const cut = join(dir, 'cut.gz');
  writeFileSync(cut, gzipSync(data).subarray(0, 5000));
  await assert.rejects(decompressFile(cut, join(dir, 'from-cut'), 'gzip'), /invalid gzip layer: .*unexpected end of file/);
  await assert.rejects(decompressFile(join(dir, 'missing.gz'), join(dir, 'x'), 'gzip'), /invalid gzip layer: .*No such file/);
});
