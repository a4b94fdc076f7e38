// The headers of a tar archive, read without its contents. A layer that GNU
// tar unpacks straight from its file is checked first by walking from header
// to header (positioned reads that skip each entry's data), so the file's
// bytes never pass through berthd; a layer that streams by (a pull) is
// checked by TarHeaderStream, which skips data by arithmetic. What
// tar-stream reports for a header (name with ustar prefix, pax and GNU long
// names, pax size) is reported here the same way.
import { promises as fs } from 'node:fs';
import { InvalidParameterError } from '../lib/errors.js';
import { headerSize } from './tar-headers.js';

const BLOCK = 512;
const WINDOW = 1 << 20;

export interface TarHeaderInfo {
  name: string;
  /** tar-stream's names: file, link, symlink, directory, character-device, … */
  type: string;
  linkname: string;
  size: number;
}

const TYPES: Record<string, string> = {
  '0': 'file', '\0': 'file', '1': 'link', '2': 'symlink', '3': 'character-device', '4': 'block-device',
  '5': 'directory', '6': 'fifo', '7': 'contiguous-file',
};

class InvalidTar extends InvalidParameterError {
  constructor(reason: string) {
    super(`invalid tar archive: ${reason}`);
  }
}

/** Reads a file through a window, so headers close together cost one read. */
class Window {
  private start = 0;
  private buf = Buffer.alloc(0);

  constructor(private readonly fh: fs.FileHandle, readonly size: number) {}

  async bytes(offset: number, length: number): Promise<Buffer> {
    if (offset + length > this.size) throw new InvalidTar('unexpected end of data');
    if (offset < this.start || offset + length > this.start + this.buf.length) {
      const want = Math.min(Math.max(length, WINDOW), this.size - offset);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.fh.read(buf, 0, want, offset);
      if (bytesRead < length) throw new InvalidTar('unexpected end of data');
      this.start = offset;
      this.buf = buf.subarray(0, bytesRead);
    }
    return this.buf.subarray(offset - this.start, offset - this.start + length);
  }
}

function field(header: Buffer, start: number, end: number): string {
  const raw = header.subarray(start, end);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? raw.length : nul).toString('utf8');
}

function checksumOk(header: Buffer): boolean {
  let sum = 8 * 32;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += header[i]!;
  const stored = parseInt(header.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  return stored === sum;
}

/** A pax `size`: decimal digits only (NaN otherwise, which the caller refuses). */
const paxSize = (value: string): number => (/^[0-9]+$/.test(value) ? Number(value) : NaN);

/** pax records: `LEN key=value\n` each. */
function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length && data[pos] !== 0) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = parseInt(data.subarray(pos, space).toString('latin1'), 10);
    if (!(len > 0)) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

/** pax and GNU long-name records: they hold the data of the entry that follows them. */
const META_FLAGS = new Set(['x', 'L', 'K', 'g']);
/** The most a pax or long-name record may hold (tar-stream's own limit is far higher; no real name is near it). */
const META_LIMIT = 1 << 20;

const padded = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;

/**
 * What the headers seen so far say about the next entry, and the decoding
 * of one header into what tar-stream reports for it.
 */
class HeaderDecoder {
  private longName: string | undefined;
  private longLink: string | undefined;
  private pax: Record<string, string> = {};

  /** Throws for what is not a tar header. */
  check(header: Buffer): void {
    if (!checksumOk(header)) throw new InvalidTar('invalid tar header');
    const ustar = header.subarray(257, 263).toString('latin1') === 'ustar\0';
    if (!ustar && header.subarray(257, 265).toString('latin1') !== 'ustar  \0') throw new InvalidTar('invalid tar header: unknown format');
  }

  /** A pax or long-name record's data (without its padding). */
  meta(flag: string, data: Buffer): void {
    if (flag === 'x') this.pax = paxRecords(data);
    else if (flag === 'L') this.longName = field(data, 0, data.length);
    else if (flag === 'K') this.longLink = field(data, 0, data.length);
  }

  /** An entry's header, with what the records before it said; they apply to it alone. */
  entry(header: Buffer): TarHeaderInfo {
    let name = field(header, 0, 100);
    // ustar (POSIX) keeps a prefix; GNU's magic (`ustar  `) uses that space for other things.
    if (header.subarray(257, 263).toString('latin1') === 'ustar\0') {
      const prefix = field(header, 345, 500);
      if (prefix) name = `${prefix}/${name}`;
    }
    let type = TYPES[String.fromCharCode(header[156]!)] ?? 'unknown';
    if (type === 'file' && name.endsWith('/')) type = 'directory';
    const fullName = this.pax.path ?? this.longName ?? name;
    const size = this.pax.size !== undefined ? paxSize(this.pax.size) : headerSize(header);
    // Where this reading and GNU tar's would disagree on where the next header is, an entry could pass unchecked.
    if (!Number.isSafeInteger(size) || size < 0) throw new InvalidTar(`invalid size in the header of "${fullName}"`);
    const info: TarHeaderInfo = {
      name: fullName,
      type,
      linkname: this.pax.linkpath ?? this.longLink ?? field(header, 157, 257),
      size,
    };
    this.pax = {};
    this.longName = undefined;
    this.longLink = undefined;
    return info;
  }
}

