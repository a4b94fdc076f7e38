import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { parseStartTime, processStartTime, processStat } from '../../../src/lib/proc-stat.js';

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

test('processStat: state and start time; a zombie shows as Z; no process, nothing', async () => {
  const mine = processStat(process.pid);
  assert.ok(mine && /^[RS]$/.test(mine.state), JSON.stringify(mine));
  assert.equal(mine.startTime, processStartTime(process.pid));
  assert.equal(processStat(2 ** 22 + 1), undefined);
  assert.equal(processStat(0), undefined);
  // The background child exits once the shell has become `sleep`, which never reaps it
  // (exiting at once, the shell itself may reap it before the exec).
  const sh = spawn('sh', ['-c', 'sleep 0.5 & echo $!; exec sleep 10'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const pid = Number(await new Promise<string>((resolve) => sh.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
    let st = processStat(pid);
    for (const deadline = Date.now() + 5000; Date.now() < deadline && st?.state !== 'Z';) {
      await new Promise((r) => setTimeout(r, 10));
      st = processStat(pid);
    }
    assert.equal(st?.state, 'Z');
  } finally {
    sh.kill('SIGKILL');
  }
});
