// Image interoperability with a real Docker engine (Debian's docker.io):
// `berth save` → `docker load`, `docker save` → `berth load`, and push/pull
// across the two through one registry. Run with `npm run test:compat`; it
// installs docker.io when missing and starts a private dockerd that leaves
// the host's firewall alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { daemonWithBusybox, eventually } from '../e2e/harness.js';
import { TestRegistry } from '../helpers/registry.js';

const d = daemonWithBusybox();
const reg = new TestRegistry();
const dir = mkdtempSync('/tmp/bt-compat-');
const sock = join(dir, 'docker.sock');
let dockerd: ChildProcess | undefined;
const bridge = `btcompat${process.pid % 100000}`;

function docker(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('docker', ['-H', `unix://${sock}`, ...args], { encoding: 'utf8', input, timeout: 120_000 });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  if (!existsSync('/usr/sbin/dockerd')) {
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'docker.io'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  // A bridge of its own: with `--bridge=none` dockerd deletes the host's
  // docker0, breaking a Docker that runs beside the tests (benchmarks).
  execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
  dockerd = spawn('dockerd', ['-H', `unix://${sock}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'),
    '--iptables=false', '--ip-masq=false', `--bridge=${bridge}`], { stdio: 'ignore' });
  await eventually(() => (docker(['info']).code === 0 ? true : undefined), 60_000);
  await reg.start();
});

after(async () => {
  if (dockerd && dockerd.exitCode === null) {
    const gone = new Promise((r) => dockerd!.once('exit', r));
    dockerd.kill('SIGTERM');
    await gone;
  }
  await reg.stop();
  spawnSync('ip', ['link', 'del', bridge]);
  rmSync(dir, { recursive: true, force: true });
});

test('berth save → docker load: same image id, runs, deletions honoured', () => {
  assert.equal(d.berth(['run', '--name', 'c1', 'busybox', 'sh', '-c', 'rm /etc/group; echo berth > /made-by']).code, 0);
  assert.equal(d.berth(['commit', '-c', 'CMD ["cat", "/made-by"]', 'c1', 'compat/berth:1']).code, 0);
  const file = join(dir, 'berth.tar');
  assert.equal(d.berth(['save', '-o', file, 'compat/berth:1']).code, 0);
  const l = docker(['load', '-i', file]);
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, /Loaded image: compat\/berth:1/);
  assert.equal(docker(['image', 'inspect', '-f', '{{.Id}}', 'compat/berth:1']).stdout, d.berth(['image', 'inspect', '-f', '{{.Id}}', 'compat/berth:1']).stdout);
  assert.equal(docker(['run', '--rm', '--network', 'none', 'compat/berth:1']).stdout, 'berth\n');
  assert.match(docker(['run', '--rm', '--network', 'none', 'compat/berth:1', 'ls', '/etc/group']).stderr, /No such file/);
});

test('docker save → berth load: Docker\'s whiteouts and opaque directories read right', () => {
  assert.equal(docker(['run', '--name', 'dk', '--network', 'none', 'compat/berth:1', 'sh', '-c',
    'rm /made-by; mkdir -p /opt/x && echo old > /opt/x/old && rm -rf /opt/x && mkdir /opt/x && echo new > /opt/x/new']).code, 0);
  assert.equal(docker(['commit', 'dk', 'compat/docker:1']).code, 0);
  const file = join(dir, 'docker.tar');
  assert.equal(docker(['save', '-o', file, 'compat/docker:1']).code, 0);
  const l = d.berth(['load', '-i', file]);
  assert.equal(l.code, 0, l.stderr);
  assert.equal(d.berth(['image', 'inspect', '-f', '{{.Id}}', 'compat/docker:1']).stdout, docker(['image', 'inspect', '-f', '{{.Id}}', 'compat/docker:1']).stdout);
  assert.equal(d.berth(['run', '--rm', 'compat/docker:1', 'sh', '-c', 'ls /opt/x; ls /made-by 2>&1']).stdout, 'new\nls: /made-by: No such file or directory\n');
});

test('docker push → berth pull, berth push → docker pull, through one registry', () => {
  const fromDocker = `${reg.host}/compat/from-docker:1`;
  assert.equal(docker(['tag', 'compat/docker:1', fromDocker]).code, 0);
  const p = docker(['push', fromDocker]);
  assert.equal(p.code, 0, p.stderr);
  const pulled = d.berth(['pull', fromDocker]);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.equal(d.berth(['run', '--rm', fromDocker, 'ls', '/opt/x']).stdout, 'new\n');
  const fromBerth = `${reg.host}/compat/from-berth:1`;
  assert.equal(d.berth(['tag', 'compat/berth:1', fromBerth]).code, 0);
  assert.equal(d.berth(['push', fromBerth]).code, 0);
  const dp = docker(['pull', fromBerth]);
  assert.equal(dp.code, 0, dp.stderr);
  assert.equal(docker(['run', '--rm', '--network', 'none', fromBerth]).stdout, 'berth\n');
});
