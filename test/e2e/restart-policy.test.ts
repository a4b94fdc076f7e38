// Restart policies on real containers: back-off and RestartCount, on-failure
// limits, no restart after a manual stop, and containers brought back when
// berthd starts again; --init as PID 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daemonWithBusybox, eventually, sleep } from './harness.js';

const d = daemonWithBusybox();
const inspect = (name: string, f: string): string => d.berth(['inspect', '-f', f, name]).stdout.trim();

test('on-failure:N restarts a failing container N times, then leaves it exited', async () => {
  assert.equal(d.berth(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:3', 'busybox', 'sh', '-c', 'echo run; exit 3']).code, 0);
  const done = await eventually(() => inspect('flaky', '{{.State.Status}} {{.RestartCount}}') === 'exited 3', 20_000);
  assert.ok(done, inspect('flaky', '{{.State.Status}} {{.RestartCount}}'));
  await sleep(1000);
  assert.equal(inspect('flaky', '{{.RestartCount}} {{.State.ExitCode}}'), '3 3', 'no fourth restart');
  assert.equal(d.berth(['logs', 'flaky']).stdout, 'run\nrun\nrun\nrun\n');
  // A clean exit is not a failure.
  assert.equal(d.berth(['run', '-d', '--name', 'clean', '--restart', 'on-failure', 'busybox', 'true']).code, 0);
  await sleep(1500);
  assert.equal(inspect('clean', '{{.State.Status}} {{.RestartCount}}'), 'exited 0');
  assert.equal(d.berth(['rm', 'flaky', 'clean']).code, 0);
});

test('always: a crashing service keeps coming back; stop ends it; rm -f of a restarting one', async () => {
  assert.equal(d.berth(['run', '-d', '--name', 'crasher', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.2; exit 1']).code, 0);
  assert.ok(await eventually(() => Number(inspect('crasher', '{{.RestartCount}}')) >= 3, 20_000));
  assert.match(d.berth(['ps', '-a', '--filter', 'name=crasher', '--format', '{{.Status}}']).stdout, /^(Up|Restarting \(1\))/);
  assert.equal(d.berth(['stop', '-t', '1', 'crasher']).code, 0);
  const count = inspect('crasher', '{{.RestartCount}}');
  await sleep(1500);
  assert.equal(inspect('crasher', '{{.State.Status}}'), 'exited');
  assert.equal(inspect('crasher', '{{.RestartCount}}'), count, 'no restart after a manual stop');
  // While it waits out its back-off it is "restarting"; rm without -f refuses, rm -f removes it.
  assert.equal(d.berth(['run', '-d', '--name', 'looper', '--restart', 'always', 'busybox', 'false']).code, 0);
  assert.ok(await eventually(() => inspect('looper', '{{.State.Status}}') === 'restarting', 10_000));
  assert.equal(d.berth(['rm', '-f', 'looper']).code, 0);
  await sleep(1500);
  assert.equal(d.berth(['ps', '-aq', '--filter', 'name=looper']).stdout, '');
  assert.equal(d.berth(['rm', 'crasher']).code, 0);
});

test('berthd restart brings back always and unless-stopped containers, not stopped unless-stopped ones', async () => {
  for (const [name, policy] of [['keep-always', 'always'], ['keep-unless', 'unless-stopped'], ['stopped-unless', 'unless-stopped'], ['plain', 'no']]) {
    assert.equal(d.berth(['run', '-d', '--name', name!, '--restart', policy!, 'busybox', 'sleep', '1000']).code, 0);
  }
  assert.equal(d.berth(['stop', '-t', '0', 'keep-always', 'stopped-unless', 'plain']).code, 0);
  // keep-unless dies while berthd is down: it comes back when berthd starts.
  const pid = Number(inspect('keep-unless', '{{.State.Pid}}'));
  await d.stop();
  process.kill(pid, 'SIGKILL');
  await sleep(500);
  await d.start();
  assert.ok(await eventually(() => inspect('keep-always', '{{.State.Status}}') === 'running'), 'always comes back even after a manual stop');
  assert.ok(await eventually(() => inspect('keep-unless', '{{.State.Status}}') === 'running'), 'unless-stopped that died comes back');
  await sleep(500);
  assert.equal(inspect('stopped-unless', '{{.State.Status}}'), 'exited');
  assert.equal(inspect('plain', '{{.State.Status}}'), 'exited');
  assert.equal(d.berth(['rm', '-f', 'keep-always', 'keep-unless', 'stopped-unless', 'plain']).code, 0);
});

test('--init: tini is PID 1 and reaps orphans; without it they stay zombies', async () => {
  // The subshell's `sleep 0.2` is orphaned and reparented to PID 1.
  const cmd = '(sleep 0.2 &); exec sleep 1000';
  assert.equal(d.berth(['run', '-d', '--init', '--name', 'with-init', 'busybox', 'sh', '-c', cmd]).code, 0);
  assert.equal(d.berth(['run', '-d', '--name', 'no-init', 'busybox', 'sh', '-c', cmd]).code, 0);
  await sleep(1000);
  const zombies = (name: string): number => d.berth(['exec', name, 'ps', '-o', 'stat']).stdout.split('\n').filter((l) => l.trim().startsWith('Z')).length;
  assert.equal(d.berth(['exec', 'with-init', 'cat', '/proc/1/cmdline']).stdout.split('\0')[0], '/sbin/docker-init');
  assert.equal(zombies('with-init'), 0);
  assert.equal(zombies('no-init'), 1);
  assert.equal(inspect('with-init', '{{.HostConfig.Init}} {{.Path}}'), 'true sh');
  // The init passes signals on: stop is quick, not a 10 s timeout.
  const t0 = Date.now();
  assert.equal(d.berth(['stop', 'with-init']).code, 0);
  assert.ok(Date.now() - t0 < 5000, 'SIGTERM reached the command through tini');
  assert.equal(d.berth(['rm', '-f', 'with-init', 'no-init']).code, 0);
});
