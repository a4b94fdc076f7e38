import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyResult, initialHealth, mergeHealthcheck, probeCommand, timing, validateHealthcheck } from '../../../src/container/health.js';

const t = timing({ Retries: 2 });
const entry = (ExitCode: number): { Start: string; End: string; ExitCode: number; Output: string } => ({ Start: 's', End: 'e', ExitCode, Output: '' });

test('health state machine: success makes healthy at once, retries failures make unhealthy, start period failures do not count', () => {
  let h = initialHealth();
  h = applyResult(h, entry(1), t, true);
  assert.deepEqual([h.Status, h.FailingStreak, h.Log.length], ['starting', 0, 1]);
  h = applyResult(h, entry(0), t, true);
  assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 0]);
  h = applyResult(h, entry(1), t, false);
  assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 1]);
  h = applyResult(h, entry(1), t, false);
  assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 2]);
  for (let i = 0; i < 10; i++) h = applyResult(h, entry(1), t, false);
  assert.equal(h.Log.length, 5);
  h = applyResult(h, entry(0), t, false);
  assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 0]);
});

test('health config: merge with the image, probe argv, defaults, validation', () => {
  assert.deepEqual(mergeHealthcheck({ Test: ['CMD', 'a'], Interval: 5e9, Retries: 4 }, { Interval: 1e9 }), { Test: ['CMD', 'a'], Interval: 1e9, Retries: 4 });
  assert.deepEqual(mergeHealthcheck(undefined, { Test: ['NONE'] }), { Test: ['NONE'] });
  assert.equal(mergeHealthcheck(undefined, undefined), undefined);
  assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'curl -f x || exit 1'] }), ['/bin/sh', '-c', 'curl -f x || exit 1']);
  assert.deepEqual(probeCommand({ Test: ['CMD', 'true', 'x'] }), ['true', 'x']);
  assert.equal(probeCommand({ Test: ['NONE'] }), undefined);
  assert.equal(probeCommand(undefined), undefined);
  assert.deepEqual(timing({}), { interval: 30000, timeout: 30000, startPeriod: 0, startInterval: 5000, retries: 3 });
  assert.throws(() => validateHealthcheck({ Timeout: 5 }), /Timeout in Healthcheck cannot be less than 1ms/);
  assert.throws(() => validateHealthcheck({ Retries: -2 }), /Retries in Healthcheck cannot be negative/);
  assert.throws(() => validateHealthcheck({ Test: ['SHELL', 'x'] }), /unknown Healthcheck type 'SHELL'/);
  assert.throws(() => validateHealthcheck({ Test: 'x' as unknown as string[] }), /cannot unmarshal/);
});

test('HEALTHCHECK instruction (import -c): flags, exec and shell forms, NONE, errors', async () => {
  const { parseHealthcheck, parseChanges } = await import('../../../src/image/changes.js');
  assert.deepEqual(parseHealthcheck('--interval=5s --retries=2 CMD curl -f http://localhost/ || exit 1'),
    { Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], Interval: 5e9, Retries: 2 });
  assert.deepEqual(parseHealthcheck('--timeout=500ms --start-period=1m --start-interval=2s CMD ["true"]'),
    { Test: ['CMD', 'true'], Timeout: 5e8, StartPeriod: 6e10, StartInterval: 2e9 });
  assert.deepEqual(parseHealthcheck('NONE'), { Test: ['NONE'] });
  assert.deepEqual(parseChanges(['HEALTHCHECK CMD true']).Healthcheck, { Test: ['CMD-SHELL', 'true'] });
  assert.throws(() => parseHealthcheck('--bogus=1 CMD true'), /Unknown flag: bogus/);
  assert.throws(() => parseHealthcheck('--interval=soon CMD true'), /invalid duration/);
  assert.throws(() => parseHealthcheck('RUN true'), /Unknown type "RUN" in HEALTHCHECK/);
});
