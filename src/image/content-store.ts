// Blobs by sha256 digest. Ingest streams to a temporary file while hashing,
// verifies, fsyncs and renames: a blob that is visible is whole and correct.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, createWriteStream, createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidParameterError, NotFoundError } from '../lib/errors.js';
import { fsyncDir } from '../lib/atomic.js';

export class DigestMismatchError extends InvalidParameterError {}

function hexOf(digest: string): string {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m) throw new InvalidParameterError(`invalid digest: ${digest}`);
  return m[1]!;
}

export class ContentStore {
  readonly blobDir: string;
  readonly ingestDir: string;

  constructor(readonly root: string) {
    this.blobDir = join(root, 'blobs', 'sha256');
    this.ingestDir = join(root, 'ingest');
  }

  async init(): Promise<void> {
    await fs.mkdir(this.blobDir, { recursive: true });
    await fs.mkdir(this.ingestDir, { recursive: true });
  }

  path(digest: string): string {
    return join(this.blobDir, hexOf(digest));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await fs.access(this.path(digest));
      return true;
    } catch {
      return false;
    }
  }

  /** A temporary file for a caller that writes and hashes on its own; see commit(). */
  tempPath(): string {
    return join(this.ingestDir, `${Date.now()}-${randomBytes(8).toString('hex')}`);
  }

  /** Move a verified temp file into place. */
  async commit(tmp: string, digest: string): Promise<void> {
    const fh = await fs.open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    // The store's directories exist once anything was ingested; a `load` into a new store is the first.
    await fs.mkdir(this.blobDir, { recursive: true });
    await fs.rename(tmp, this.path(digest));
    await fsyncDir(this.blobDir);
  }

  /** Stream into the store; with `expected`, a mismatch stores nothing. */
  async ingest(input: Readable, expected?: string): Promise<{ digest: string; size: number; path: string }> {
    await this.init();
    const tmp = this.tempPath();
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(input, tap, createWriteStream(tmp, { mode: 0o600 }));
      const digest = `sha256:${hash.digest('hex')}`;
      if (expected && expected !== digest) {
        throw new DigestMismatchError(`digest mismatch: expected ${expected}, got ${digest}`);
      }
      await this.commit(tmp, digest);
      return { digest, size, path: this.path(digest) };
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Take a file that is already on this filesystem (an extracted archive
   * member) into the store without copying: hash it, check, rename.
   */
  async adopt(file: string, expected?: string): Promise<{ digest: string; size: number }> {
    await this.init();
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (expected && expected !== digest) throw new DigestMismatchError(`digest mismatch: expected ${expected}, got ${digest}`);
    if (await this.has(digest)) return { digest, size };
    await this.commit(file, digest);
    return { digest, size };
  }

  async writeBlob(data: Buffer | string): Promise<{ digest: string; size: number }> {
    await this.init();
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = `sha256:${createHash('sha256').update(buf).digest('hex')}`;
    if (await this.has(digest)) return { digest, size: buf.length };
    const tmp = this.tempPath();
    try {
      await fs.writeFile(tmp, buf, { mode: 0o600 });
      await this.commit(tmp, digest);
    } catch (err) {
      // A full disk, say: no half-written file stays behind.
      await fs.rm(tmp, { force: true });
      throw err;
    }
    return { digest, size: buf.length };
  }

  async readBlob(digest: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.path(digest));
    } catch {
      throw new NotFoundError(`blob not found: ${digest}`);
    }
  }

  async delete(digest: string): Promise<void> {
    await fs.rm(this.path(digest), { force: true });
  }

  async list(): Promise<string[]> {
    try {
      return (await fs.readdir(this.blobDir)).filter((f) => /^[a-f0-9]{64}$/.test(f)).map((f) => `sha256:${f}`);
    } catch {
      return [];
    }
  }

  /** Interrupted ingests (a crash mid-write) are never visible; remove their leftovers. */
  async cleanupIngests(): Promise<void> {
    await fs.rm(this.ingestDir, { recursive: true, force: true });
    await fs.mkdir(this.ingestDir, { recursive: true });
  }
}
