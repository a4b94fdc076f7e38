// The OCI runtime driver: conmon as the per-container monitor, runc (or crun)
// as the runtime. conmon runs `runc create`, holds the container's stdio,
// writes the k8s-file log and, when the process ends, the exit code to
// EXIT_DIR/ID. It is a daemon of its own, so containers outlive berthd.

import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import { promises as fsp, closeSync, constants, existsSync, lstatSync, openSync, readFileSync, readSync, rmdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SystemError } from '../lib/errors.js';
import { forkServer } from '../lib/fork-server.js';
import { processStat } from '../lib/proc-stat.js';

/** The parts of runc's state.json (libcontainer's State) that deleteStopped reads. */
interface RuncState {
  init_process_pid: number;
  init_process_start: number;
  cgroup_paths?: Record<string, string>;
  intel_rdt_path?: string;
  config?: { namespaces?: { type: string; path?: string }[]; Hooks?: Record<string, unknown> };
}

const execFileP = promisify(execFile);

export interface RuntimePaths {
  /** runc or crun binary */
  runtime: string;
  conmon: string;
  /** --root for the runtime's own state, per daemon so instances don't collide */
  runtimeRoot: string;
  exitDir: string;
  socketDir: string;
}

export interface MonitorOptions {
  id: string;
  name: string;
  bundle: string;
  logPath: string;
  pidFile: string;
  conmonPidFile: string;
  /** bytes; conmon truncates the log past this size (0 = unlimited) */
  logSizeMax?: number;
  /** a pseudo-terminal for the process (conmon receives runc's console fd) */
  terminal?: boolean;
  /** keep a stdin pipe, fed through the attach socket */
  stdin?: boolean;
  /** do not close stdin when the last attach client leaves (`-i` without StdinOnce) */
  leaveStdinOpen?: boolean;
}

/** What `runc events --stats` reports (the fields Berth reads). */
export interface RuntimeStats {
  cpu?: { usage?: { total?: number; percpu?: number[]; kernel?: number; user?: number }; throttling?: { periods?: number; throttledPeriods?: number; throttledTime?: number } };
  memory?: { usage?: { limit?: number; usage?: number; max?: number; failcnt?: number }; raw?: Record<string, number> };
  pids?: { current?: number; limit?: number };
  blkio?: { ioServiceBytesRecursive?: Array<{ major: number; minor: number; op: string; value: number }> };
}

export interface ExecMonitorOptions {
  containerId: string;
  execId: string;
  name: string;
  /** a directory of the session's own: conmon puts `attach` and `ctl` there */
  bundle: string;
  processFile: string;
  terminal: boolean;
  stdin: boolean;
}

export interface ExecMonitor {
  attachPath: string;
  /** let conmon run `runc exec` (call once connected); the pid, then the exit code */
  go(): Promise<{ pid: number; exit: Promise<number> }>;
  kill(): void;
}

/** A runtime failure whose message is the runtime's own, as Docker passes it on. */
export class RuntimeCreateError extends SystemError {
  constructor(message: string) {
    super(message);
  }
}

export class OciRuntime {
  constructor(readonly paths: RuntimePaths) {}

  private runtimeArgs(): string[] {
    return ['--root', this.paths.runtimeRoot];
  }

