import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStartTime, processStartTime } from '../../../src/lib/proc-stat.js';

test('a process start time from /proc/PID/stat, even with spaces and parentheses in its name', () => {
  const fields = (comm: string): string => `4242 (${comm}) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200 18446744073709551615`;
  assert.equal(parseStartTime(fields('sleep')), 987654);
  assert.equal(parseStartTime(fields('a b) (c')), 987654);
  assert.equal(parseStartTime('garbage'), undefined);
  // This process: a number that stays the same while it lives; no process, nothing.
  const mine = processStartTime(process.pid);
  assert.ok(Number.isInteger(mine) && mine! > 0);
  assert.equal(processStartTime(process.pid), mine);
  assert.equal(processStartTime(2 ** 22 + 1), undefined);
});
