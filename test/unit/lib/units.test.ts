import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, humanSize, bytesSize, ramInBytes, parseGoDuration, containerStatusString } from '../../../src/lib/units.js';
import { parseTimestamp } from '../../../src/lib/timestamps.js';

const S = 1000, M = 60 * S, H = 60 * M, D = 24 * H;

test('humanDuration matches go-units', () => {
  const cases: [number, string][] = [
    [999, 'Less than a second'], [S, '1 second'], [59 * S, '59 seconds'], [60 * S, 'About a minute'],
    [119 * S, 'About a minute'], [2 * M, '2 minutes'], [59 * M, '59 minutes'], [60 * M, 'About an hour'],
    [47 * H, '47 hours'], [48 * H, '2 days'], [13 * D, '13 days'], [15 * D, '2 weeks'], [70 * D, '2 months'],
    [800 * D, '2 years'],
  ];
  for (const [ms, s] of cases) assert.equal(humanDuration(ms), s, String(ms));
});

test('sizes', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSize(1979712), '1.98MB');
  assert.equal(humanSize(4260000), '4.26MB');
  assert.equal(bytesSize(1536 * 1024), '1.5MiB');
  assert.equal(ramInBytes('256m'), 256 * 1024 * 1024);
  assert.equal(ramInBytes('1g'), 1024 ** 3);
  assert.equal(ramInBytes('1.5k'), 1536);
  assert.equal(ramInBytes('10b'), 10);
  assert.throws(() => ramInBytes('lots'));
});

test('Go durations', () => {
  assert.equal(parseGoDuration('1m30s'), 90_000);
  assert.equal(parseGoDuration('1.5h'), 5_400_000);
  assert.equal(parseGoDuration('300ms'), 300);
  assert.equal(parseGoDuration('-1s'), -1000);
  assert.equal(parseGoDuration('0'), 0);
  assert.throws(() => parseGoDuration('x'), /time: invalid duration "x"/);
  assert.throws(() => parseGoDuration('10'), /invalid duration/);
});

test('ps STATUS strings', () => {
  const now = Date.parse('2026-01-01T00:01:00Z');
  const at = (ago: number): string => new Date(now - ago).toISOString();
  assert.equal(containerStatusString({ status: 'created' }, now), 'Created');
  assert.equal(containerStatusString({ status: 'running', startedAt: at(5 * S) }, now), 'Up 5 seconds');
  assert.equal(containerStatusString({ status: 'running', startedAt: at(100) }, now), 'Up Less than a second');
  assert.equal(containerStatusString({ status: 'paused', startedAt: at(2 * M) }, now), 'Up 2 minutes (Paused)');
  assert.equal(containerStatusString({ status: 'running', startedAt: at(3 * M), health: 'healthy' }, now), 'Up 3 minutes (healthy)');
  assert.equal(containerStatusString({ status: 'running', startedAt: at(S), health: 'starting' }, now), 'Up 1 second (health: starting)');
  assert.equal(containerStatusString({ status: 'exited', exitCode: 0, finishedAt: at(3 * S) }, now), 'Exited (0) 3 seconds ago');
  assert.equal(containerStatusString({ status: 'exited', exitCode: 137, finishedAt: at(10) }, now), 'Exited (137) Less than a second ago');
  assert.equal(containerStatusString({ status: 'restarting', exitCode: 1, finishedAt: at(2 * S) }, now), 'Restarting (1) 2 seconds ago');
  assert.equal(containerStatusString({ status: 'removing' }, now), 'Removal In Progress');
  assert.equal(containerStatusString({ status: 'dead' }, now), 'Dead');
});

test('--since/--until timestamps', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseTimestamp('1700000000', now), 1_700_000_000_000_000_000n);
  assert.equal(parseTimestamp('1700000000.5', now), 1_700_000_000_500_000_000n);
  assert.equal(parseTimestamp('2026-01-01T00:00:00Z', now), BigInt(now) * 1_000_000n);
  assert.equal(parseTimestamp('2026-01-01T01:00:00+01:00', now), BigInt(now) * 1_000_000n);
  assert.equal(parseTimestamp('2026-01-01T00:00:00.000000123Z', now), BigInt(now) * 1_000_000n + 123n);
  assert.equal(parseTimestamp('10m', now), BigInt(now - 10 * M) * 1_000_000n);
  assert.throws(() => parseTimestamp('yesterday-ish', now));
});