  /**
   * Start conmon, which runs `runtime create`. Resolves with the container's
   * pid once it is created (not yet started), or rejects with the runtime's
   * error text (e.g. `exec: "foo": executable file not found in $PATH`).
   */
  async createWithMonitor(o: MonitorOptions): Promise<number> {
    const args = [
      '--api-version', '1',
      '-c', o.id, '-u', o.id, '-n', o.name,
      '-r', this.paths.runtime,
      '--runtime-arg', '--root', '--runtime-arg', this.paths.runtimeRoot,
      '-b', o.bundle,
      '-p', o.pidFile,
      '-P', o.conmonPidFile,
      '-l', `k8s-file:${o.logPath}`,
      '--exit-dir', this.paths.exitDir,
      '--socket-dir-path', this.paths.socketDir,
      // conmon leaves an `oom` file here when the kernel OOM-kills the container.
      '--persist-dir', o.bundle,
      '--log-level', 'error',
    ];
    if (o.logSizeMax && o.logSizeMax > 0) args.push('--log-size-max', String(o.logSizeMax));
    if (o.terminal) args.push('-t');
    if (o.stdin) args.push('-i');
    if (o.stdin && o.leaveStdinOpen) args.push('--leave-stdin-open');
    // Through the fork server (see there): fd 3 is conmon's sync pipe, where
    // it reports the pid (or the create error) as JSON. conmon daemonizes;
    // what it says after that line is not read.
    const r = await forkServer().runWithStatusFd([this.paths.conmon, ...args], { _OCI_SYNCPIPE: '3' });
    const line = r.status;
    if (!line) {
      throw new RuntimeCreateError(`conmon failed: ${r.stderr || 'no status from monitor'}`);
    }
    let msg: { data?: number; message?: string };
    try {
      msg = JSON.parse(line) as { data?: number; message?: string };
    } catch {
      throw new RuntimeCreateError(`conmon: unexpected status ${line}`);
    }
    if (typeof msg.data !== 'number' || msg.data < 0) {
      throw new RuntimeCreateError(cleanRuntimeMessage(msg.message ?? 'container create failed'));
    }
    return msg.data;
  }

  /**
   * An exec session with a terminal, run by conmon (`--exec`): conmon gets
   * the pty master from runc and serves it on `bundle/attach`. conmon waits
   * on the start pipe until we have connected to that socket, so no output
   * is lost; the sync pipe then reports the pid and, at the end, the exit code.
   */
  async execWithMonitor(o: ExecMonitorOptions): Promise<ExecMonitor> {
    const args = [
      '--api-version', '1',
      // The short id keeps `socketDir/ID/attach` within a socket path's 108 bytes.
      '-c', o.containerId, '-u', o.execId.slice(0, 16), '-n', o.name,
      '-r', this.paths.runtime,
      '--runtime-arg', '--root', '--runtime-arg', this.paths.runtimeRoot,
      '-b', o.bundle,
      '-p', join(o.bundle, 'pid'),
      '-l', 'none',
      '--socket-dir-path', this.paths.socketDir,
      '--log-level', 'error',
      '-e', '--exec-process-spec', o.processFile, '--exec-attach',
    ];
    if (o.terminal) args.push('-t');
    if (o.stdin) args.push('-i');
    const child = spawn(this.paths.conmon, args, {
      // fd 3 sync (pid, exit code), fd 4 start (we say go), fd 5 attach (socket ready).
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4', _OCI_ATTACHPIPE: '5' },
      detached: true,
    });
    child.on('error', () => undefined);
    const stdio = child.stdio as unknown as Array<Readable | Writable | null>;
    const [sync, start, attachReady] = [stdio[3] as Readable, stdio[4] as Writable, stdio[5] as Readable];
    let errText = '';
    (child.stderr as Readable).on('data', (d: Buffer) => { errText += d.toString(); });
    const messages = syncMessages(sync);
    start.write('0');
    const ready = await readFirstLine(attachReady);
    attachReady.destroy();
    if (!ready) {
      child.kill('SIGKILL');
      throw new RuntimeCreateError(`conmon failed: ${errText.trim() || 'no attach socket'}`);
    }
    return {
      // Through conmon's symlink: the bundle path itself may be too long for a socket address.
      attachPath: join(this.paths.socketDir, o.execId.slice(0, 16), 'attach'),
      go: async () => {
        start.end('1');
        const first = await messages.next();
        if (first.done || typeof first.value.data !== 'number') {
          throw new RuntimeCreateError(`conmon failed: ${errText.trim() || 'no status from monitor'}`);
        }
        if (first.value.data < 0) throw new RuntimeCreateError(first.value.message ?? 'exec failed');
        const pid = first.value.data;
        const exit = messages.next().then((m) => (m.done || typeof m.value.data !== 'number' ? -1 : m.value.data));
        return { pid, exit };
      },
      kill: () => child.kill('SIGKILL'),
    };
  }

