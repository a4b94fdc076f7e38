// exec on real containers, through the berth CLI and the docker CLI: output
// and exit codes, stdin, env/user/workdir, detached execs, the failure paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { daemonWithBusybox, eventually, hasDockerCli, type Daemon, type RunResult } from './harness.js';

const d = daemonWithBusybox();
type Cli = (args: string[], opts?: { input?: string }) => RunResult;
const clis: Array<[string, (d: Daemon) => Cli]> = [['berth', (x) => (a, o) => x.berth(a, o)]];
if (hasDockerCli()) clis.push(['docker', (x) => (a, o) => x.docker(a, o)]);

test('exec: output streams, exit codes, env, user, workdir and stdin', async () => {
  const r = d.berth(['run', '-d', '--name', 'box', '-e', 'FOO=bar', '-e', 'KEEP=1', 'busybox', 'sleep', '1000']);
  assert.equal(r.code, 0, r.stderr);
  for (const [name, make] of clis) {
    const cli = make(d);
    const a = cli(['exec', 'box', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([a.code, a.stdout, a.stderr], [3, 'out\n', 'err\n'], name);
    const b = cli(['exec', '-e', 'FOO=baz', '-u', '1000:1000', '-w', '/tmp', 'box', 'sh', '-c', 'id -u; id -g; pwd; echo $FOO $KEEP']);
    assert.deepEqual([b.code, b.stdout], [0, '1000\n1000\n/tmp\nbaz 1\n'], `${name}: ${b.stderr}`);
    const c = cli(['exec', '-i', 'box', 'sh', '-c', 'wc -l; echo done'], { input: 'a\nb\nc\n' });
    assert.deepEqual([c.code, c.stdout.replace(/ +/g, '')], [0, '3\ndone\n'], `${name}: ${c.stderr}`);
    // Without -i the command's stdin is empty.
    const e = cli(['exec', 'box', 'cat'], { input: 'ignored\n' });
    assert.deepEqual([e.code, e.stdout], [0, ''], name);
    const big = cli(['exec', 'box', 'sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x']);
    assert.equal(big.stdout.length, 3_000_000, `${name}: all of a large output arrives`);
  }
});

test('exec: commands that cannot start, stopped and unknown containers', async () => {
  for (const [name, make] of clis) {
    const cli = make(d);
    const nf = cli(['exec', 'box', 'nosuchcmd']);
    assert.equal(nf.code, 127, name);
    assert.match(nf.stdout + nf.stderr, /OCI runtime exec failed: .*"nosuchcmd": executable file not found in \$PATH/);
    const np = cli(['exec', 'box', '/etc/passwd']);
    assert.equal(np.code, 126, `${name}: ${np.stdout}${np.stderr}`);
    const nu = cli(['exec', '-u', 'nobody-here', 'box', 'true']);
    assert.equal(nu.code, 126, name);
    assert.match(nu.stdout + nu.stderr, /unable to find user nobody-here/);
    const unk = cli(['exec', 'nosuchbox', 'true']);
    assert.equal(unk.code, 1, name);
    assert.match(unk.stderr, /No such container: nosuchbox/);
  }
  assert.equal(d.berth(['create', '--name', 'idle', 'busybox', 'true']).code, 0);
  const id = d.berth(['inspect', '-f', '{{.Id}}', 'idle']).stdout.trim();
  const stopped = d.berth(['exec', 'idle', 'true']);
  assert.equal(stopped.code, 1);
  assert.equal(stopped.stderr, `Error response from daemon: Container ${id} is not running\n`);
  const few = d.berth(['exec', 'box']);
  assert.equal(few.code, 1);
  assert.match(few.stderr, /"berth exec" requires at least 2 arguments/);
  const api = await d.api('POST', '/containers/box/exec', { Cmd: [] });
  assert.deepEqual([api.status, (api.body as { message: string }).message], [400, 'No exec command specified']);
  const bad = await d.api('POST', '/containers/box/exec', { Cmd: 'ls' });
  assert.equal(bad.status, 400);
  assert.equal((await d.api('GET', '/exec/0123/json')).status, 404);
  assert.equal(d.berth(['rm', 'idle']).code, 0);
});

test('exec: detached runs, inspect, events, and sessions end with the container', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const det = d.berth(['exec', '-d', 'box', 'sh', '-c', 'sleep 0.5; touch /tmp/detached']);
  assert.deepEqual([det.code, det.stdout], [0, '']);
  assert.ok(await eventually(() => d.berth(['exec', 'box', 'ls', '/tmp/detached']).code === 0));

  const created = await d.api('POST', '/containers/box/exec', { Cmd: ['sh', '-c', 'exit 7'], AttachStdout: true });
  assert.equal(created.status, 201);
  const execId = (created.body as { Id: string }).Id;
  const before = (await d.api('GET', `/exec/${execId}/json`)).body as Record<string, unknown>;
  assert.deepEqual([before.Running, before.ExitCode, before.ContainerID !== undefined], [false, null, true]);
  const started = await d.api('POST', `/exec/${execId}/start`, { Detach: false, Tty: false });
  assert.equal(started.status, 200);
  const after = (await d.api('GET', `/exec/${execId}/json`)).body as Record<string, unknown>;
  assert.deepEqual([after.Running, after.ExitCode], [false, 7]);
  assert.deepEqual(after.ProcessConfig, { tty: false, entrypoint: 'sh', arguments: ['-c', 'exit 7'], privileged: false });
  const again = await d.api('POST', `/exec/${execId}/start`, { Detach: false });
  assert.equal(again.status, 409);
  const ids = JSON.parse(d.berth(['inspect', '-f', '{{json .ExecIDs}}', 'box']).stdout) as string[];
  assert.ok(ids.includes(execId));

  const ev = d.berth(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=box', '--format', '{{.Action}}']);
  assert.match(ev.stdout, /^exec_create: sh -c exit 7$/m);
  assert.match(ev.stdout, /^exec_start: sh -c exit 7$/m);
  assert.match(ev.stdout, /^exec_die$/m);

  // A client that goes away in the middle of a large output does not wedge the exec.
  const big = await d.api('POST', '/containers/box/exec', { Cmd: ['sh', '-c', 'head -c 50000000 /dev/zero'], AttachStdout: true });
  const bigId = (big.body as { Id: string }).Id;
  await new Promise<void>((resolve) => {
    const req = http.request({ socketPath: d.socket, method: 'POST', path: `/exec/${bigId}/start`, headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.once('data', () => { req.destroy(); resolve(); });
    });
    req.on('error', () => resolve());
    req.end(JSON.stringify({ Detach: false }));
  });
  assert.ok(await eventually(async () => ((await d.api('GET', `/exec/${bigId}/json`)).body as { Running: boolean }).Running === false, 10_000));
  const id = d.berth(['inspect', '-f', '{{.Id}}', 'box']).stdout.trim();
  assert.equal(d.berth(['stop', '-t', '1', 'box']).code, 0);
  assert.equal((await d.api('GET', `/exec/${execId}/json`)).status, 404);
  // No process spec is left in the bundle.
  const bundle = join(d.execRoot, 'containers', id);
  assert.deepEqual(readdirSync(bundle).filter((f) => f.startsWith('exec-')), []);
  assert.equal(d.berth(['rm', 'box']).code, 0);
});
