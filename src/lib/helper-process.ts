// Long-lived helper processes (the fork server, the syscall server): the
// child's lifecycle and line protocol they share. A helper must not keep
// berthd — or a test, or the CLI — alive when nothing is asked of it, and
// must while an answer is awaited.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { SystemError } from './errors.js';

/** Child stdio streams are sockets: ref/unref say whether they keep the process alive. */
function refStream(stream: object, on: boolean): void {
  const s = stream as { ref?: () => void; unref?: () => void };
  if (on) s.ref?.();
  else s.unref?.();
}

/** While a request is pending, the helper (its exit) and its stdout (the answers) keep the process alive. */
function keepAlive(helper: ChildProcessWithoutNullStreams, on: boolean): void {
  if (on) helper.ref();
  else helper.unref();
  refStream(helper.stdout, on);
}

/** A request waiting for its answer. */
export interface Waiter {
  reject(err: Error): void;
}

export interface HelperOptions {
  /** for messages: `fork server`, `syscall server` */
  name: string;
  /** for messages: what exited (`the shell`, `perl`) */
  what: string;
  command: string;
  args: string[];
  cwd?: string;
  /** each line the helper writes on its stdout */
  onLine(line: string): void;
}

/**
 * A long-lived child that takes requests on its stdin and answers on its
 * stdout, a line at a time. It is started on first use (and again after it
 * died), in its own session (a terminal's Ctrl-C to berthd's process group
 * must not reach it or what it starts); when it dies every pending request
 * fails. Parsing the answers is the owner's (`onLine`, then `settle`).
 */
export class HelperProcess<W extends Waiter> {
  readonly pending = new Map<number, W>();
  private child: ChildProcessWithoutNullStreams | undefined;
  private seq = 0;
  private buffered = '';

  constructor(private readonly opts: HelperOptions) {}

  /** The running child, if any. */
  get current(): ChildProcessWithoutNullStreams | undefined {
    return this.child;
  }

  nextId(): number {
    return ++this.seq;
  }

  /** Send `text` (whole lines) for request `id`; `waiter` gets the answer, or the failure to start. */
  send(id: number, waiter: W, text: string): void {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = this.ensure();
    } catch (err) {
      waiter.reject(err as Error);
      return;
    }
    if (this.pending.size === 0) keepAlive(child, true);
    this.pending.set(id, waiter);
    child.stdin.write(text);
  }

  /** Request `id` is answered: its waiter, no longer pending. */
  settle(id: number): W | undefined {
    const w = this.pending.get(id);
    if (!w) return undefined;
    this.pending.delete(id);
    if (this.pending.size === 0 && this.child) keepAlive(this.child, false);
    return w;
  }

  /** Let the child go (it exits when its stdin closes); requests under way finish on their own. */
  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }

  private ensure(): ChildProcessWithoutNullStreams {
    if (this.child && this.child.exitCode === null && !this.child.killed) return this.child;
    const child = spawn(this.opts.command, this.opts.args, {
      stdio: ['pipe', 'pipe', 'pipe'], detached: true, ...(this.opts.cwd ? { cwd: this.opts.cwd } : {}),
    });
    child.stdin.on('error', () => undefined);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => this.onOutput(d));
    // The helper itself says nothing on stderr; what it runs reports through its answers.
    child.stderr.on('data', () => undefined);
    const failAll = (why: string): void => {
      if (this.child === child) this.child = undefined;
      keepAlive(child, false);
      for (const [id, p] of this.pending) {
        this.pending.delete(id);
        p.reject(new SystemError(`${this.opts.name}: ${why}`));
      }
    };
    child.on('error', (err) => failAll(err.message));
    child.on('exit', (code, signal) => failAll(`${this.opts.what} exited (${signal ?? code})`));
    // The helper keeps nobody alive; a request under way does (see keepAlive).
    keepAlive(child, false);
    refStream(child.stdin, false);
    refStream(child.stderr, false);
    this.child = child;
    return child;
  }

  private onOutput(data: string): void {
    this.buffered += data;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      this.opts.onLine(line);
    }
  }
}
