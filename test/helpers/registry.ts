// A real registry for e2e tests: Debian's docker-registry (distribution)
// on 127.0.0.1, optionally behind a token server that implements the
// distribution token spec (what Docker Hub does), and a proxy that breaks
// blob downloads half way to exercise resumed pulls. The token server and the
// proxy run in their own processes because the tests call the CLI
// synchronously, which blocks this process's event loop.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const HELPER = resolve(import.meta.dirname, 'registry-aux.js');

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

async function waitFor(url: string, proc: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${url}: process exited: ${logs()}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${url} did not come up: ${logs()}`);
}

export const TOKEN_USER = 'tester';
export const TOKEN_PASSWORD = 's3cret!';

export class TestRegistry {
  readonly dir = mkdtempSync('/tmp/bt-reg-');
  port = 0;
  private procs: ChildProcess[] = [];
  private logs = '';

  get host(): string { return `127.0.0.1:${this.port}`; }

  /** `token`: require bearer tokens from a token server that knows one user; `htpasswd`: basic auth for that user. */
  async start(opts: { token?: boolean; htpasswd?: boolean } = {}): Promise<void> {
    this.port = await freePort();
    let auth = '';
    if (opts.htpasswd) {
      const line = execFileSync('htpasswd', ['-Bbn', TOKEN_USER, TOKEN_PASSWORD], { encoding: 'utf8' });
      writeFileSync(join(this.dir, 'htpasswd'), line);
      auth = `auth:\n  htpasswd:\n    realm: berth-basic\n    path: ${join(this.dir, 'htpasswd')}\n`;
    }
    if (opts.token) {
      const tport = await freePort();
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(this.dir, 'key.pem'), '-out', join(this.dir, 'cert.pem'),
        '-days', '2', '-subj', '/CN=berth-test-token'], { stdio: 'ignore' });
      this.spawn(process.execPath, [HELPER, 'token', String(tport), join(this.dir, 'key.pem'), join(this.dir, 'cert.pem'), TOKEN_USER, TOKEN_PASSWORD]);
      await waitFor(`http://127.0.0.1:${tport}/health`, this.procs[this.procs.length - 1]!, () => this.logs);
      auth = `auth:\n  token:\n    realm: http://127.0.0.1:${tport}/token\n    service: berth-registry\n    issuer: berth-test\n    rootcertbundle: ${join(this.dir, 'cert.pem')}\n`;
    }
    writeFileSync(join(this.dir, 'config.yml'), `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(this.dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${this.port}
${auth}`);
    this.spawn('docker-registry', ['serve', join(this.dir, 'config.yml')]);
    await waitFor(`http://${this.host}/v2/`, this.procs[this.procs.length - 1]!, () => this.logs);
  }

  /** A proxy in front of the registry that cuts the first download of every blob after `cutAt` bytes (0: never), or slows blobs down; returns its port. */
  async flakyProxy(cutAt: number, bytesPerSecond = 0): Promise<{ port: number; log: () => string[] }> {
    const port = await freePort();
    const logFile = join(this.dir, `proxy-${port}.log`);
    writeFileSync(logFile, '');
    this.spawn(process.execPath, [HELPER, 'proxy', String(port), String(this.port), String(cutAt), logFile, String(bytesPerSecond)]);
    await waitFor(`http://127.0.0.1:${port}/v2/`, this.procs[this.procs.length - 1]!, () => this.logs);
    return { port, log: () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean) };
  }

  /** An index with a v1 search endpoint (see registry-aux `search`); what it was asked, oldest first. */
  async searchIndex(): Promise<{ port: number; asked: () => { path: string; auth: string | null }[] }> {
    const port = await freePort();
    const logFile = join(this.dir, `search-${port}.log`);
    writeFileSync(logFile, '');
    this.spawn(process.execPath, [HELPER, 'search', String(port), logFile]);
    await waitFor(`http://127.0.0.1:${port}/v2/`, this.procs[this.procs.length - 1]!, () => this.logs);
    return { port, asked: () => readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { path: string; auth: string | null }) };
  }

  /** A registry that misbehaves on purpose (see registry-aux `fake`); returns its port. */
  async fake(): Promise<number> {
    const port = await freePort();
    this.spawn(process.execPath, [HELPER, 'fake', String(port)]);
    await waitFor(`http://127.0.0.1:${port}/v2/`, this.procs[this.procs.length - 1]!, () => this.logs);
    return port;
  }

  private spawn(cmd: string, args: string[]): void {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d: Buffer) => { this.logs += d.toString(); });
    p.stderr!.on('data', (d: Buffer) => { this.logs += d.toString(); });
    this.procs.push(p);
  }

  async stop(): Promise<void> {
    for (const p of this.procs) {
      if (p.exitCode !== null) continue;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await gone;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
