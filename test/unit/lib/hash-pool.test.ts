import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cpuHasSha256Instructions, cpuinfoHasSha256, gunzipFile, sha256File, sha256Stream } from '../../../src/lib/hash-pool.js';
import { tempDir } from '../../helpers/tmp.js';

const expected = (parts: Buffer[]): string => `sha256:${createHash('sha256').update(Buffer.concat(parts)).digest('hex')}`;

for (const where of ['worker', 'inline'] as const) {
  test(`${where} hashes equal crypto sha256 however the data is cut: tiny, batch-sized, huge and empty chunks, several at once`, async () => {
    const MiB = 1024 * 1024;
    const cuts: Buffer[][] = [
      [],
      [Buffer.alloc(0)],
      Array.from({ length: 300 }, () => randomBytes(1000)),
      [randomBytes(MiB), randomBytes(MiB)],
      [randomBytes(MiB - 1), randomBytes(2), randomBytes(3 * MiB + 7)],
      [randomBytes(20 * MiB)],
    ];
    const results = await Promise.all(cuts.map(async (parts) => {
      const h = sha256Stream(where);
      for (const p of parts) await h.update(p);
      return h.digest();
    }));
    results.forEach((r, i) => assert.equal(r, expected(cuts[i]!), `cut ${i}`));
    // The caller may reuse its buffer at once: what was passed is what is hashed.
    const reused = Buffer.alloc(64 * 1024, 1);
    const h = sha256Stream(where);
    const seen: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      reused.fill(i);
      seen.push(Buffer.from(reused));
      await h.update(reused);
    }
    assert.equal(await h.digest(), expected(seen));
    // A dropped hash leaves the others alone.
    const a = sha256Stream(where);
    const b = sha256Stream(where);
    await a.update(Buffer.from('a'));
    b.drop();
    assert.equal(await a.digest(), expected([Buffer.from('a')]));
  });
}

test('sha256File and gunzipFile on workers: digests and sizes of both sides, the inflated file whole; damaged gzip refused', async () => {
  const dir = tempDir('berth-hashfile-');
  const data = Buffer.concat([randomBytes(3_000_000), Buffer.from('compressible '.repeat(200_000))]);
  const gz = gzipSync(data);
  writeFileSync(join(dir, 'l.gz'), gz);
  writeFileSync(join(dir, 'plain'), data);
  assert.deepEqual(await sha256File(join(dir, 'plain')), { digest: expected([data]), size: data.length });
  // Several at once, as a load of several layers asks.
  const [a, b] = await Promise.all([gunzipFile(join(dir, 'l.gz'), join(dir, 'a')), gunzipFile(join(dir, 'l.gz'), join(dir, 'b'))]);
  for (const r of [a, b]) {
    assert.deepEqual(r.packed, { digest: expected([gz]), size: gz.length });
    assert.deepEqual(r.plain, { digest: expected([data]), size: data.length });
  }
  assert.ok(readFileSync(join(dir, 'a')).equals(data));
  writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, gz.length >> 1));
  await assert.rejects(gunzipFile(join(dir, 'cut.gz'), join(dir, 'c')), /unexpected end of file/);
  writeFileSync(join(dir, 'not.gz'), data.subarray(0, 1000));
  await assert.rejects(gunzipFile(join(dir, 'not.gz'), join(dir, 'd')), /incorrect header check/);
});

test('SHA-256 instructions are read from cpuinfo: x86 sha_ni and arm64 sha2 count, look-alikes and other lines do not', () => {
  assert.equal(cpuinfoHasSha256('processor\t: 0\nflags\t\t: fpu vme avx2 sha_ni xsaves\n'), true);
  assert.equal(cpuinfoHasSha256('processor\t: 0\nflags\t\t: fpu vme avx2 sha_ni\n'), true);
  assert.equal(cpuinfoHasSha256('processor\t: 0\nFeatures\t: fp asimd aes pmull sha1 sha2 crc32\n'), true);
  assert.equal(cpuinfoHasSha256('processor\t: 0\nflags\t\t: fpu vme avx2 avx512f xsaves\n'), false);
  assert.equal(cpuinfoHasSha256('Features\t: fp asimd sha1 sha512 sha3\n'), false);
  assert.equal(cpuinfoHasSha256('model name\t: sha_ni emulator\nflags\t\t: fpu\n'), false);
  assert.equal(cpuinfoHasSha256(''), false);
  // This machine's answer is what its own cpuinfo says.
  assert.equal(cpuHasSha256Instructions(), cpuinfoHasSha256(readFileSync('/proc/cpuinfo', 'latin1')));
});
