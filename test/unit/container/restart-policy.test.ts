import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shouldRestart, nextDelay, startsWithDaemon, FIRST_DELAY_MS, MAX_DELAY_MS } from '../../../src/container/restart-policy.js';

const p = (Name: string, MaximumRetryCount = 0): { Name: string; MaximumRetryCount: number } => ({ Name, MaximumRetryCount });

test('which exits restart a container', () => {
  assert.equal(shouldRestart(p('no'), 1, 0, false), false);
  assert.equal(shouldRestart(p('always'), 0, 5, false), true);
  assert.equal(shouldRestart(p('always'), 1, 0, true), false, 'never after a manual stop');
  assert.equal(shouldRestart(p('unless-stopped'), 0, 0, false), true);
  assert.equal(shouldRestart(p('on-failure'), 0, 0, false), false);
  assert.equal(shouldRestart(p('on-failure'), 2, 100, false), true, 'no maximum');
  assert.equal(shouldRestart(p('on-failure', 3), 2, 2, false), true);
  assert.equal(shouldRestart(p('on-failure', 3), 2, 3, false), false);
});

test('back-off doubles up to a minute and resets after a long run', () => {
  assert.equal(nextDelay(undefined, 0), FIRST_DELAY_MS);
  assert.equal(nextDelay(100, 50), 200);
  assert.equal(nextDelay(40_000, 50), MAX_DELAY_MS);
  assert.equal(nextDelay(MAX_DELAY_MS, 50), MAX_DELAY_MS);
  assert.equal(nextDelay(3200, 15_000), FIRST_DELAY_MS);
});

test('which containers come back with the daemon', () => {
  assert.equal(startsWithDaemon(p('always'), true, true), true);
  assert.equal(startsWithDaemon(p('always'), false, false), false, 'never started: stays created');
  assert.equal(startsWithDaemon(p('unless-stopped'), true, false), true);
  assert.equal(startsWithDaemon(p('unless-stopped'), true, true), false);
  assert.equal(startsWithDaemon(p('on-failure'), true, false), false);
  assert.equal(startsWithDaemon(p('no'), true, false), false);
});