  /**
   * Let a created container's process run. With runc, `runc start` only
   * opens the container's exec fifo for reading (runc init waits to write a
   * byte to it before it executes the process), reads that byte and removes
   * the fifo, which is how runc tells `created` from `running`; doing the
   * same here saves spawning runc (~15 ms of every start). crun's fifo works
   * the other way round, and anything unexpected (no fifo, an init that died)
   * falls back to `runtime start`, which reports the error in its words.
   */
  async start(id: string, initPid?: number): Promise<void> {
    if (initPid && basename(this.paths.runtime) === 'runc' && await this.releaseExecFifo(id, initPid)) return;
    await this.run(['start', id]);
  }

  private async releaseExecFifo(id: string, initPid: number): Promise<boolean> {
    const fifo = join(this.paths.runtimeRoot, id, 'exec.fifo');
    // Synchronous calls, none of which blocks (the fifo is opened
    // non-blocking): the container's process starts the moment the fifo is
    // opened, and through the thread pool each step waited behind other work.
    let fd: number;
    try {
      if (!lstatSync(fifo).isFIFO()) return false;
      // Non-blocking: a blocking open would wait forever for an init that died.
      fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return false;
    }
    try {
      const buf = Buffer.alloc(1);
      const deadline = Date.now() + 10_000;
      for (;;) {
        // 0 bytes: init has not opened its end yet; EAGAIN: opened, not written yet.
        let n = 0;
        try {
          n = readSync(fd, buf, 0, 1, null);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        }
        if (n === 1) break;
        if (Date.now() > deadline || !existsSync(`/proc/${initPid}`)) return false;
        await new Promise((r) => setTimeout(r, 1));
      }
    } catch {
      return false;
    } finally {
      closeSync(fd);
    }
    rmSync(fifo, { force: true });
    return true;
  }

  /** Apply new limits to a running container (`runc update --resources -`). */
  async update(id: string, resources: Record<string, unknown>): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(this.paths.runtime, [...this.runtimeArgs(), 'update', '--resources', '-', id], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new SystemError(cleanRuntimeMessage(err.trim() || `runc update exited ${code}`)))));
      child.stdin!.end(JSON.stringify(resources));
    });
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id]);
  }

  /** Host pids of the container's processes. */
  async pids(id: string): Promise<number[]> {
    const stdout = await this.output(['ps', '--format', 'json', id]);
    return (JSON.parse(stdout || '[]') as number[] | null) ?? [];
  }

  /** One sample of the container's cgroup counters, in runc's own (v1/v2-neutral) shape. */
  async stats(id: string): Promise<RuntimeStats> {
    return (JSON.parse(await this.output(['events', '--stats', id])) as { data: RuntimeStats }).data;
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    await this.run(['kill', ...(all ? ['--all'] : []), id, signal]);
  }

  async delete(id: string, force = true): Promise<void> {
    if (basename(this.paths.runtime) === 'runc' && await this.deleteStopped(id)) return;
    try {
      await this.run(['delete', ...(force ? ['--force'] : []), id]);
    } catch (err) {
      if (!/does not exist/.test((err as Error).message)) throw err;
    }
  }

  /**
   * What `runc delete` does for a container whose init is gone, done here
   * (spawning runc costs ~20 ms, and it is on the path of every `run --rm`,
   * `rm -f` and build step): remove its cgroups and its state directory.
   * Only in the plain case — a PID namespace of its own (so every process
   * died with init), no hooks, no RDT group — and only while init is really
   * gone (runc's own test: no process with its pid and start time, or a
   * zombie); anything else, or any step failing, is left to runc.
   */
  private async deleteStopped(id: string): Promise<boolean> {
    const dir = join(this.paths.runtimeRoot, id);
    let state: RuncState;
    try {
      // Synchronously, like the rmdirs below: small, local, and on the path of every teardown.
      state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as RuncState;
    } catch {
      return false;
    }
    const stat = processStat(state.init_process_pid);
    if (stat && stat.startTime === state.init_process_start && stat.state !== 'Z' && stat.state !== 'X') return false;
    const ownPidNs = (state.config?.namespaces ?? []).some((n) => n.type === 'NEWPID' && !n.path);
    const hooks = Object.values(state.config?.Hooks ?? {}).some((h) => Array.isArray(h) && h.length > 0);
    if (!ownPidNs || hooks || state.intel_rdt_path) return false;
    for (const path of Object.values(state.cgroup_paths ?? {})) {
      if (!path.startsWith('/sys/fs/cgroup/')) return false;
      try {
        rmdirSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
      }
    }
    await fsp.rm(dir, { recursive: true, force: true });
    return true;
  }

  /**
   * conmon links `socketDir/<id>` to the bundle (a short socket address) and
   * never removes the link; whoever removes the bundle removes it too.
   */
  async removeSocketLink(id: string): Promise<void> {
    rmSync(join(this.paths.socketDir, id), { force: true }); // one unlink, on the path of every removal
  }

  /** Links in socketDir whose bundle is gone (left by a crash before removal). */
  async sweepSocketLinks(): Promise<void> {
    const names = await fsp.readdir(this.paths.socketDir).catch(() => [] as string[]);
    for (const name of names) {
      const link = join(this.paths.socketDir, name);
      if (!(await fsp.stat(link).then(() => true, () => false))) await fsp.rm(link, { force: true });
    }
  }

  /** Whether the runtime holds state for `id` (cheaper than spawning it). */
  async exists(id: string): Promise<boolean> {
    return existsSync(join(this.paths.runtimeRoot, id)); // one stat, on the path of every start and removal
  }

  /** The runtime's view: created, running, paused, stopped; undefined if unknown. */
  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    try {
      const { stdout } = await execFileP(this.paths.runtime, [...this.runtimeArgs(), 'state', id]);
      const s = JSON.parse(stdout) as { status: string; pid: number };
      return { status: s.status, pid: s.pid };
    } catch {
      return undefined;
    }
  }

  async list(): Promise<string[]> {
    try {
      const { stdout } = await execFileP(this.paths.runtime, [...this.runtimeArgs(), 'list', '--format', 'json']);
      const arr = JSON.parse(stdout || 'null') as { id: string }[] | null;
      return (arr ?? []).map((c) => c.id);
    } catch {
      return [];
    }
  }

  private async run(args: string[]): Promise<void> {
    await this.output(args);
  }

  /** Run the runtime; its stdout, or its own error message as a SystemError. */
  private async output(args: string[]): Promise<string> {
    try {
      return (await execFileP(this.paths.runtime, [...this.runtimeArgs(), ...args])).stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new SystemError(cleanRuntimeMessage(e.stderr?.trim() || e.message));
    }
  }
}

