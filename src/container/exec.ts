// Exec sessions: a process started in a running container with `runc exec`,
// its process spec derived from the container's own (Docker's
// daemon/exec_linux.go does the same: same capabilities, seccomp and
// namespaces; the exec's user, env, cwd and args).
//
// berthd runs `runc exec` itself with pipes for stdio. Sessions live in
// memory, as dockerd's do; a running exec does not survive a berthd restart
// (its process is killed with runc when the pipes close).
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { ConflictError, EngineError, InvalidParameterError, NotFoundError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import type { EventBus } from '../lib/event-bus.js';
import { writeFileAtomic } from '../lib/atomic.js';
import { cleanRuntimeMessage, conmonResize, type OciRuntime, type ExecMonitor } from './runtime.js';
import { resolveGroups, resolveUser, supplementaryGroups } from './user.js';
import { replaceOrAppendEnv } from './env.js';
import { connectAttach, type AttachConnection } from './attach-socket.js';
import { allHostCaps, DEFAULT_PATH } from './spec.js';
import type { ContainerRecord } from './record.js';

export interface ExecConfig {
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  Tty: boolean;
  Env: string[] | null;
  Cmd: string[];
  User: string;
  WorkingDir: string;
  Privileged: boolean;
  DetachKeys: string;
}

export interface ExecSession {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  /** null until the process has exited */
  exitCode: number | null;
  pid: number;
  /** set once start was called: an exec runs once */
  started: boolean;
  canRemove: boolean;
}

/** What exec needs from the container layer. */
export interface ExecHost {
  get(ref: string): ContainerRecord;
  isRunning(id: string): boolean;
  /** execRoot/containers/ID: the bundle with config.json and the mounted rootfs */
  bundleDir(id: string): string;
  attrs(rec: ContainerRecord): Record<string, string>;
}

export interface ExecStreams {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

/** An exec that could not start: Docker's wording and exit code (126 or 127). */
export class ExecStartError extends EngineError {
  constructor(message: string, readonly exitCode: number) {
    super(500, message);
  }
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** Validate POST /containers/{id}/exec's body. */
export function validateExecConfig(body: unknown): ExecConfig {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidParameterError('json: cannot unmarshal request body into exec config');
  }
  const b = body as Record<string, unknown>;
  const bool = (k: string): boolean => {
    const v = b[k];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw new InvalidParameterError(`json: cannot unmarshal ${typeof v} into Go struct field ExecConfig.${k} of type bool`);
    return v;
  };
  const str = (k: string): string => {
    const v = b[k];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new InvalidParameterError(`json: cannot unmarshal ${typeof v} into Go struct field ExecConfig.${k} of type string`);
    return v;
  };
  const cmd = b.Cmd;
  if (cmd !== undefined && cmd !== null && !isStringArray(cmd)) {
    throw new InvalidParameterError('json: cannot unmarshal into Go struct field ExecConfig.Cmd of type []string');
  }
  if (!cmd || cmd.length === 0) throw new InvalidParameterError('No exec command specified');
  const env = b.Env;
  if (env !== undefined && env !== null && !isStringArray(env)) {
    throw new InvalidParameterError('json: cannot unmarshal into Go struct field ExecConfig.Env of type []string');
  }
  return {
    AttachStdin: bool('AttachStdin'),
    AttachStdout: bool('AttachStdout'),
    AttachStderr: bool('AttachStderr'),
    Tty: bool('Tty'),
    Env: env ?? null,
    Cmd: cmd,
    User: str('User'),
    WorkingDir: str('WorkingDir'),
    Privileged: bool('Privileged'),
    DetachKeys: str('DetachKeys'),
  };
}

/** runc's start failure → Docker's message and exit code (moby's translateContainerdStartErr). */
export function execStartError(runtimeText: string): ExecStartError {
  const msg = cleanRuntimeMessage(runtimeText);
  const code = /executable file not found|no such file or directory|not found/i.test(msg) ? 127 : 126;
  return new ExecStartError(`OCI runtime exec failed: ${msg}: unknown`, code);
}

export class ExecManager {
  private readonly sessions = new Map<string, ExecSession>();
  private readonly procs = new Map<string, ChildProcess>();

  constructor(
    private readonly host: ExecHost,
    private readonly runtime: OciRuntime,
    private readonly events: EventBus,
  ) {}

  create(containerRef: string, config: ExecConfig): string {
    const rec = this.host.get(containerRef);
    if (!this.host.isRunning(rec.Id)) throw new ConflictError(`Container ${rec.Id} is not running`);
    if (rec.State.Paused) throw new ConflictError(`Container ${rec.Id} is paused, unpause the container before exec`);
    const id = newId();
    this.sessions.set(id, {
      id, containerId: rec.Id, config, running: false, exitCode: null, pid: 0, started: false, canRemove: false,
    });
    this.events.publish('container', `exec_create: ${config.Cmd.join(' ')}`, rec.Id, { ...this.host.attrs(rec), execID: id });
    return id;
  }

  get(id: string): ExecSession {
    const s = this.sessions.get(id);
    if (!s) throw new NotFoundError(`No such exec instance: ${id}`);
    return s;
  }

  /** Sessions of a container, for inspect's ExecIDs. */
  idsFor(containerId: string): string[] {
    return [...this.sessions.values()].filter((s) => s.containerId === containerId).map((s) => s.id);
  }

  /** Forget a container's sessions (it stopped or went away), killing any still running. */
  dropContainer(containerId: string): void {
    for (const s of [...this.sessions.values()]) {
      if (s.containerId !== containerId) continue;
      this.procs.get(s.id)?.kill('SIGKILL');
      this.sessions.delete(s.id);
    }
  }

  /**
   * Run the session. Resolves with the exit code once the process has exited
   * and its output is flushed into `streams`; with `detach`, as soon as it runs.
   */
  async start(id: string, streams: ExecStreams, detach: boolean): Promise<number | undefined> {
    const s = this.get(id);
    if (s.started) throw new ConflictError(`Error: Exec command ${id} has already run`);
    const rec = this.host.get(s.containerId);
    if (!this.host.isRunning(rec.Id)) throw new ConflictError(`Container ${rec.Id} is not running`);
    s.started = true;
    if (s.config.Tty) return this.startWithTerminal(s, rec, streams, detach);
    const bundle = this.host.bundleDir(rec.Id);
    const processFile = join(bundle, `exec-${id}.json`);
    try {
      await writeFileAtomic(processFile, JSON.stringify(await this.processSpec(rec, s.config, bundle)));
    } catch (err) {
      // Could not even build the process (e.g. an unknown user): Docker's 126.
      s.exitCode = 126;
      throw err;
    }

    const child = spawn(this.runtime.paths.runtime, ['--root', this.runtime.paths.runtimeRoot, 'exec', '--process', processFile, rec.Id], {
      stdio: [s.config.AttachStdin && !detach ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      // Its own process group: a signal to berthd's group must not reach it.
      detached: true,
    });
    this.procs.set(id, child);
    s.running = true;
    s.pid = child.pid ?? 0;
    this.events.publish('container', `exec_start: ${s.config.Cmd.join(' ')}`, rec.Id, { ...this.host.attrs(rec), execID: id });

    // runc writes its own start failure to the same stderr as the process;
    // keep the tail of stderr to tell one from the other at exit.
    let stderrTail = '';
    const out = detach ? undefined : streams.stdout;
    const err = detach ? undefined : streams.stderr;
    // With backpressure: a fast command must not pile its output up in berthd.
    if (out && s.config.AttachStdout) child.stdout!.pipe(out, { end: false });
    else child.stdout!.resume();
    child.stderr!.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-4096);
      if (err && s.config.AttachStderr && !/level=(error|fatal) msg=/.test(d.toString()) && !err.write(d)) {
        child.stderr!.pause();
        err.once('drain', () => child.stderr!.resume());
      }
    });
    if (child.stdin && streams.stdin) {
      streams.stdin.pipe(child.stdin);
      child.stdin.on('error', () => undefined);
    }
    const exited = new Promise<number>((resolve) => {
      let code = -1;
      let pending = 3;
      const done = (): void => {
        if (--pending === 0) resolve(code);
      };
      child.on('exit', (c, signal) => {
        code = c ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : -1);
        done();
      });
      child.stdout!.on('close', done);
      child.stderr!.on('close', done);
    });
    const finish = exited.then(async (code) => {
      this.procs.delete(id);
      s.running = false;
      await fs.rm(processFile, { force: true });
      // runc exits 255 with a logrus line when it could not start the process.
      if (code === 255 && /level=(error|fatal) msg=/.test(stderrTail)) {
        const e = execStartError(stderrTail.split('\n').filter((l) => /level=(error|fatal) msg=/.test(l)).join('\n'));
        s.exitCode = e.exitCode;
        throw e;
      }
      s.exitCode = code;
      this.events.publish('container', 'exec_die', rec.Id, { ...this.host.attrs(rec), execID: id, exitCode: String(code) });
      return code;
    });
    if (detach) {
      finish.catch(() => undefined);
      return undefined;
    }
    return finish;
  }

  /**
   * A health probe: run `argv` as the container's user, collect its output
   * (both streams, at most 4 KiB) and kill it at the timeout. No session,
   * no events, as Docker keeps probes out of `docker events` exec lines.
   */
  async probe(containerId: string, argv: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }> {
    const rec = this.host.get(containerId);
    const bundle = this.host.bundleDir(rec.Id);
    const tag = newId().slice(0, 16);
    const processFile = join(bundle, `probe-${tag}.json`);
    const pidFile = join(bundle, `probe-${tag}.pid`);
    const config: ExecConfig = {
      AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false, Env: null, Cmd: argv,
      User: '', WorkingDir: '', Privileged: false, DetachKeys: '',
    };
    await writeFileAtomic(processFile, JSON.stringify(await this.processSpec(rec, config, bundle)));
    try {
      const child = spawn(this.runtime.paths.runtime, ['--root', this.runtime.paths.runtimeRoot, 'exec', '--pid-file', pidFile, '--process', processFile, rec.Id], {
        stdio: ['ignore', 'pipe', 'pipe'], detached: true,
      });
      let output = '';
      const take = (d: Buffer): void => { if (output.length < 4096) output += d.toString(); };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        // Kill the probe itself (runc would leave it running), then runc.
        void fs.readFile(pidFile, 'utf8').then((pid) => process.kill(Number(pid), 'SIGKILL')).catch(() => undefined)
          .finally(() => child.kill('SIGKILL'));
      }, timeoutMs);
      const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
      clearTimeout(timer);
      if (timedOut) return { exitCode: -1, output: `Health check exceeded timeout (${formatSeconds(timeoutMs)})` };
      if (code === 255 && /level=(error|fatal) msg=/.test(output)) {
        const e = execStartError(output);
        return { exitCode: e.exitCode, output: e.message };
      }
      return { exitCode: code, output };
    } finally {
      await fs.rm(processFile, { force: true });
      await fs.rm(pidFile, { force: true });
    }
  }

  /** Tell a TTY session's conmon the new window size. */
  async resize(id: string, height: number, width: number): Promise<void> {
    const s = this.get(id);
    if (!s.config.Tty || !s.running) return;
    await conmonResize(join(this.sessionDir(s), 'ctl'), height, width);
  }

  private sessionDir(s: ExecSession): string {
    return join(this.host.bundleDir(s.containerId), `exec-${s.id}`);
  }

  /**
   * A TTY needs the pty master, which runc hands over a console socket:
   * conmon (in exec mode) takes it and serves the terminal on its attach socket.
   */
  private async startWithTerminal(s: ExecSession, rec: ContainerRecord, streams: ExecStreams, detach: boolean): Promise<number | undefined> {
    const bundle = this.host.bundleDir(rec.Id);
    const dir = this.sessionDir(s);
    const processFile = join(dir, 'process.json');
    const cleanup = async (): Promise<void> => {
      await fs.rm(dir, { recursive: true, force: true });
      await this.runtime.removeSocketLink(s.id.slice(0, 16));
    };
    try {
      await fs.mkdir(dir, { recursive: true });
      await writeFileAtomic(processFile, JSON.stringify({ ...(await this.processSpec(rec, s.config, bundle)), terminal: true }));
    } catch (err) {
      s.exitCode = 126;
      await cleanup();
      throw err;
    }
    const stdinWanted = s.config.AttachStdin && !detach && streams.stdin !== undefined;
    let mon: ExecMonitor | undefined;
    let conn: AttachConnection;
    try {
      mon = await this.runtime.execWithMonitor({
        containerId: rec.Id, execId: s.id, name: rec.Name.slice(1), bundle: dir, processFile, terminal: true, stdin: stdinWanted,
      });
      conn = await connectAttach(mon.attachPath);
    } catch (err) {
      mon?.kill();
      await cleanup();
      s.exitCode = 126;
      throw new EngineError(500, `OCI runtime exec failed: ${(err as Error).message}: unknown`);
    }
    const out = detach ? undefined : streams.stdout;
    conn.onOutput((_stream, data) => {
      if (out && s.config.AttachStdout) out.write(data);
    });
    let started;
    try {
      started = await mon.go();
    } catch (err) {
      conn.close();
      mon.kill();
      await cleanup();
      const e = execStartError((err as Error).message);
      s.exitCode = e.exitCode;
      throw e;
    }
    s.running = true;
    s.pid = started.pid;
    this.events.publish('container', `exec_start: ${s.config.Cmd.join(' ')}`, rec.Id, { ...this.host.attrs(rec), execID: s.id });
    const input = streams.stdin;
    if (stdinWanted && input) {
      input.on('data', (d: Buffer) => {
        input.pause();
        void conn.write(d).then(() => input.resume());
      });
      input.on('end', () => conn.end());
      input.resume();
    }
    const finish = (async () => {
      const code = await started.exit;
      // conmon flushes the last output and closes the socket as it exits.
      await Promise.race([conn.closed, new Promise((r) => setTimeout(r, 2000))]);
      conn.close();
      s.running = false;
      s.exitCode = code;
      await cleanup();
      this.events.publish('container', 'exec_die', rec.Id, { ...this.host.attrs(rec), execID: s.id, exitCode: String(code) });
      return code;
    })();
    if (detach) {
      finish.catch(() => undefined);
      return undefined;
    }
    return finish;
  }

  private async processSpec(rec: ContainerRecord, c: ExecConfig, bundle: string): Promise<Record<string, unknown>> {
    const spec = JSON.parse(await fs.readFile(join(bundle, 'config.json'), 'utf8')) as { process: Record<string, unknown> };
    const base = spec.process;
    const userText = c.User || rec.Config.User || undefined;
    let user;
    try {
      user = await resolveUser(join(bundle, 'rootfs'), userText);
    } catch (err) {
      throw new EngineError(500, `unable to find user ${userText}: ${(err as Error).message.replace(/^unable to find user [^:]+: /, '')}`);
    }
    // The container's --group-add counts for its execs too, as with dockerd.
    const groupAdd = await resolveGroups(join(bundle, 'rootfs'), (rec.HostConfig.GroupAdd as string[] | null | undefined) ?? [])
      .catch((err: Error) => { throw new EngineError(500, err.message); });
    let env = replaceOrAppendEnv(base.env as string[], c.Env ?? []);
    if (!env.some((e) => e.startsWith('PATH='))) env = [`PATH=${DEFAULT_PATH}`, ...env];
    if (c.Tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
    const proc: Record<string, unknown> = {
      ...base,
      terminal: false,
      args: c.Cmd,
      env,
      cwd: c.WorkingDir || (base.cwd as string) || '/',
      user: { uid: user.uid, gid: user.gid, additionalGids: supplementaryGroups(user, groupAdd) },
    };
    if (c.Privileged) {
      const all = allHostCaps();
      proc.capabilities = { bounding: all, effective: all, permitted: all };
    }
    return proc;
  }
}


/** Go's Duration.String() for whole and fractional seconds: `1s`, `1.5s`, `500ms`. */
function formatSeconds(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  return `${Number((ms / 1000).toFixed(3))}s`;
}
