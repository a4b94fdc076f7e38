// berthd restarts and kill -9: containers keep running, logs keep flowing,
// exits that happen while berthd is down are reported with their real code.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon, ROOT, eventually, networkObjects, sleep } from './harness.js';

const d = new Daemon();
after(async () => {
  await d.cleanup();
});

test('containers survive a graceful stop and a kill -9 of berthd', async () => {
  await d.start();
  await d.importBusybox();
  const ticker = d.berth(['run', '-d', '--name', 'ticker', 'busybox', 'sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done']);
  assert.equal(ticker.code, 0, ticker.stderr);
  const quitter = d.berth(['run', '-d', '--name', 'quitter', 'busybox', 'sh', '-c', 'sleep 1.5; exit 42']);
  assert.equal(quitter.code, 0, quitter.stderr);
  const pid = Number(d.berth(['inspect', '-f', '{{.State.Pid}}', 'ticker']).stdout.trim());
  assert.ok(pid > 0);

  await d.stop();
  process.kill(pid, 0); // still alive
  await sleep(400);
  await d.start();
  assert.match(d.berth(['ps', '--filter', 'name=ticker']).stdout, /Up/);
  assert.equal(d.berth(['inspect', '-f', '{{.State.Pid}}', 'ticker']).stdout.trim(), String(pid));

  await d.kill9();
  process.kill(pid, 0);
  // quitter exits while berthd is down.
  await sleep(2000);
  await d.start();
  const code = await eventually(() => {
    const s = d.berth(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'quitter']).stdout.trim();
    return s === 'exited 42' ? s : undefined;
  });
  assert.equal(code, 'exited 42');
  assert.match(d.berth(['ps', '-a', '--filter', 'name=quitter']).stdout, /Exited \(42\)/);
  // No lines were lost while berthd was down: the counter is contiguous.
  const logs = d.berth(['logs', 'ticker']).stdout.trim().split('\n');
  assert.ok(logs.length > 20, `got ${logs.length} lines`);
  logs.forEach((l, i) => assert.equal(l, `tick ${i}`));
  assert.equal(d.berth(['rm', '-f', 'ticker', 'quitter']).code, 0);
  assert.throws(() => process.kill(pid, 0));
});

test('logs -f ends when the container exits; --tail and --since', async () => {
  const r = d.berth(['run', '-d', '--name', 'counter', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done; echo bye >&2']);
  assert.equal(r.code, 0, r.stderr);
  const f = d.berth(['logs', '-f', 'counter'], { timeout: 20_000 });
  assert.equal(f.code, 0);
  assert.equal(f.stdout, 'line 1\nline 2\nline 3\nline 4\nline 5\n');
  assert.equal(f.stderr, 'bye\n');
  assert.equal(d.berth(['logs', '--tail', '2', 'counter']).stdout, 'line 5\n');
  assert.equal(d.berth(['logs', '--tail', '0', 'counter']).stdout, '');
  const ts = d.berth(['logs', '-t', 'counter']).stdout.split('\n')[0]!;
  assert.match(ts, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z line 1$/);
  const future = d.berth(['logs', '--since', String(Math.floor(Date.now() / 1000) + 60), 'counter']);
  assert.equal(future.stdout, '');
  assert.equal(d.berth(['logs', '--until', '2000-01-01', 'counter']).stdout, '');
  const bad = d.berth(['logs', '--since', 'yesterday-ish', 'counter']);
  assert.notEqual(bad.code, 0);
  assert.equal(d.berth(['rm', 'counter']).code, 0);
});

test('kill -9 of berthd in the middle of an import leaves a usable store', async () => {
  // A large import that is still streaming when the daemon dies.
  // Its own process group, so that tar and head die with it and hold no pipe open.
  const big = spawn('sh', ['-c', `tar -C / -cf - usr/lib/x86_64-linux-gnu 2>/dev/null | head -c 300000000`], { detached: true });
  const imp = spawn(process.execPath, [join(ROOT, 'dist/berth.js'), '-H', `unix://${d.socket}`, 'import', '-', 'halfway:1'], { stdio: ['pipe', 'ignore', 'ignore'] });
  big.stdout.pipe(imp.stdin);
  imp.stdin.on('error', () => undefined);
  await sleep(700);
  await d.kill9();
  process.kill(-big.pid!, 'SIGKILL');
  big.stdout.destroy();
  imp.kill();
  await d.start();
  assert.equal(d.berth(['image', 'inspect', 'halfway:1']).code, 1, 'no half image is visible');
  assert.deepEqual(readdirSync(join(d.dataRoot, 'content', 'ingest')), [], 'interrupted ingests are cleaned up');
  assert.deepEqual(readdirSync(join(d.dataRoot, 'layers')).filter((f) => f.startsWith('.tmp')), []);
  const r = d.berth(['run', '--rm', 'busybox', 'echo', 'still works']);
  assert.equal(r.stdout, 'still works\n', r.stderr);
});

test('--rm containers that end while berthd is down are removed at its start, with what removals set aside', async () => {
  // Ends while the daemon is down: its record on disk still says running.
  const ended = d.berth(['run', '-d', '--rm', '--name', 'ended', 'busybox', 'sleep', '1']);
  assert.equal(ended.code, 0, ended.stderr);
  // Its record on disk says exited (a daemon that stopped between the exit and the removal).
  const exited = d.berth(['run', '-d', '--rm', '--name', 'exited', 'busybox', 'sleep', '1000']);
  assert.equal(exited.code, 0, exited.stderr);
  const exitedId = exited.stdout.trim();
  const pid = Number(d.berth(['inspect', '-f', '{{.State.Pid}}', 'exited']).stdout.trim());
  await d.kill9();
  process.kill(pid, 'SIGKILL');
  const file = join(d.dataRoot, 'containers', exitedId, 'container.json');
  const rec = JSON.parse(readFileSync(file, 'utf8')) as { State: Record<string, unknown> };
  rec.State = { ...rec.State, Status: 'exited', Running: false, Pid: 0, ExitCode: 137 };
  writeFileSync(file, JSON.stringify(rec));
  // What a removal had set aside and not yet deleted when the daemon died.
  // (Different names: the one under the exec root has no twin under the data root.)
  for (const [root, suffix] of [[d.execRoot, '0ddba11'], [d.dataRoot, '0badf00d']] as const) {
    mkdirSync(join(root, 'containers', `.removed-${exitedId}-${suffix}`, 'upper', 'deep'), { recursive: true });
    writeFileSync(join(root, 'containers', `.removed-${exitedId}-${suffix}`, 'upper', 'deep', 'file'), 'x');
  }
  await sleep(1500);
  await d.start();
  await eventually(() => d.berth(['ps', '-a', '-q']).stdout === '' || undefined);
  assert.deepEqual(d.mounts().filter((l) => l.includes('/rootfs')), []);
  assert.deepEqual(readdirSync(join(d.execRoot, 'containers')), []);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'containers')), []);
});

