// The pure parts of --cache-from: chain keys, reading an image's inline cache, matching a step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseChain, CacheSources, chainKey, INLINE_CACHE_KEY, readInlineCache } from '../../../src/build/inline-cache.js';
import type { ImageRecord, OciImageConfig } from '../../../src/image/image-store.js';

const d = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;

function image(diffIds: string[], history: number, entries: unknown): ImageRecord {
  const config = {
    architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds },
    history: Array.from({ length: history }, (_, i) => ({ created_by: `step ${i}` })),
    [INLINE_CACHE_KEY]: entries,
  } as unknown as OciImageConfig;
  return { id: 'sha256:img', manifestDigest: '', config, layers: [], layerBlobs: [], size: 0, repoDigests: [], repoTags: [] };
}

test('chain keys depend on the whole chain and on every part, not on anything else', () => {
  const a = chainKey(baseChain('sha256:base'), ['run', ['sh', '-c', 'x']]);
  assert.equal(a, chainKey(baseChain('sha256:base'), ['run', ['sh', '-c', 'x']]));
  assert.notEqual(a, chainKey(baseChain('sha256:other'), ['run', ['sh', '-c', 'x']]));
  assert.notEqual(a, chainKey(baseChain('sha256:base'), ['run', ['sh', '-c', 'y']]));
  assert.notEqual(chainKey(a, ['meta']), chainKey(chainKey(baseChain('sha256:base'), ['run', ['sh', '-c', 'y']]), ['meta']));
  assert.equal(baseChain(undefined), 'scratch');
  assert.match(a, /^sha256:[0-9a-f]{64}$/);
});

test('an inline cache is read only as far as it fits its image', () => {
  const ok = { chain: 'c1', layers: 2, history: 3 };
  const img = image([d(1), d(2)], 3, [ok, { chain: 'c2', layers: 3, history: 3 }, { chain: 'c3', layers: 1, history: 0 }, { chain: 4, layers: 1, history: 1 }, null, 'x']);
  assert.deepEqual(readInlineCache(img.config), [ok]);
  assert.deepEqual(readInlineCache(image([d(1)], 1, undefined).config), []);
  assert.deepEqual(readInlineCache(image([d(1)], 1, { chain: 'c1' }).config), []);
});

test('a step matches only on top of the same layers, adding at most one', () => {
  const sources = new CacheSources();
  const img = image([d(1), d(2), d(3)], 5, [
    { chain: 'run1', layers: 2, history: 2 },
    { chain: 'env', layers: 2, history: 3 },
    { chain: 'run2', layers: 3, history: 4 },
  ]);
  assert.equal(sources.add(img), 3);
  assert.equal(sources.size, 3);
  assert.deepEqual(sources.find('run1', [d(1)]), { image: img, layers: 2, history: 2 });
  assert.equal(sources.find('run1', [d(9)])?.layers, undefined, 'other base layers');
  assert.equal(sources.find('run2', [d(1)]), undefined, 'two layers would be added');
  assert.equal(sources.find('env', [d(1), d(2)])?.history, 3);
  assert.equal(sources.find('run2', [d(1), d(7)]), undefined, 'a different layer below');
  assert.equal(sources.find('nope', [d(1)]), undefined);
  // The first source that has a chain key keeps it.
  const later = image([d(1), d(5)], 2, [{ chain: 'run1', layers: 2, history: 2 }]);
  assert.equal(sources.add(later), 1);
  assert.equal(sources.find('run1', [d(1)])?.image, img);
});
