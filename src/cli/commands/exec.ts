// `berth exec`: run a command in a running container, streaming its output
// (and our stdin with -i) over a hijacked connection, exiting with its code.
import { client, CliError } from '../context.js';
import { EngineApiError } from '../../client/client.js';
import { demuxTo } from '../../client/stdcopy.js';
import { enterRawMode } from '../attach-session.js';
import { envList, type Opts } from './containers.js';

export async function exec(args: string[], opts: Opts): Promise<number> {
  const [container, ...command] = args as [string, ...string[]];
  const c = client();
  const interactive = Boolean(opts.interactive);
  const detach = Boolean(opts.detach);
  try {
    const { Id } = await c.createExec(container, {
      User: (opts.user as string | undefined) ?? '',
      Privileged: Boolean(opts.privileged),
      Tty: Boolean(opts.tty),
      AttachStdin: interactive && !detach,
      AttachStdout: !detach,
      AttachStderr: !detach,
      DetachKeys: (opts.detachKeys as string | undefined) ?? '',
      Env: envList(opts),
      WorkingDir: (opts.workdir as string | undefined) ?? '',
      Cmd: command,
    });
    if (detach) {
      await c.startExecDetached(Id);
      return 0;
    }
    const tty = Boolean(opts.tty);
    const socket = await c.startExec(Id, { Detach: false, Tty: tty });
    const done = new Promise<void>((resolve) => {
      socket.on('end', resolve);
      socket.on('close', resolve);
      socket.on('error', () => resolve());
    });
    if (tty) socket.pipe(process.stdout, { end: false });
    else socket.pipe(demuxTo(process.stdout, process.stderr));
    const raw = interactive && tty && process.stdin.isTTY;
    if (raw) enterRawMode();
    const resize = (): void => {
      if (process.stdout.isTTY) void c.resizeExec(Id, process.stdout.rows, process.stdout.columns).catch(() => undefined);
    };
    if (tty) {
      resize();
      process.stdout.on('resize', resize);
    }
    if (interactive) {
      // Our stdin's end becomes a half-close: the command sees EOF and its output keeps coming.
      process.stdin.pipe(socket);
    } else {
      socket.end();
    }
    try {
      await done;
    } finally {
      process.stdout.off('resize', resize);
      if (raw) process.stdin.setRawMode(false);
      if (interactive) {
        process.stdin.unpipe(socket);
        process.stdin.destroy();
      }
    }
    const { ExitCode } = await c.inspectExec(Id);
    return ExitCode ?? 0;
  } catch (e) {
    if (e instanceof EngineApiError) throw new CliError(`Error response from daemon: ${e.message}`, 1);
    throw e;
  }
}
