// The stats collector keeps the previous sample of watched containers warm, and only theirs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatsCollector } from '../../../src/container/stats-collector.js';
import type { StatsSample } from '../../../src/container/stats.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('a watched container has a sample at most a tick old; others are not sampled; watching ends', async () => {
  const taken: string[] = [];
  let alive = true;
  const c = new StatsCollector(async (id) => {
    taken.push(id);
    return alive ? { read: new Date().toISOString(), runtime: {}, systemCpu: taken.length } as StatsSample : undefined;
  }, 800, 200);
  try {
    assert.equal(c.recent('a'), undefined);
    const first = await c.now('a');
    assert.ok(first);
    // Too fresh to stand for "a tick ago" right away; then the ticks keep one
    // between a quarter and one and a half ticks old, whenever one asks.
    assert.equal(c.recent('a'), undefined);
    await sleep(260);
    for (let i = 0; i < 12; i++) {
      const r = c.recent('a');
      assert.ok(r, `a recent sample at ${i * 20} ms`);
      const age = Date.now() - Date.parse(r.read);
      assert.ok(age >= 50 && age <= 300, `age ${age}`);
      await sleep(20);
    }
    assert.notEqual(c.recent('a'), first);
    assert.deepEqual([...new Set(taken)], ['a']);
    // Past keepMs nobody asked again: no more sampling, nothing kept.
    await sleep(1400);
    const n = taken.length;
    await sleep(500);
    assert.equal(taken.length, n);
    assert.equal(c.recent('a'), undefined);
    // A container that stops is dropped at the next tick.
    await c.now('b');
    alive = false;
    await sleep(500);
    const m = taken.length;
    await sleep(500);
    assert.equal(taken.length, m);
    assert.equal(c.recent('b'), undefined);
  } finally {
    c.stop();
  }
});
