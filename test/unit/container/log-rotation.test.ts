import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, appendFileSync, existsSync, readdirSync, renameSync, openSync, closeSync, readSync, constants } from 'node:fs';
import { join } from 'node:path';
import { readLogs, rotatedLogFiles, type ReadLogsOptions } from '../../../src/container/logs.js';
import { rotateLog } from '../../../src/container/log-rotator.js';
import { resolveLogConfig, rotationLimits, DEFAULT_LOG_CONFIG } from '../../../src/container/log-config.js';
import { InvalidParameterError } from '../../../src/lib/errors.js';
import { tempDir } from '../../helpers/tmp.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const ts = (i: number): string => new Date(T0 + i * 1000).toISOString().replace('Z', '000000+00:00');
const line = (i: number): string => `${ts(i)} stdout F n${i}\n`;
const lines = (from: number, to: number): string => Array.from({ length: to - from }, (_, k) => line(from + k)).join('');
const ns = (i: number): bigint => BigInt(T0 + i * 1000) * 1_000_000n;

async function collect(path: string, opts: ReadLogsOptions = {}): Promise<number[]> {
  const out: number[] = [];
  for await (const r of readLogs(path, opts)) out.push(Number(r.data.toString().trim().slice(1)));
  return out;
}
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k);

test('log config: Docker merge of daemon defaults, Docker messages for bad options', () => {
  assert.deepEqual(resolveLogConfig(undefined), DEFAULT_LOG_CONFIG);
  assert.deepEqual(Object.entries(resolveLogConfig({ Type: '', Config: { 'max-size': '1m' } }).Config), [['max-file', '5'], ['max-size', '1m']]);
  // Another driver does not inherit the default driver's options.
  assert.deepEqual(resolveLogConfig({ Type: 'none', Config: {} }), { Type: 'none', Config: {} });
  assert.deepEqual(rotationLimits({ Type: 'json-file', Config: { 'max-size': '10k', 'max-file': '3' } }), { maxSize: 10_000, maxFile: 3 });
  assert.equal(rotationLimits({ Type: 'json-file', Config: {} }), undefined);
  assert.deepEqual(rotationLimits({ Type: 'local', Config: {} }), { maxSize: 20_000_000, maxFile: 5 });
  assert.equal(rotationLimits({ Type: 'json-file', Config: { 'max-size': '-1' } }), undefined);
  const bad: Array<[Record<string, string>, RegExp, string?]> = [
    [{ 'max-file': '0' }, /^max-file cannot be less than 1$/],
    [{ 'max-file': 'x' }, /invalid syntax/],
    [{ 'max-size': '0' }, /^max-size must be a positive number$/],
    [{ 'max-size': 'lots' }, /^invalid size: 'lots'$/],
    [{ compress: 'maybe' }, /ParseBool/],
    [{ colour: 'red' }, /^unknown log opt 'colour' for json-file log driver$/],
    [{ labels: 'a' }, /^unknown log opt 'labels' for local log driver$/, 'local'],
  ];
  for (const [Config, re, Type] of bad) {
    assert.throws(() => resolveLogConfig({ Type: Type ?? 'json-file', Config }), (e: unknown) => e instanceof InvalidParameterError && re.test(e.message));
  }
  assert.throws(() => resolveLogConfig({ Type: 'syslog', Config: {} }), /no log driver named 'syslog' is registered/);
});

test('a rotated chain reads as one log: all, tail across files, since across files', async () => {
  const dir = tempDir('berth-rot-');
  const p = join(dir, 'container.log');
  writeFileSync(`${p}.2`, lines(0, 10));
  writeFileSync(`${p}.1`, lines(10, 20));
  writeFileSync(p, lines(20, 25));
  writeFileSync(`${p}.tmp`, 'not part of the chain\n');
  assert.deepEqual(await rotatedLogFiles(p), [`${p}.2`, `${p}.1`]);
  assert.deepEqual(await collect(p), range(0, 25));
  assert.deepEqual(await collect(p, { tail: 3 }), range(22, 25));
  assert.deepEqual(await collect(p, { tail: 5 }), range(20, 25));
  assert.deepEqual(await collect(p, { tail: 12 }), range(13, 25));
  assert.deepEqual(await collect(p, { tail: 100 }), range(0, 25));
  assert.deepEqual(await collect(p, { sinceNs: ns(4) }), range(4, 25));
  assert.deepEqual(await collect(p, { sinceNs: ns(15), untilNs: ns(21) }), range(15, 22));
  assert.deepEqual(await collect(p, { sinceNs: ns(12), tail: 4 }), range(21, 25));
  assert.deepEqual(await collect(p, { sinceNs: ns(99) }), []);
  // Mid-rotation the current file is missing; the rotated ones still read.
  renameSync(p, `${p}.0x`);
  assert.deepEqual(await collect(p, { tail: 2 }), range(18, 20));
});

