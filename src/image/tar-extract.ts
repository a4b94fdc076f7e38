// GNU tar unpacking a layer into a directory, started by the fork server
// rather than by berthd (lib/fork-server.ts): Node forks the whole daemon
// for a child process and its event loop stands still meanwhile, ~30–50 ms
// on these VMs with a pull's buffers in memory; a pull of four layers spent
// ~190 ms there before any byte moved. A tar that reads a stream gets it
// through a FIFO that berthd holds open for writing (made by the syscall
// server; its name is removed as soon as tar has it open). Where there is
// no syscall server, berthd spawns tar itself as before.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, openSync, promises as fs } from 'node:fs';
import { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { SystemError } from '../lib/errors.js';
import { forkServer } from '../lib/fork-server.js';
import { syscallServer } from '../lib/syscall-server.js';

/** A tar unpacking what is written to `stdin`; `done` settles when it has exited. */
export interface TarExtractor {
  stdin: Writable;
  /** the end of the input (not `stdin.end()`, which may come too soon for a FIFO) */
  finish(): void;
  done: Promise<void>;
  /** SIGKILL, if it still runs */
  kill(): void;
}

/** The name a FIFO for tar starts with (LayerStore.cleanupTemp looks for them). */
export const TAR_FIFO_PREFIX = '.tar-stdin-';

function tarArgs(source: string, dir: string): string[] {
  // 128 KiB reads (-b 256) instead of tar's 10 KiB records: from a pipe, each
  // read of tar's is a wake-up of the writer too. A pull is ~8 % faster.
  // tar reassembles short reads from a pipe into whole records by itself, and
  // a short last record is fine.
  return ['-x', '-p', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--same-permissions', '-b', '256', '-f', source, '-C', dir];
}

const failure = (stderr: string, code: number | null): SystemError => new SystemError(`failed to unpack layer: ${stderr.trim() || `tar exited with ${code}`}`);

/** Unpack the tar file `path` into `dir`. */
export async function tarExtractFile(path: string, dir: string): Promise<void> {
  const r = await forkServer().run(['tar', ...tarArgs(path, dir)]);
  if (r.code !== 0) throw failure(r.stderr, r.code);
}

/**
 * A tar unpacking its stdin into `dir`. The FIFO is made beside `dir`
 * (in a layer's temporary directory, which goes with it).
 */
export async function tarExtractStream(dir: string): Promise<TarExtractor> {
  const sys = syscallServer();
  if (!sys) return spawned(dir);
  const fifo = join(dirname(dir), `${TAR_FIFO_PREFIX}${randomBytes(6).toString('hex')}`);
  await sys.mkfifo(fifo, 0o600);
  let fd: number;
  try {
    // Read-write, so that the open does not wait for tar (a FIFO opened
    // write-only waits for a reader). Then tar's death is no EPIPE here (we
    // are a reader too): the fork server reports its exit, and the stream
    // is destroyed then. (libuv adds O_CLOEXEC.)
    fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  } catch (err) {
    await fs.unlink(fifo).catch(() => undefined);
    throw new SystemError(`failed to unpack layer: ${(err as Error).message}`);
  }
  // allowHalfOpen: the socket must not close itself for having no readable side.
  const stdin = new Socket({ fd, readable: false, writable: true, allowHalfOpen: true });
  stdin.on('error', () => undefined);
  const job = forkServer().startWithStdin(['tar', ...tarArgs('-', dir)], fifo);
  // Once tar has it open (or never will), nobody needs the name.
  void job.pid.then(() => undefined, () => undefined).then(() => fs.unlink(fifo)).catch(() => undefined);
  let exited = false;
  const done = job.done.then((r) => {
    exited = true;
    stdin.destroy();
    if (r.code !== 0) throw failure(r.stderr, r.code);
  }, (err: unknown) => {
    exited = true;
    stdin.destroy();
    throw err;
  });
  done.catch(() => undefined);
  return {
    stdin,
    // The last writer of a FIFO closing before its reader opened it would
    // throw away what is buffered in it, and leave the reader waiting for a
    // writer for ever: the end waits until tar has it open.
    finish: () => { void job.pid.then(() => { stdin.end(); }, () => { stdin.destroy(); }); },
    done,
    kill: () => {
      void job.pid.then((pid) => {
        if (exited) return;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }, () => undefined);
    },
  };
}

/** The fallback: berthd spawns tar itself, its stdin a pipe. */
function spawned(dir: string): TarExtractor {
  const child = spawn('tar', tarArgs('-', dir));
  child.stdin.on('error', () => undefined);
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(failure(err, code))));
  });
  done.catch(() => undefined);
  return {
    stdin: child.stdin,
    finish: () => { child.stdin.end(); },
    done,
    kill: () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); },
  };
}
