// GNU tar unpacking a layer into a directory, started by the fork server
// rather than by berthd (lib/fork-server.ts): Node forks the whole daemon
// for a child process and its event loop stands still meanwhile, ~30–50 ms
// on these VMs with a pull's buffers in memory; a pull of four layers spent
// ~190 ms there before any byte moved. A tar that reads a stream gets it
// through a FIFO (made by the syscall server; its name is removed as soon as
// tar has it open), written from libuv's thread pool with blocking writes
// (FifoWriter). Where there is no syscall server, berthd spawns tar itself.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { close, closeSync, constants, open, openSync, promises as fs, write } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { SystemError } from '../lib/errors.js';
import { forkServer } from '../lib/fork-server.js';
import { syscallServer } from '../lib/syscall-server.js';

/** A tar unpacking what is written to `stdin`; `done` settles when it has exited. */
export interface TarExtractor {
  stdin: Writable;
  /** the end of the input */
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
  let holder: number;
  try {
    // Held read-write until tar's shell has the FIFO open: its open waits for
    // a writer, and this one's open cannot wait for anybody (a FIFO opened
    // read-write never blocks). (libuv adds O_CLOEXEC.)
    holder = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  } catch (err) {
    await fs.unlink(fifo).catch(() => undefined);
    throw new SystemError(`failed to unpack layer: ${(err as Error).message}`);
  }
  const job = forkServer().startWithStdin(['tar', ...tarArgs('-', dir)], fifo);
  // The writing end proper, opened once tar's stdin is: write-only, and the
  // read-write one closed before any write, so that tar's death is an EPIPE
  // here rather than a write waiting for a reader that is berthd itself.
  const writeFd = job.pid.then(() => new Promise<number>((resolve, reject) => {
    open(fifo, constants.O_WRONLY, (err, fd) => (err ? reject(err) : resolve(fd)));
  })).finally(() => closeSync(holder));
  writeFd.catch(() => undefined);
  // Once tar has it open (or never will), nobody needs the name; it is gone before `done` settles.
  const unlinked = writeFd.then(() => undefined, () => undefined).then(() => fs.unlink(fifo)).catch(() => undefined);
  const stdin = new FifoWriter(writeFd);
  stdin.on('error', () => undefined);
  let exited = false;
  const done = Promise.all([job.done, unlinked]).then(([r]) => {
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
    finish: () => { stdin.end(); },
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

function closeFd(fd: number): void {
  close(fd, () => undefined);
}

/**
 * Writes to tar's FIFO from libuv's thread pool, blocking there: the copy
 * into the pipe and the wake-ups of tar are then the pool's work, not the
 * event loop's. During a pull the event loop's thread is what the pull
 * waits on (its CPU time and the pull's wall time move together); written
 * from it through a non-blocking socket, 300 MB into four FIFOs took ~140 ms
 * of it. Interleaved pulls: 1.73 → 1.66 s (medians of 16). A write blocks
 * until tar has read it; when tar exits, the write fails with EPIPE (this
 * is the only writer, and berthd holds no reading end by then).
 */
class FifoWriter extends Writable {
  private fd: number | undefined;

  constructor(private readonly opened: Promise<number>) {
    super({ highWaterMark: 1 << 20 });
  }

  override _construct(callback: (err?: Error | null) => void): void {
    this.opened.then((fd) => { this.fd = fd; callback(); }, (err: Error) => callback(err));
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    const fd = this.fd!;
    const rest = (off: number): void => {
      write(fd, chunk, off, chunk.length - off, null, (err, n) => {
        if (err) callback(err);
        else if (off + n < chunk.length) rest(off + n);
        else callback();
      });
    };
    rest(0);
  }

  override _final(callback: (err?: Error | null) => void): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) callback();
    else close(fd, (err) => callback(err));
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeFd(fd);
    callback(err);
  }
}
