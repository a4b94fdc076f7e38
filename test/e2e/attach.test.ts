// stdin and TTYs: `run -i` with piped input, `run -it` and `attach` through a
// real pseudo-terminal (util-linux `script`), window resize, detach keys,
// `start -ai`, and unframed logs of TTY containers; berth and docker CLIs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, daemonWithBusybox, eventually, hasDockerCli, sleep, type RunResult } from './harness.js';

const d = daemonWithBusybox();
const BERTH = join(ROOT, 'dist/berth.js');

/**
 * Run a CLI command on a fresh pseudo-terminal, typing `steps` into it (a
 * string, or a pause in ms). `script` holds the pty master; our input reaches
 * it through a shell pipeline so the pauses are real.
 */
function onTerminal(cmd: string, steps: Array<string | number>, env: Record<string, string> = {}): RunResult {
  const feed = steps.map((s) => (typeof s === 'number' ? `sleep ${s / 1000}` : `printf '%b' '${s.replace(/'/g, "'\\''")}'`)).join('; ');
  const r = spawnSync('sh', ['-c', `(${feed}) | script -qec "${cmd}" /dev/null`], {
    encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
const berthCmd = (args: string): string => `${BERTH} -H unix://${d.socket} ${args}`;
const dockerEnv = (): Record<string, string> => ({ DOCKER_HOST: `unix://${d.socket}`, DOCKER_CONFIG: join(d.dir, 'docker-config') });

test('run -i: piped stdin reaches the container and its end is EOF', () => {
  const r = d.berth(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'wc -l; echo done'], { input: 'a\nb\nc\n' });
  assert.deepEqual([r.code, r.stdout.replace(/ +/g, '')], [0, '3\ndone\n'], r.stderr);
  const big = d.berth(['run', '-i', '--rm', 'busybox', 'wc', '-c'], { input: 'x'.repeat(300_000) });
  assert.equal(big.stdout.trim(), '300000');
  if (hasDockerCli()) {
    const dr = d.docker(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo done'], { input: 'piped\n' });
    assert.deepEqual([dr.code, dr.stdout], [0, 'piped\ndone\n'], dr.stderr);
  }
  // Without -i the container's stdin is empty.
  assert.equal(d.berth(['run', '--rm', 'busybox', 'cat'], { input: 'ignored' }).stdout, '');
});

test('run -it: a real terminal in the container, exit code returned', () => {
  const r = onTerminal(berthCmd('run -it --rm busybox sh'), [500, 'tty; [ -t 0 ] && echo IS-A-TTY; echo $TERM\n', 300, 'exit 3\n']);
  assert.equal(r.code, 3, r.stdout);
  assert.match(r.stdout, /\/dev\/pts\/\d+\r\n/);
  assert.match(r.stdout, /IS-A-TTY\r\n/);
  assert.match(r.stdout, /xterm\r\n/);
  assert.doesNotMatch(r.stdout, /\r\r\n/, 'line endings are not doubled');
  if (hasDockerCli()) {
    const dr = onTerminal('docker run -it --rm busybox sh', [500, 'echo from-docker-cli\n', 300, 'exit 5\n'], dockerEnv());
    assert.equal(dr.code, 5, dr.stdout);
    assert.match(dr.stdout, /from-docker-cli\r\n/);
  }
});

test('attach: detach keys leave the container running; attach again and exit', async () => {
  const r = d.berth(['run', '-d', '-it', '--name', 'term', 'busybox', 'sh']);
  assert.equal(r.code, 0, r.stderr);
  const a = onTerminal(berthCmd('attach term'), [500, 'echo first-visit\n', 500, '\\020\\021']);
  assert.equal(a.code, 0, a.stdout);
  assert.match(a.stdout, /first-visit\r\n/);
  assert.match(d.berth(['ps', '--filter', 'name=term', '--format', '{{.Status}}']).stdout, /^Up/);
  // Custom keys, then an exit that ends the attach with the container's code.
  const b = onTerminal(berthCmd('attach --detach-keys ctrl-x,x term'), [500, 'echo second-visit\n', 300, 'exit 4\n']);
  assert.equal(b.code, 4, b.stdout);
  assert.match(b.stdout, /second-visit\r\n/);
  assert.ok(await eventually(() => d.berth(['inspect', '-f', '{{.State.Status}}', 'term']).stdout.trim() === 'exited'));
  // A TTY container's logs are its terminal output, unframed.
  const logs = d.berth(['logs', 'term']);
  assert.match(logs.stdout, /first-visit\r\n[\s\S]*second-visit\r\n/);
  const stopped = d.berth(['attach', 'term']);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /You cannot attach to a stopped container, start it first/);
  // start -ai runs it again with this terminal attached.
  const s = onTerminal(berthCmd('start -ai term'), [500, 'echo restarted\n', 300, 'exit 6\n']);
  assert.equal(s.code, 6, s.stdout);
  assert.match(s.stdout, /restarted\r\n/);
  assert.equal(d.berth(['rm', 'term']).code, 0);
});

test('resize reaches the container terminal; resize of a stopped container is refused', async () => {
  const r = d.berth(['run', '-d', '-t', '--name', 'sized', 'busybox', 'sleep', '1000']);
  assert.equal(r.code, 0, r.stderr);
  const res = await d.api('POST', '/containers/sized/resize?h=41&w=123');
  assert.equal(res.status, 200);
  await sleep(200);
  const size = d.berth(['exec', 'sized', 'stty', '-F', '/dev/pts/0', 'size']);
  assert.equal(size.stdout.trim(), '41 123', size.stderr);
  assert.equal(d.berth(['stop', '-t', '0', 'sized']).code, 0);
  const after = await d.api('POST', '/containers/sized/resize?h=10&w=10');
  assert.equal(after.status, 409);
  assert.equal(d.berth(['rm', 'sized']).code, 0);
});

test('exec -it: a terminal for the command, resize, exit code; berth and docker CLIs', async () => {
  assert.equal(d.berth(['run', '-d', '--name', 'host', 'busybox', 'sleep', '1000']).code, 0);
  const r = onTerminal(berthCmd('exec -it host sh'), [500, 'tty; echo $TERM\n', 300, 'exit 7\n']);
  assert.equal(r.code, 7, r.stdout);
  assert.match(r.stdout, /\/dev\/pts\/\d+\r\n/);
  assert.match(r.stdout, /xterm\r\n/);
  const t = d.berth(['exec', '-t', 'host', 'sh', '-c', 'echo one; exit 2']);
  assert.deepEqual([t.code, t.stdout], [2, 'one\r\n']);
  const nf = d.berth(['exec', '-t', 'host', 'nosuchcmd']);
  assert.equal(nf.code, 127);
  if (hasDockerCli()) {
    const dr = onTerminal('docker exec -it host sh', [500, 'echo via-docker\n', 300, 'exit 9\n'], dockerEnv());
    assert.equal(dr.code, 9, dr.stdout);
    assert.match(dr.stdout, /via-docker\r\n/);
  }
  // Resize through the API while a TTY exec runs; the command sees the new size.
  const created = await d.api('POST', '/containers/host/exec', { Cmd: ['sh', '-c', 'sleep 1; stty size'], Tty: true, AttachStdout: true });
  const execId = (created.body as { Id: string }).Id;
  const started = d.api('POST', `/exec/${execId}/start`, { Detach: false, Tty: true });
  await sleep(400);
  assert.equal((await d.api('POST', `/exec/${execId}/resize?h=33&w=77`)).status, 200);
  const out = await started;
  assert.equal(String(out.body).trim(), '33 77');
  // No session directory is left behind.
  const id = d.berth(['inspect', '-f', '{{.Id}}', 'host']).stdout.trim();
  const { readdirSync } = await import('node:fs');
  assert.deepEqual(readdirSync(join(d.execRoot, 'containers', id)).filter((f) => f.startsWith('exec-')), []);
  // Nor conmon's socket-address links of the sessions, nor the container's once it is removed.
  assert.deepEqual(readdirSync(join(d.execRoot, 'sockets')).filter((f) => !id.startsWith(f)), []);
  assert.equal(d.berth(['rm', '-f', 'host']).code, 0);
  assert.deepEqual(readdirSync(join(d.execRoot, 'sockets')).filter((f) => id.startsWith(f)), []);
});

test('run without a TTY proxies signals to the container (--sig-proxy), not with --sig-proxy=false', async () => {
  const { spawn } = await import('node:child_process');
  const script = "trap 'echo got INT; exit 4' INT; echo ready; while true; do sleep 0.1; done";
  const runWith = async (flags: string[]): Promise<{ code: number | null; out: string }> => {
    const p = spawn(BERTH, ['-H', `unix://${d.socket}`, 'run', '--rm', ...flags, 'busybox', 'sh', '-c', script]);
    let out = '';
    p.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    await eventually(() => out.includes('ready'), 10_000);
    p.kill('SIGINT');
    const code = await Promise.race([new Promise<number | null>((r) => p.on('exit', (c) => r(c))), sleep(3000).then(() => -2)]);
    if (code === -2) p.kill('SIGKILL');
    return { code, out };
  };
  const proxied = await runWith([]);
  assert.equal(proxied.code, 4, proxied.out);
  assert.match(proxied.out, /got INT/);
  const name = 'noproxy';
  const plain = await runWith(['--name', name, '--sig-proxy=false']);
  assert.doesNotMatch(plain.out, /got INT/);
  d.berth(['rm', '-f', name]);
});
