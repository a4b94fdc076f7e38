// Log rotation on real containers: files stay within max-file, `logs` reads
// across them, a follower crosses every rotation without a gap, and logs
// written while berthd is down are kept and rotated after it comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, daemonWithBusybox, eventually, hasDockerCli, sleep } from './harness.js';

const d = daemonWithBusybox();

function logFiles(id: string): string[] {
  const dir = join(d.dataRoot, 'containers', id);
  return readdirSync(dir).filter((n) => n.startsWith('container.log')).sort();
}

/** `line N` for every N from..to-1, or an explanation of the first mismatch. */
function assertContiguous(lines: string[], from: number, to: number): void {
  assert.equal(lines.length, to - from, `expected lines ${from}..${to - 1}, got ${lines.length}: ${lines.slice(0, 3).join('|')} … ${lines.slice(-3).join('|')}`);
  lines.forEach((l, i) => assert.equal(l, `line ${from + i} ${'x'.repeat(40)}`));
}

// 800 lines of ~95 bytes on disk each, in 40 bursts 0.1 s apart: about nine rotations at 8 kB.
const WRITER = `sleep 1; n=0; b=0; while [ $b -lt 40 ]; do j=0; while [ $j -lt 20 ]; do echo "line $n ${'x'.repeat(40)}"; n=$((n+1)); j=$((j+1)); done; b=$((b+1)); sleep 0.1; done`;

test('rotation keeps max-file files; logs and a follower read across them', async () => {
  const r = d.berth(['run', '-d', '--name', 'rot', '--log-opt', 'max-size=8k', '--log-opt', 'max-file=3', 'busybox', 'sh', '-c', WRITER]);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  // A follower started before the first line must see every line exactly once.
  const follower = spawn(join(ROOT, 'dist/berth.js'), ['-H', `unix://${d.socket}`, 'logs', '-f', 'rot']);
  let followed = '';
  follower.stdout.on('data', (b: Buffer) => { followed += b.toString(); });
  const followerDone = new Promise((res) => follower.on('exit', res));

  assert.equal(d.berth(['wait', 'rot'], { timeout: 30_000 }).stdout.trim(), '0');
  await followerDone;
  assertContiguous(followed.trim().split('\n'), 0, 800);

  const files = logFiles(id);
  assert.ok(files.length >= 2 && files.length <= 3, `files: ${files.join(' ')}`);
  assert.ok(files.every((f) => /^container\.log(\.[12])?$/.test(f)), files.join(' '));
  const total = files.reduce((s, f) => s + statSync(join(d.dataRoot, 'containers', id, f)).size, 0);
  assert.ok(total < 800 * 90, `old files were dropped (${total} bytes kept)`);

  // What is left is a contiguous run of the newest lines.
  const all = d.berth(['logs', 'rot']).stdout.trim().split('\n');
  assert.ok(all.length < 800 && all.length > 150, `kept ${all.length} lines`);
  assertContiguous(all, 800 - all.length, 800);
  // --tail larger than the current file reaches into the rotated ones.
  assertContiguous(d.berth(['logs', '--tail', String(all.length - 10), 'rot']).stdout.trim().split('\n'), 810 - all.length, 800);
  if (hasDockerCli()) {
    assertContiguous(d.docker(['logs', '--tail', '150', 'rot']).stdout.trim().split('\n'), 650, 800);
  }
  assert.equal(d.berth(['rm', 'rot']).code, 0);
});

test('rotation is on by default and the options are validated with Docker messages', () => {
  const r = d.berth(['create', '--name', 'dflt', 'busybox', 'true']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(d.berth(['inspect', '-f', '{{json .HostConfig.LogConfig}}', 'dflt']).stdout.trim(),
    '{"Type":"json-file","Config":{"max-file":"5","max-size":"20m"}}');
  assert.equal(d.berth(['rm', 'dflt']).code, 0);
  const cases: Array<[string[], RegExp]> = [
    [['--log-opt', 'max-file=0'], /max-file cannot be less than 1/],
    [['--log-opt', 'max-size=0'], /max-size must be a positive number/],
    [['--log-opt', 'max-size=big'], /invalid size: 'big'/],
    [['--log-opt', 'colour=red'], /unknown log opt 'colour' for json-file log driver/],
    [['--log-opt', 'novalue'], /invalid key value pair format in log-opt: novalue/],
    [['--log-driver', 'syslog'], /no log driver named 'syslog' is registered/],
  ];
  for (const [flags, re] of cases) {
    const bad = d.berth(['run', '--rm', ...flags, 'busybox', 'true']);
    assert.equal(bad.code, 125, `${flags.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, re);
  }
  assert.equal(d.berth(['ps', '-aq']).stdout.trim(), '', 'no container was left behind');
});

test('a log that grew while berthd was down is kept whole and rotated when it returns', async () => {
  const r = d.berth(['run', '-d', '--name', 'grow', '--log-opt', 'max-size=4k', '--log-opt', 'max-file=2', 'busybox', 'sh', '-c',
    `sleep 1.5; n=0; while [ $n -lt 200 ]; do echo "line $n ${'x'.repeat(40)}"; n=$((n+1)); done; sleep 4; echo after; sleep 1000`]);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  await d.kill9();
  await sleep(2500);
  assert.deepEqual(logFiles(id), ['container.log'], 'nothing rotates while berthd is down');
  assert.ok(statSync(join(d.dataRoot, 'containers', id, 'container.log')).size > 4000);
  await d.start();
  const files = await eventually(() => {
    const f = logFiles(id);
    // Both: between the rename and conmon's reopen only the rotated file exists.
    return f.includes('container.log.1') && f.includes('container.log') ? f : undefined;
  });
  assert.deepEqual(files, ['container.log', 'container.log.1']);
  // The monitor writes to the new file after the reopen; nothing was lost on the way.
  assert.ok(await eventually(() => d.berth(['logs', '--tail', '1', 'grow']).stdout === 'after\n'));
  assert.match(readFileSync(join(d.dataRoot, 'containers', id, 'container.log'), 'utf8'), /^\S+ stdout F after\n$/);
  const all = d.berth(['logs', 'grow']).stdout.trim().split('\n');
  assert.equal(all.pop(), 'after');
  assertContiguous(all, 0, 200);
  assert.equal(d.berth(['rm', '-f', 'grow']).code, 0);
});