test('kill -9 of berthd during rm -f: the restarted daemon shows the container gone or exited, and nothing of it is left', async () => {
  const before = networkObjects();
  // From right after the request to well after the answer would have come:
  // the daemon dies before the kill, between the exit and the removal, and
  // in the middle of the teardown.
  for (const delayMs of [0, 3, 6, 10, 15, 25, 60]) {
    const run = d.berth(['run', '-d', '--name', 'doomed', '-p', '127.0.0.1::80', 'busybox', 'sleep', '1000']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const pid = Number(d.berth(['inspect', '-f', '{{.State.Pid}}', id]).stdout.trim());
    const removal = d.api('DELETE', `/containers/${id}?force=1`).catch(() => undefined);
    await sleep(delayMs);
    await d.kill9();
    await removal;
    await d.start();
    let seen = '';
    const status = await eventually(async () => {
      const r = await d.api('GET', `/containers/${id}/json`);
      if (r.status === 404) return 'gone';
      const state = (r.body as { State?: { Status: string; ExitCode: number } }).State;
      seen = `${r.status} ${state?.Status} ${state?.ExitCode}`;
      // Killed before the daemon died, or not yet: never half-removed.
      return seen === '200 exited 137' || seen === '200 running 0' ? seen : undefined;
    });
    assert.ok(status, `after ${delayMs} ms: ${seen}`);
    if (status !== 'gone') assert.equal(d.berth(['rm', '-f', id]).code, 0);
    assert.throws(() => process.kill(pid, 0), `the container's process is gone (after ${delayMs} ms)`);
    assert.deepEqual(d.mounts().filter((l) => l.includes(id)), [], `no mount (after ${delayMs} ms)`);
    assert.deepEqual(readdirSync(join(d.execRoot, 'runtime')).filter((n) => n === id), [], `no runtime state (after ${delayMs} ms)`);
    for (const root of [d.execRoot, d.dataRoot]) {
      assert.deepEqual(readdirSync(join(root, 'containers')).filter((n) => n.includes(id)), [], `nothing under ${root} (after ${delayMs} ms)`);
    }
    assert.deepEqual(networkObjects(), before, `no veth, netns or rule left (after ${delayMs} ms)`);
  }
});

test('a removal cut short after its renames: the set-aside record does not come back, and no run directory or exit file is left', async () => {
  const before = networkObjects();
  const ghost = d.berth(['create', '--name', 'ghost', 'busybox', 'true']);
  assert.equal(ghost.code, 0, ghost.stderr);
  const id = ghost.stdout.trim();
  // A second container cut between the two renames: its run directory has no record any more.
  const half = d.berth(['run', '-d', '--name', 'half', 'busybox', 'sleep', '1000']);
  assert.equal(half.code, 0, half.stderr);
  const halfId = half.stdout.trim();
  const halfPid = Number(d.berth(['inspect', '-f', '{{.State.Pid}}', halfId]).stdout.trim());
  await d.kill9();
  process.kill(halfPid, 'SIGKILL');
  await eventually(() => existsSync(join(d.execRoot, 'exits', halfId)) || undefined);
  // What destroy does first: the record's directory renamed away, with the record in it.
  renameSync(join(d.dataRoot, 'containers', id), join(d.dataRoot, 'containers', `.removed-${id}-feedf00d`));
  // (A container never started has no run directory; give it one, as a removal's second rename leaves it.)
  mkdirSync(join(d.execRoot, 'containers', `.removed-${id}-feedf00d`, 'rootfs'), { recursive: true });
  renameSync(join(d.dataRoot, 'containers', halfId), join(d.dataRoot, 'containers', `.removed-${halfId}-feedf00d`));
  await d.start();
  for (const name of ['ghost', 'half']) {
    assert.equal((await d.api('GET', `/containers/${name}/json`)).status, 404, `${name} stays removed`);
  }
  assert.deepEqual(d.berth(['ps', '-a', '-q']).stdout, '');
  await eventually(() => readdirSync(join(d.dataRoot, 'containers')).length === 0 || undefined);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'containers')), []);
  assert.deepEqual(readdirSync(join(d.execRoot, 'containers')), []);
  assert.deepEqual(readdirSync(join(d.execRoot, 'exits')), []);
  assert.deepEqual(d.mounts().filter((l) => l.includes(halfId)), []);
  assert.deepEqual(networkObjects(), before);
  // The name is free again.
  const again = d.berth(['create', '--name', 'ghost', 'busybox', 'true']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(d.berth(['rm', 'ghost']).code, 0);
});