/** The bytes that follow an entry's header: as tar-stream reads them, every entry but a directory has its data. */
const dataLength = (info: TarHeaderInfo): number => (info.type === 'directory' ? 0 : padded(info.size));

const isZeroBlock = (block: Buffer): boolean => block.every((b) => b === 0);

/** Each entry's header, in order; throws InvalidParameterError for what is not a whole tar. */
export async function scanTarFile(path: string, onEntry: (h: TarHeaderInfo) => void): Promise<void> {
  const fh = await fs.open(path, 'r');
  try {
    const win = new Window(fh, (await fh.stat()).size);
    const decoder = new HeaderDecoder();
    let offset = 0;
    for (;;) {
      if (offset + BLOCK > win.size) {
        // No end-of-archive block: tolerated at an entry boundary only if nothing was read at all.
        if (offset === 0) throw new InvalidTar('unexpected end of data');
        return;
      }
      const header = await win.bytes(offset, BLOCK);
      if (isZeroBlock(header)) return;
      decoder.check(header);
      const flag = String.fromCharCode(header[156]!);
      const dataOffset = offset + BLOCK;
      if (META_FLAGS.has(flag)) {
        const size = headerSize(header);
        if (size > META_LIMIT) throw new InvalidTar(`a long name or pax header of ${size} bytes`);
        decoder.meta(flag, await win.bytes(dataOffset, size));
        offset = dataOffset + padded(size);
        continue;
      }
      const info = decoder.entry(header);
      onEntry(info);
      offset = dataOffset + dataLength(info);
      if (offset > win.size) throw new InvalidTar('unexpected end of data');
    }
  } finally {
    await fh.close();
  }
}

/**
 * The same headers from a stream, fed chunk by chunk in order: entries'
 * data is skipped by arithmetic, never looked at or copied (tar-stream
 * makes an object and a stream per entry and pushes every chunk of data
 * through it; on a pull's event loop that was ~30–60 ms of 300 MB). Reading
 * stops at the first zero block, as GNU tar's does (bytes after it are
 * padding to tar). An empty stream is an archive with no entries.
 */
export class TarHeaderStream {
  private readonly decoder = new HeaderDecoder();
  /** data still to pass over */
  private skip = 0;
  /** a header or record split across chunks, gathered here */
  private partial: Buffer[] = [];
  private partialLength = 0;
  /** bytes wanted next: a header block, or a record's padded data */
  private want = BLOCK;
  /** the record whose data is being gathered */
  private record: { flag: string; size: number } | undefined;
  private finished = false;

  constructor(private readonly onEntry: (h: TarHeaderInfo) => void) {}

  /** Throws InvalidParameterError at the first thing that is not tar. */
  write(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.finished) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      let block: Buffer;
      if (this.partialLength === 0 && chunk.length - pos >= this.want) {
        block = chunk.subarray(pos, pos + this.want);
        pos += this.want;
      } else {
        // Copied: the producer's chunk is not ours to keep.
        const piece = Buffer.from(chunk.subarray(pos, pos + this.want - this.partialLength));
        this.partial.push(piece);
        this.partialLength += piece.length;
        pos += piece.length;
        if (this.partialLength < this.want) return;
        block = Buffer.concat(this.partial);
        this.partial = [];
        this.partialLength = 0;
      }
      this.take(block);
    }
  }

  /** The end of the stream: throws if it ends inside an entry. */
  end(): void {
    if (this.finished) return;
    if (this.skip > 0 || this.partialLength > 0 || this.record) throw new InvalidTar('unexpected end of data');
  }

  private take(block: Buffer): void {
    const record = this.record;
    if (record) {
      this.record = undefined;
      this.want = BLOCK;
      this.decoder.meta(record.flag, block.subarray(0, record.size));
      return;
    }
    if (isZeroBlock(block)) {
      this.finished = true;
      return;
    }
    this.decoder.check(block);
    const flag = String.fromCharCode(block[156]!);
    if (META_FLAGS.has(flag)) {
      const size = headerSize(block);
      if (size > META_LIMIT) throw new InvalidTar(`a long name or pax header of ${size} bytes`);
      if (size > 0) {
        this.record = { flag, size };
        this.want = padded(size);
      } else {
        this.decoder.meta(flag, Buffer.alloc(0));
      }
      return;
    }
    const info = this.decoder.entry(block);
    this.onEntry(info);
    this.skip = dataLength(info);
  }
}