/**
 * One message to conmon's control fifo, `TYPE HEIGHT WIDTH\n`. False when no
 * conmon reads it (the container is exiting).
 */
async function writeControl(ctlPath: string, message: string): Promise<boolean> {
  let fh;
  try {
    // Non-blocking: opening a fifo with no reader would otherwise hang.
    fh = await fsp.open(ctlPath, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'ENOENT') return false;
    throw err;
  }
  try {
    await fh.write(message);
  } finally {
    await fh.close();
  }
  return true;
}

/** conmon reopens its log file (type 2): the rotation's second half. */
export function conmonReopenLogs(ctlPath: string): Promise<boolean> {
  return writeControl(ctlPath, '2 0 0\n');
}

/** conmon resizes the pty it holds (type 1). */
export function conmonResize(ctlPath: string, height: number, width: number): Promise<boolean> {
  return writeControl(ctlPath, `1 ${height} ${width}\n`);
}

/** conmon's sync pipe: `{"data": N, "message": "…"}` per line. */
async function* syncMessages(stream: Readable): AsyncGenerator<{ data?: number; message?: string }> {
  let buf = '';
  for await (const chunk of stream) {
    buf += (chunk as Buffer).toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      try {
        yield JSON.parse(line) as { data?: number; message?: string };
      } catch { /* not a status line */ }
    }
  }
}

function readFirstLine(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (): void => {
      stream.removeAllListeners('data');
      resolve(buf.split('\n')[0] ?? '');
    };
    stream.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) done();
    });
    stream.on('end', done);
    stream.on('error', done);
  });
}

/** runc prints logrus lines (`time=... level=error msg="..."`); keep just the message. */
export function cleanRuntimeMessage(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const msgs = lines.map((l) => {
    const m = /msg="((?:[^"\\]|\\.)*)"/.exec(l);
    return m ? m[1]!.replace(/\\(.)/g, '$1') : l;
  });
  return msgs.join('; ');
}
