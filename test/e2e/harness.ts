// Starts a real berthd with its own temporary roots and socket, and runs the
// berth and docker CLIs against it. Every e2e test file gets its own daemon.
import { spawn, spawnSync, execFileSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import http from 'node:http';
import { before, after } from 'node:test';

export const ROOT = resolve(import.meta.dirname, '../../..');
const BERTHD = join(ROOT, 'dist/berthd.js');
/** The Node flags berthd's shebang gives it (scripts/build.mjs): the daemon under test runs as it ships. */
const BERTHD_NODE_FLAGS = readFileSync(BERTHD, 'utf8').slice(0, 300).split('\n')[0]!.split(' ').filter((a) => a.startsWith('--'));
const BERTH = join(ROOT, 'dist/berth.js');
const BUSYBOX_TAR = '/tmp/berth-test-busybox.tar';

export interface RunResult { code: number; stdout: string; stderr: string }

export function busyboxTar(): string {
  if (!existsSync(BUSYBOX_TAR)) {
    execFileSync('sh', [join(ROOT, 'scripts/make-busybox-rootfs.sh'), BUSYBOX_TAR + '.tmp']);
    execFileSync('mv', [BUSYBOX_TAR + '.tmp', BUSYBOX_TAR]);
  }
  return BUSYBOX_TAR;
}

export function hasDockerCli(): boolean {
  return spawnSync('docker', ['--version']).status === 0;
}

export class Daemon {
  readonly dir: string;
  readonly socket: string;
  readonly dataRoot: string;
  readonly execRoot: string;
  /** the default bridge: each test daemon has its own */
  readonly bridge: string;
  proc: ChildProcess | undefined;
  logs = '';

  constructor() {
    this.dir = mkdtempSync('/tmp/bt-');
    this.socket = join(this.dir, 'b.sock');
    this.dataRoot = join(this.dir, 'data');
    this.execRoot = join(this.dir, 'run');
    this.bridge = `bt${randomBytes(4).toString('hex')}`;
    writeFileSync(join(this.dir, 'daemon.json'), '{}\n');
  }

  async start(extra: string[] = []): Promise<void> {
    this.proc = spawn(process.execPath, [...BERTHD_NODE_FLAGS, BERTHD, '--config-file', join(this.dir, 'daemon.json'), '--data-root', this.dataRoot,
      '--exec-root', this.execRoot, '--host', `unix://${this.socket}`, '--bridge', this.bridge, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] })
      .on('error', () => undefined);
    this.proc.stderr!.on('data', (d: Buffer) => { this.logs += d.toString(); });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`berthd exited: ${this.logs}`);
      if (await this.ping()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`berthd did not start: ${this.logs}`);
  }

  ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = http.request({ socketPath: this.socket, path: '/_ping' }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
  }

  /** Raw API call; returns status and parsed JSON (or text). */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown; headers: http.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = http.request({ socketPath: this.socket, path, method, headers: data ? { 'Content-Type': 'application/json' } : {} }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => { text += d.toString(); });
        res.on('end', () => {
          let parsed: unknown = text;
          try { parsed = JSON.parse(text); } catch { /* not JSON */ }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      });
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  berth(args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeout?: number } = {}): RunResult {
    // Executed as users run it, through its shebang.
    return run(BERTH, ['-H', `unix://${this.socket}`, ...args], opts);
  }

  /** The berth CLI in the background, for tests that act while a command runs. */
  berthSpawn(args: string[]): ChildProcess {
    return spawn(BERTH, ['-H', `unix://${this.socket}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  }

  docker(args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeout?: number } = {}): RunResult {
    return run('docker', args, { ...opts, env: { DOCKER_HOST: `unix://${this.socket}`, DOCKER_CONFIG: join(this.dir, 'docker-config'), ...opts.env } });
  }

  async importBusybox(tag = 'busybox:latest'): Promise<void> {
    const r = this.berth(['import', '-c', 'CMD ["sh"]', busyboxTar(), tag]);
    if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
  }

  async stop(): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc!.once('exit', r));
    this.proc.kill('SIGTERM');
    await exited;
  }

  async kill9(): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc!.once('exit', r));
    this.proc.kill('SIGKILL');
    await exited;
  }

  /** Stop the daemon, kill its containers' monitors and remove every trace. */
  async cleanup(): Promise<void> {
    const runtimeRoot = join(this.execRoot, 'runtime');
    if (existsSync(this.socket)) {
      // Remove containers through the API so mounts and cgroups go too.
      const list = await this.api('GET', '/containers/json?all=1').catch(() => undefined);
      if (list && Array.isArray(list.body)) {
        for (const c of list.body as { Id: string }[]) await this.api('DELETE', `/containers/${c.Id}?force=1`).catch(() => undefined);
      }
    }
    await this.stop();
    spawnSync('sh', ['-c', `for id in $(runc --root ${runtimeRoot} list -q 2>/dev/null); do runc --root ${runtimeRoot} delete -f $id; done`]);
    spawnSync('sh', ['-c', `grep -o ' ${this.dir}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
    for (const b of this.bridges()) removeBridge(b);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Bridges of this daemon's networks, from its records. */
  bridges(): string[] {
    const dir = join(this.dataRoot, 'network');
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => {
      const rec = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { Options?: Record<string, string> };
      return rec.Options?.['com.docker.network.bridge.name'];
    }).filter((b): b is string => !!b);
  }

  mounts(): string[] {
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(this.dir));
  }
}

/** A bridge and its BERTH chains: what a daemon leaves behind on purpose, as dockerd leaves docker0. */
export function removeBridge(bridge: string): void {
  spawnSync('sh', [join(ROOT, 'scripts/remove-bridge.sh'), bridge]);
}

/** Host-wide network objects: for leak checks around a test. */
export function networkObjects(): { links: string[]; netns: string[]; rules: string[] } {
  const links = readdirSync('/sys/class/net').filter((l) => l.startsWith('vb'));
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
  const save = spawnSync('iptables-save', [], { encoding: 'utf8' }).stdout ?? '';
  const rules = save.split('\n').filter((l) => l.startsWith('-A') && l.includes('berth:'));
  return { links, netns, rules };
}

function run(cmd: string, args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeout?: number }): RunResult {
  const r: SpawnSyncReturns<string> = spawnSync(cmd, args, {
    input: opts.input, encoding: 'utf8', timeout: opts.timeout ?? 60_000, env: { ...process.env, ...opts.env },
    // spawnSync kills the child past maxBuffer (1 MiB by default): tests move more than that.
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll until fn is truthy (for state the daemon reaches asynchronously). */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  do {
    last = await fn();
    if (last) return last;
    await sleep(50);
  } while (Date.now() < deadline);
  return last;
}

/** A daemon for one test file: started with a busybox image before its tests, removed after. */
export function daemonWithBusybox(): Daemon {
  const d = new Daemon();
  before(async () => {
    await d.start();
    await d.importBusybox();
  });
  after(async () => {
    await d.cleanup();
  });
  return d;
}
