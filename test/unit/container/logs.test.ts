import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, appendFileSync, openSync, writeSync, closeSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseLogLine, formatDockerTimestamp, readLogs, type ReadLogsOptions } from '../../../src/container/logs.js';
import { tempDir } from '../../helpers/tmp.js';

const dir = tempDir('berth-logs-');
const T0 = Date.parse('2026-01-01T00:00:00Z');
const ts = (i: number): string => new Date(T0 + i * 1000).toISOString().replace('Z', '000000+00:00');
const line = (i: number, text: string, stream = 'stdout', tag = 'F'): string => `${ts(i)} ${stream} ${tag} ${text}\n`;

async function collect(path: string, opts: ReadLogsOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const r of readLogs(path, opts)) out.push(`${r.stream}:${r.data.toString()}`);
  return out;
}

test('parseLogLine: full and partial records, bad lines', () => {
  const r = parseLogLine('2026-11-22T15:40:01.123456789+00:00 stderr F boom')!;
  assert.equal(r.stream, 'stderr');
  assert.equal(r.data.toString(), 'boom\n');
  assert.equal(r.timeNs, BigInt(Date.parse('2026-11-22T15:40:01Z')) * 1_000_000n + 123456789n);
  assert.equal(parseLogLine('2026-11-22T15:40:01.1+02:00 stdout P part')!.data.toString(), 'part');
  assert.equal(parseLogLine('garbage'), undefined);
  assert.equal(parseLogLine('2026-11-22T15:40:01Z stdin F x'), undefined);
  assert.equal(formatDockerTimestamp(1_700_000_000_120_000_000n), '2023-11-14T22:13:20.12Z');
  assert.equal(formatDockerTimestamp(1_700_000_000_000_000_000n), '2023-11-14T22:13:20Z');
});

test('tail, since and until', async () => {
  const p = join(dir, 'small.log');
  writeFileSync(p, [0, 1, 2, 3, 4].map((i) => line(i, `l${i}`, i === 2 ? 'stderr' : 'stdout')).join('') + line(5, 'par', 'stdout', 'P') + line(5, 'tial'));
  assert.equal((await collect(p)).length, 7);
  assert.deepEqual(await collect(p, { tail: 2 }), ['stdout:par', 'stdout:tial\n']);
  assert.deepEqual(await collect(p, { tail: 0 }), []);
  assert.equal((await collect(p, { tail: 100 })).length, 7);
  const ns = (i: number): bigint => BigInt(T0 + i * 1000) * 1_000_000n;
  assert.deepEqual(await collect(p, { sinceNs: ns(3), untilNs: ns(4) }), ['stdout:l3\n', 'stdout:l4\n']);
  assert.deepEqual(await collect(p, { sinceNs: ns(2), untilNs: ns(2) }), ['stderr:l2\n']);
  assert.deepEqual(await collect(join(dir, 'missing.log')), []);
});

test('tail and since on a large file read only a little of it', async () => {
  const p = join(dir, 'big.log');
  const fd = openSync(p, 'w');
  const long = 'x'.repeat(100_000);
  let chunk = '';
  const n = 400_000;
  for (let i = 0; i < n; i++) {
    chunk += line(i, i === n - 2 ? long : `line ${i}`);
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
  const stats = { bytesRead: 0 };
  const tail = await collect(p, { tail: 3, stats });
  assert.deepEqual(tail.map((l) => l.length), [`stdout:line ${n - 3}\n`.length, 'stdout:'.length + long.length + 1, `stdout:line ${n - 1}\n`.length]);
  assert.ok(stats.bytesRead < 1_000_000, `tail read ${stats.bytesRead} bytes`);
  const s2 = { bytesRead: 0 };
  const since = await collect(p, { sinceNs: BigInt(T0 + (n - 5) * 1000) * 1_000_000n, tail: undefined, stats: s2 });
  assert.equal(since.length, 5);
  assert.equal(since[0], `stdout:line ${n - 5}\n`);
  assert.ok(s2.bytesRead < 2_000_000, `since read ${s2.bytesRead} bytes`);
  rmSync(p);
});

test('follow sees appended lines, waits for complete lines and ends when done', async () => {
  const p = join(dir, 'follow.log');
  writeFileSync(p, line(0, 'first'));
  let done = false;
  let wakeFn: (() => void) | undefined;
  const seen: string[] = [];
  const reader = (async () => {
    for await (const r of readLogs(p, { follow: true, isDone: () => done, wake: (fn) => { wakeFn = fn; return () => undefined; } })) {
      seen.push(r.data.toString());
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  appendFileSync(p, line(1, 'second').slice(0, 20));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(seen, ['first\n']);
  appendFileSync(p, line(1, 'second').slice(20));
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(seen, ['first\n', 'second\n']);
  appendFileSync(p, line(2, 'third'));
  done = true;
  const t0 = Date.now();
  wakeFn?.();
  await reader;
  assert.ok(Date.now() - t0 < 900, 'wake ends the follow at once');
  assert.deepEqual(seen, ['first\n', 'second\n', 'third\n']);
});
