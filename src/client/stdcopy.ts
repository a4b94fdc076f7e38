// Docker's stdcopy framing on attach and logs streams of containers without a
// TTY: an 8-byte header [stream, 0, 0, 0, uint32 BE length] before each chunk.
import { Writable } from 'node:stream';

export class StdcopyDemuxer extends Writable {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly out: (stream: number, data: Buffer) => void) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + len) break;
      const stream = this.buf[0]!;
      this.out(stream, this.buf.subarray(8, 8 + len));
      this.buf = this.buf.subarray(8 + len);
    }
    cb();
  }
}

/** A demuxer that writes stdout frames to `stdout` and stderr frames to `stderr`. */
export function demuxTo(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): StdcopyDemuxer {
  return new StdcopyDemuxer((s, data) => {
    if (s === 2) stderr.write(data);
    else stdout.write(data);
  });
}
