// Unpacked layers, one directory per chain id, shared by every image that
// uses them. A layer tar is validated entry by entry while GNU tar unpacks it
// into a temporary directory that is renamed into place when complete.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, constants as fsConstants, createReadStream } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { EngineError, InvalidParameterError, SystemError } from '../lib/errors.js';
import { writeJsonAtomic, readJson } from '../lib/atomic.js';
import { decompressed } from './compression.js';
import { DigestMismatchError } from './content-store.js';
import { whiteoutScript, type Whiteout } from './whiteouts.js';
import { scanTarFile } from './tar-file-scan.js';
import { entryChecks, extractLayerStream, layerScanner } from './layer-extract.js';
import { TAR_FIFO_PREFIX, tarExtractFile } from './tar-extract.js';

export interface LayerRecord { chainId: string; diffId: string; parent?: string; size: number }

export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}`);
  }
  return out;
}

/** Validate a layer tar on disk (plain, gzip or zstd). */
export async function validateLayerTar(blobPath: string): Promise<number> {
  const { stream } = await decompressed(createReadStream(blobPath));
  const scan = layerScanner();
  stream.on('error', (err) => scan.sink.destroy(err));
  stream.pipe(scan.sink);
  return (await scan.result).size;
}

export class LayerStore {
  constructor(readonly root: string) {}

  path(chainId: string): string {
    return join(this.root, chainId.replace(/^sha256:/, ''), 'diff');
  }

  async has(chainId: string): Promise<boolean> {
    try {
      await fs.access(join(this.root, chainId.replace(/^sha256:/, ''), 'layer.json'));
      return true;
    } catch {
      return false;
    }
  }

  async get(chainId: string): Promise<LayerRecord> {
    return readJson<LayerRecord>(join(this.root, chainId.replace(/^sha256:/, ''), 'layer.json'));
  }

  /**
   * Unpack a layer (plain, gzip or zstd tar) on top of `parent` in one pass
   * (layer-extract.ts): the stream is hashed (its diff id), checked entry by
   * entry and extracted by GNU tar at the same time, into a temporary
   * directory that is renamed into place only when all three agree.
   * Whiteouts become overlay whiteouts.
   */
  async unpack(input: Readable, opts: { parent?: string; expectedDiffId?: string } = {}): Promise<LayerRecord> {
    await fs.mkdir(this.root, { recursive: true });
    const tmp = join(this.root, `.tmp-${randomBytes(8).toString('hex')}`);
    const diffDir = join(tmp, 'diff');
    await fs.mkdir(diffDir, { recursive: true });
    try {
      const { diffId, size, whiteouts } = await extractLayerStream(input, diffDir);
      if (opts.expectedDiffId && opts.expectedDiffId !== diffId) {
        throw new DigestMismatchError(`failed to register layer: diff id mismatch: expected ${opts.expectedDiffId}, got ${diffId}`);
      }
      return await this.install(tmp, { diffId, size, whiteouts, ...(opts.parent ? { parent: opts.parent } : {}) });
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      if (err instanceof EngineError) throw err;
      throw new InvalidParameterError(`failed to register layer: ${(err as Error).message}`);
    }
  }

  /**
   * Unpack a plain (uncompressed) layer tar that is a file on disk, as
   * `docker save` writes them: its headers are checked first (read from the
   * file, its contents skipped), then GNU tar reads the file itself, so none
   * of its bytes pass through berthd. `diffId` is the caller's SHA-256 of
   * the file, computed meanwhile; it must equal `expectedDiffId` before the
   * layer is put in place.
   */
  async unpackFile(path: string, opts: { parent?: string; expectedDiffId: string; diffId: Promise<string> }): Promise<LayerRecord> {
    // Not awaited when the file fails its checks first.
    opts.diffId.catch(() => undefined);
    await fs.mkdir(this.root, { recursive: true });
    const tmp = join(this.root, `.tmp-${randomBytes(8).toString('hex')}`);
    const diffDir = join(tmp, 'diff');
    await fs.mkdir(diffDir, { recursive: true });
    try {
      const checks = entryChecks();
      await scanTarFile(path, (h) => checks.check(h));
      await tarExtractFile(path, diffDir);
      const diffId = await opts.diffId;
      if (diffId !== opts.expectedDiffId) {
        throw new DigestMismatchError(`failed to register layer: diff id mismatch: expected ${opts.expectedDiffId}, got ${diffId}`);
      }
      return await this.install(tmp, { diffId, ...checks.result(), ...(opts.parent ? { parent: opts.parent } : {}) });
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      if (err instanceof EngineError) throw err;
      throw new InvalidParameterError(`failed to register layer: ${(err as Error).message}`);
    }
  }

  /** An unpacked layer in `tmp/diff` goes into place under its chain id (or goes, when that layer exists). */
  private async install(tmp: string, l: { parent?: string; diffId: string; size: number; whiteouts: Whiteout[] }): Promise<LayerRecord> {
    const chainId = l.parent ? chainIds([l.parent, l.diffId])[1]! : l.diffId;
    if (await this.has(chainId)) {
      await fs.rm(tmp, { recursive: true, force: true });
      return this.get(chainId);
    }
    if (l.whiteouts.length) await runScript(whiteoutScript(join(tmp, 'diff'), l.whiteouts));
    const rec: LayerRecord = { chainId, diffId: l.diffId, size: l.size, ...(l.parent ? { parent: l.parent } : {}) };
    await writeJsonAtomic(join(tmp, 'layer.json'), rec);
    try {
      await fs.rename(tmp, join(this.root, chainId.replace(/^sha256:/, '')));
    } catch (err) {
      // Someone unpacked the same layer meanwhile: theirs is as good as ours.
      if (await this.has(chainId)) {
        await fs.rm(tmp, { recursive: true, force: true });
        return this.get(chainId);
      }
      throw err;
    }
    return rec;
  }

  /**
   * Take `dir` (an overlay upper the caller is done with) as the layer whose
   * tar has `diffId`: renamed into place instead of unpacking the tar that
   * was just made from it. The directory is gone afterwards either way (moved
   * here, or removed when the layer already exists). Same filesystem only.
   */
  async adopt(dir: string, opts: { parent?: string; diffId: string; size: number }): Promise<LayerRecord> {
    await fs.mkdir(this.root, { recursive: true });
    const chainId = opts.parent ? chainIds([opts.parent, opts.diffId])[1]! : opts.diffId;
    if (await this.has(chainId)) {
      await fs.rm(dir, { recursive: true, force: true });
      return this.get(chainId);
    }
    const tmp = join(this.root, `.tmp-${randomBytes(8).toString('hex')}`);
    await fs.mkdir(tmp);
    try {
      await fs.rename(dir, join(tmp, 'diff'));
      const rec: LayerRecord = { chainId, diffId: opts.diffId, size: opts.size, ...(opts.parent ? { parent: opts.parent } : {}) };
      await writeJsonAtomic(join(tmp, 'layer.json'), rec);
      await fs.rename(tmp, join(this.root, chainId.replace(/^sha256:/, '')));
      return rec;
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      if (await this.has(chainId)) return this.get(chainId);
      throw err;
    }
  }

  async remove(chainId: string): Promise<void> {
    const dir = join(this.root, chainId.replace(/^sha256:/, ''));
    // Rename first so a crash mid-delete never leaves a half layer that looks whole.
    const trash = join(this.root, `.tmp-rm-${randomBytes(8).toString('hex')}`);
    try {
      await fs.rename(dir, trash);
    } catch {
      return;
    }
    await fs.rm(trash, { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    try {
      return (await fs.readdir(this.root)).filter((f) => /^[a-f0-9]{64}$/.test(f)).map((f) => `sha256:${f}`);
    } catch {
      return [];
    }
  }

  async cleanupTemp(): Promise<void> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.root);
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.startsWith('.tmp-')) continue;
      await releaseFifoReaders(join(this.root, e));
      await fs.rm(join(this.root, e), { recursive: true, force: true });
    }
  }
}

/**
 * A berthd killed right after it asked for a layer's tar, before tar opened
 * its FIFO (tar-extract.ts), leaves that tar's shell waiting in open(2) for
 * a writer that will never come. Opening the FIFO for writing and closing
 * it again lets it go (tar finds an empty archive and exits).
 */
async function releaseFifoReaders(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(TAR_FIFO_PREFIX)) continue;
    try {
      // Non-blocking: fails with ENXIO when nobody waits to read, which is the usual case.
      const fh = await fs.open(join(dir, name), fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
      await fh.close();
    } catch {
      // no reader
    }
  }
}

async function runScript(script: string): Promise<void> {
  const child = spawn('sh', ['-e'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  child.stdin.end(script);
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new SystemError(`failed to apply whiteouts: ${err.trim()}`);
}
