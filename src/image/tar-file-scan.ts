// The headers of a tar file on disk, read without its contents: a layer that
// GNU tar unpacks straight from its file is checked first by walking from
// header to header (positioned reads that skip each entry's data), so the
// file's bytes never pass through berthd. What tar-stream reports for a
// header (name with ustar prefix, pax and GNU long names, pax size) is
// reported here the same way.
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

/** Each entry's header, in order; throws InvalidParameterError for what is not a whole tar. */
export async function scanTarFile(path: string, onEntry: (h: TarHeaderInfo) => void): Promise<void> {
  const fh = await fs.open(path, 'r');
  try {
    const win = new Window(fh, (await fh.stat()).size);
    let offset = 0;
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax: Record<string, string> = {};
    for (;;) {
      if (offset + BLOCK > win.size) {
        // No end-of-archive block: tolerated at an entry boundary only if nothing was read at all.
        if (offset === 0) throw new InvalidTar('unexpected end of data');
        return;
      }
      const header = await win.bytes(offset, BLOCK);
      if (header.every((b) => b === 0)) return;
      if (!checksumOk(header)) throw new InvalidTar('invalid tar header');
      const ustar = header.subarray(257, 263).toString('latin1') === 'ustar\0';
      if (!ustar && header.subarray(257, 265).toString('latin1') !== 'ustar  \0') throw new InvalidTar('invalid tar header: unknown format');
      const flag = String.fromCharCode(header[156]!);
      let size = headerSize(header);
      const dataOffset = offset + BLOCK;
      if (flag === 'x' || flag === 'L' || flag === 'K' || flag === 'g') {
        const data = await win.bytes(dataOffset, size);
        if (flag === 'x') pax = paxRecords(data);
        else if (flag === 'L') longName = field(data, 0, data.length);
        else if (flag === 'K') longLink = field(data, 0, data.length);
        offset = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
        continue;
      }
      let name = field(header, 0, 100);
      // ustar (POSIX) keeps a prefix; GNU's magic (`ustar  `) uses that space for other things.
      if (ustar) {
        const prefix = field(header, 345, 500);
        if (prefix) name = `${prefix}/${name}`;
      }
      let type = TYPES[flag] ?? 'unknown';
      if (type === 'file' && name.endsWith('/')) type = 'directory';
      const info: TarHeaderInfo = {
        name: pax.path ?? longName ?? name,
        type,
        linkname: pax.linkpath ?? longLink ?? field(header, 157, 257),
        size: pax.size !== undefined ? Number(pax.size) : size,
      };
      size = info.size;
      pax = {};
      longName = undefined;
      longLink = undefined;
      onEntry(info);
      // As tar-stream (the stream scanner) reads them: data follows every entry but a directory.
      offset = dataOffset + (type === 'directory' ? 0 : Math.ceil(size / BLOCK) * BLOCK);
      if (offset > win.size) throw new InvalidTar('unexpected end of data');
    }
  } finally {
    await fh.close();
  }
}