/** Plays conmon's part: on "2 0 0" from the control fifo, reopen the log as conmon does (tmp file, rename). */
function fakeConmon(ctl: string, logPath: string): { stop: () => void; reopens: () => number } {
  execFileSync('mkfifo', [ctl]);
  let count = 0;
  // Non-blocking read end first (a blocking open would wait for a writer), then
  // a writer of our own, as conmon holds, so the reader never sees end-of-file.
  const rfd = openSync(ctl, constants.O_RDONLY | constants.O_NONBLOCK);
  const dummy = openSync(ctl, 'w');
  const buf = Buffer.alloc(256);
  const timer = setInterval(() => {
    let n: number;
    try {
      n = readSync(rfd, buf, 0, buf.length, null);
    } catch {
      return; // EAGAIN: nothing sent
    }
    for (const msg of buf.subarray(0, n).toString().split('\n').filter(Boolean)) {
      if (msg !== '2 0 0') continue;
      count++;
      writeFileSync(`${logPath}.tmp`, '');
      renameSync(`${logPath}.tmp`, logPath);
    }
  }, 5);
  return { stop: () => { clearInterval(timer); closeSync(rfd); closeSync(dummy); }, reopens: () => count };
}

test('rotateLog shifts files, drops the oldest and has the monitor reopen', async () => {
  const dir = tempDir('berth-rot-');
  const p = join(dir, 'container.log');
  const ctl = join(dir, 'ctl');
  const conmon = fakeConmon(ctl, p);
  try {
    writeFileSync(p, lines(0, 5));
    await rotateLog(p, ctl, 3);
    appendFileSync(p, lines(5, 10));
    await rotateLog(p, ctl, 3);
    appendFileSync(p, lines(10, 15));
    await rotateLog(p, ctl, 3);
    appendFileSync(p, lines(15, 17));
    assert.equal(conmon.reopens(), 3);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('container.log')).sort(), ['container.log', 'container.log.1', 'container.log.2']);
    assert.deepEqual(await collect(p), range(5, 17));
    // max-file 1: one file, the rotated one dropped after the reopen.
    await rotateLog(p, ctl, 1);
    assert.ok(!existsSync(`${p}.1`));
    appendFileSync(p, line(17));
    assert.deepEqual(await collect(p, { tail: 1 }), [17]);
  } finally {
    conmon.stop();
  }
});

test('rotateLog without a monitor (container exiting) still rotates and does not hang', async () => {
  const dir = tempDir('berth-rot-');
  const p = join(dir, 'container.log');
  const ctl = join(dir, 'ctl');
  execFileSync('mkfifo', [ctl]);
  writeFileSync(p, lines(0, 3));
  await rotateLog(p, ctl, 2);
  assert.ok(!existsSync(p));
  assert.deepEqual(await collect(p), range(0, 3));
});

test('follow crosses a rotation without losing or repeating a line', async () => {
  const dir = tempDir('berth-rot-');
  const p = join(dir, 'container.log');
  const ctl = join(dir, 'ctl');
  writeFileSync(p, lines(0, 3));
  let done = false;
  const seen: number[] = [];
  const reader = (async () => {
    for await (const r of readLogs(p, { follow: true, isDone: () => done })) seen.push(Number(r.data.toString().trim().slice(1)));
  })();
  const until = async (n: number): Promise<void> => {
    for (let i = 0; i < 300 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  };
  await until(3);
  // A slow monitor: lines land in the renamed file before the reopen.
  renameSync(p, `${p}.1`);
  appendFileSync(`${p}.1`, lines(3, 6));
  await until(6);
  writeFileSync(`${p}.tmp`, '');
  renameSync(`${p}.tmp`, p);
  appendFileSync(p, lines(6, 9));
  await until(9);
  // And a second rotation through the real function.
  const conmon = fakeConmon(ctl, p);
  try {
    await rotateLog(p, ctl, 2);
    appendFileSync(p, lines(9, 12));
    await until(12);
  } finally {
    conmon.stop();
  }
  done = true;
  await reader;
  assert.deepEqual(seen, range(0, 12));
});
