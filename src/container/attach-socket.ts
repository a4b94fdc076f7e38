// A client of conmon's attach socket: SOCK_SEQPACKET, which Node's `net`
// cannot open, hence `node-unix-socket` (a maintained N-API package with
// prebuilt binaries). conmon sends each chunk of output as one packet whose
// first byte names the pipe (2 stdout, 3 stderr); what we send is the
// container's stdin, and our half-close is its EOF (unless conmon was told
// to leave stdin open).
import { SeqpacketSocket } from 'node-unix-socket';

const STDOUT_PIPE = 2;
/**
 * conmon reads a packet into a 32 KiB buffer and SOCK_SEQPACKET drops what
 * does not fit, so stdin goes in packets well below that.
 */
const MAX_PACKET = 16 * 1024;
const STDERR_PIPE = 3;

export interface AttachConnection {
  write(data: Buffer): Promise<void>;
  /** half-close: the container's stdin ends */
  end(): void;
  close(): void;
  onOutput(fn: (stream: 'stdout' | 'stderr', data: Buffer) => void): void;
  /** resolves when conmon closes the connection (the process exited) */
  closed: Promise<void>;
}

export function connectAttach(path: string): Promise<AttachConnection> {
  return new Promise((resolve, reject) => {
    const sock = new SeqpacketSocket();
    let output: ((stream: 'stdout' | 'stderr', data: Buffer) => void) | undefined;
    let connected = false;
    let ended = false;
    // The native socket throws on use after close (EBADF): every call is guarded.
    let gone = false;
    const closed = new Promise<void>((res) => {
      sock.on('end', () => { gone = true; res(); });
      sock.on('close', () => { gone = true; res(); });
    });
    const guard = (fn: () => void): void => {
      if (gone) return;
      try {
        fn();
      } catch {
        gone = true;
      }
    };
    sock.on('error', (err: Error) => {
      if (!connected) reject(err);
    });
    sock.on('data', (buf: Buffer) => {
      if (buf.length < 1) return;
      const pipe = buf[0];
      if (pipe === STDOUT_PIPE) output?.('stdout', buf.subarray(1));
      else if (pipe === STDERR_PIPE) output?.('stderr', buf.subarray(1));
    });
    sock.connect(path, () => {
      connected = true;
      resolve({
        write: async (data) => {
          for (let off = 0; off < data.length && !ended && !gone; off += MAX_PACKET) {
            const len = Math.min(MAX_PACKET, data.length - off);
            await new Promise<void>((res) => {
              guard(() => sock.write(data, off, len, () => res()));
              if (gone) res();
            });
          }
        },
        end: () => {
          if (ended) return;
          ended = true;
          guard(() => sock.end());
        },
        close: () => {
          guard(() => sock.destroy());
          gone = true;
        },
        onOutput: (fn) => { output = fn; },
        closed,
      });
    });
  });
}
