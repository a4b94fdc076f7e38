// eachChunk: the producer's chunks, one at a time, never concatenated, with
// the consumer's promises as backpressure, and every way of failing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { eachChunk } from '../../../src/lib/each-chunk.js';

test('a slow consumer gets the chunks as they were written, not a concatenation of what piled up', async () => {
  const s = new PassThrough({ highWaterMark: 1 << 20 });
  const sizes = [1000, 2000, 3000, 4000, 5000, 6000];
  for (const n of sizes) s.write(Buffer.alloc(n, n / 1000));
  s.end();
  const seen: number[] = [];
  await eachChunk(s, async (c) => {
    seen.push(c.length);
    assert.ok(c.every((b) => b === c.length / 1000));
    await sleep(5);
  });
  assert.deepEqual(seen, sizes);
});

test('no chunk comes while the previous one is being consumed, and the end waits for the last one', async () => {
  const chunks = Array.from({ length: 20 }, (_, i) => Buffer.from(`chunk ${i};`));
  let active = 0;
  let last = false;
  const got: string[] = [];
  await eachChunk(Readable.from(chunks), (c) => {
    assert.equal(active, 0);
    got.push(c.toString());
    // Every third chunk is taken synchronously: no promise, no pause.
    if (got.length % 3 === 0) return undefined;
    active++;
    return sleep(2).then(() => {
      active--;
      if (got.length === chunks.length) last = true;
    });
  });
  assert.equal(got.join(''), chunks.join(''));
  assert.ok(last, 'resolved before the last chunk was consumed');
});

test('a consumer that throws or rejects fails it, and the stream is destroyed', async () => {
  const a = Readable.from([Buffer.from('a'), Buffer.from('b')]);
  await assert.rejects(eachChunk(a, () => { throw new Error('thrown'); }), /thrown/);
  assert.ok(a.destroyed);
  const b = Readable.from([Buffer.from('a'), Buffer.from('b')]);
  await assert.rejects(eachChunk(b, () => Promise.reject(new Error('rejected'))), /rejected/);
  assert.ok(b.destroyed);
});

test('the stream\'s error and a premature close fail it', async () => {
  const a = new PassThrough();
  const pa = eachChunk(a, () => undefined);
  a.write('x');
  a.destroy(new Error('boom'));
  await assert.rejects(pa, /boom/);
  const b = new PassThrough();
  const pb = eachChunk(b, () => undefined);
  b.write('x');
  b.destroy();
  await assert.rejects(pb, /premature close/i);
});

test('an empty stream resolves without a call', async () => {
  let calls = 0;
  await eachChunk(Readable.from([]), () => { calls++; return undefined; });
  assert.equal(calls, 0);
});
