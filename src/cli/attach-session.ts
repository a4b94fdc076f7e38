// The client side of an attached container: output to our stdout/stderr,
// our stdin to the container (raw mode when both ends are terminals), the
// window size kept in step, and the exit code (or a detach) at the end.
import { spawnSync } from 'node:child_process';
import type { Socket } from 'node:net';
import type { EngineClient } from '../client/client.js';
import { demuxTo } from '../client/stdcopy.js';

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  detachKeys?: string;
  /** run/start: start the container once attached */
  start?: () => Promise<void>;
  /** `removed` for --rm */
  waitCondition?: string;
  /** forward our signals to the container (docker's --sig-proxy, on by default without a TTY) */
  sigProxy?: boolean;
}

const PROXIED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export interface AttachOutcome {
  /** the container's exit code, or undefined when the user detached */
  exitCode: number | undefined;
  error?: string;
}

/** Our terminal in raw mode, so keys reach the container as typed; undone by setRawMode(false). */
export function enterRawMode(): void {
  process.stdin.setRawMode(true);
  // libuv's raw mode keeps ONLCR, so the container's \r\n would reach the
  // screen as \r\r\n; turn it off (setRawMode(false) restores it).
  spawnSync('stty', ['-onlcr'], { stdio: ['inherit', 'ignore', 'ignore'] });
}

export async function attachSession(c: EngineClient, id: string, o: AttachOptions): Promise<AttachOutcome> {
  // Attach and wait are both in place before the start (no output and no exit
  // can be missed); they are asked for at once, and one that fails takes the
  // other down so that nothing keeps the CLI alive.
  const waiting = c.waitContainer(id, o.waitCondition ?? 'next-exit');
  let socket: Socket;
  try {
    socket = await c.attach(id, { stdin: o.stdin, stdout: o.stdout, stderr: o.stderr, detachKeys: o.detachKeys });
  } catch (e) {
    void waiting.then((w) => { w.cancel(); w.result.catch(() => undefined); }, () => undefined);
    throw e;
  }
  let wait: Awaited<typeof waiting>;
  try {
    wait = await waiting;
  } catch (e) {
    socket.destroy();
    throw e;
  }
  const streamDone = new Promise<void>((resolve) => {
    socket.on('end', resolve);
    socket.on('close', resolve);
    socket.on('error', () => resolve());
  });
  if (o.tty) socket.pipe(process.stdout, { end: false });
  else socket.pipe(demuxTo(process.stdout, process.stderr));

  // process.stdin is a getter that opens the stream: only touched when used.
  const stdin = o.stdin ? process.stdin : undefined;
  const raw = stdin !== undefined && o.tty && stdin.isTTY;
  if (raw) enterRawMode();
  if (stdin) {
    stdin.pipe(socket);
  } else {
    socket.end();
  }
  // With a TTY, Ctrl-C travels through the terminal instead, as in Docker.
  const proxy = (o.sigProxy ?? true) && !o.tty;
  const forward = (sig: NodeJS.Signals): void => { void c.killContainer(id, sig).catch(() => undefined); };
  if (proxy) for (const s of PROXIED_SIGNALS) process.on(s, forward);
  const resize = (): void => {
    if (!process.stdout.isTTY) return;
    void c.resizeContainer(id, process.stdout.rows, process.stdout.columns).catch(() => undefined);
  };
  try {
    if (o.start) {
      try {
        await o.start();
      } catch (e) {
        socket.destroy();
        throw e;
      }
    }
    if (o.tty) {
      resize();
      process.stdout.on('resize', resize);
    }
    await streamDone;
    // Without stdin there are no detach keys: the stream ended because the
    // container did, and its wait answers at once (no inspect round trip).
    if (!o.stdin) {
      const done = await wait.result.then((r) => r, () => undefined);
      if (done) return { exitCode: done.StatusCode, error: done.Error?.Message || undefined };
    }
    // The stream also ends when the user types the detach keys: then the container runs on.
    const state = await c.inspectContainer(id).then((j) => (j.State as { Running?: boolean } | undefined)?.Running, () => false);
    if (state) {
      wait.cancel();
      wait.result.catch(() => undefined);
      return { exitCode: undefined };
    }
    const result = await wait.result;
    return { exitCode: result.StatusCode, error: result.Error?.Message || undefined };
  } finally {
    if (proxy) for (const s of PROXIED_SIGNALS) process.off(s, forward);
    process.stdout.off('resize', resize);
    if (stdin) {
      if (raw) stdin.setRawMode(false);
      stdin.unpipe(socket);
      stdin.pause();
      // A stdin that is a pipe or terminal keeps the process alive otherwise.
      stdin.destroy();
    }
  }
}
