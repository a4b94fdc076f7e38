// Reading a tar stream's headers without unpacking it: enough to know how
// many bytes of file content a layer holds (the size `images` shows) while
// the stream passes by. A full parser (tar-stream) makes an object and a
// stream per entry; this only does arithmetic on 512-byte blocks, so it costs
// nothing next to the tar itself even for a layer of 100,000 small files.

const BLOCK = 512;

/** The size field of a header: octal digits, or GNU's base-256 (high bit of the first byte set). */
export function headerSize(header: Buffer): number {
  const field = header.subarray(124, 136);
  if (field[0]! & 0x80) {
    let n = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text ? parseInt(text, 8) : 0;
}

/** Type flags whose data is file content; the rest (links, dirs, long names, pax records) is not. */
const CONTENT_TYPES = new Set(['0', '\0', '7']);

/**
 * Counts regular-file content bytes in a tar stream fed chunk by chunk.
 * Feed every chunk in order; `contentBytes` is final once the stream ends.
 */
export class TarContentCounter {
  contentBytes = 0;
  entries = 0;
  /** bytes of the current entry's data (with padding) still to skip */
  private skip = 0;
  /** a header split across chunks */
  private partial: Buffer | undefined;

  feed(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      let header: Buffer;
      if (this.partial) {
        const need = BLOCK - this.partial.length;
        const piece = chunk.subarray(pos, pos + need);
        this.partial = Buffer.concat([this.partial, piece]);
        pos += piece.length;
        if (this.partial.length < BLOCK) return;
        header = this.partial;
        this.partial = undefined;
      } else if (chunk.length - pos < BLOCK) {
        this.partial = Buffer.from(chunk.subarray(pos));
        return;
      } else {
        header = chunk.subarray(pos, pos + BLOCK);
        pos += BLOCK;
      }
      // End-of-archive blocks are zeros. A header's name may be empty too: a
      // ustar writer puts a long directory name wholly in the prefix field.
      if (header[0] === 0 && header[257] === 0) continue;
      const size = headerSize(header);
      const type = String.fromCharCode(header[156]!);
      if (CONTENT_TYPES.has(type)) {
        this.contentBytes += size;
        this.entries++;
      } else if (type !== 'L' && type !== 'K' && type !== 'x' && type !== 'g') {
        this.entries++;
      }
      this.skip = Math.ceil(size / BLOCK) * BLOCK;
    }
  }
}
