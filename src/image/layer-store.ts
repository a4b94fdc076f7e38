// Unpacked layers, one directory per chain id, shared by every image that
// uses them. A layer tar is validated entry by entry before GNU tar unpacks
// it into a temporary directory that is renamed into place when complete.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, createReadStream } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join, posix } from 'node:path';
import tarStream from 'tar-stream';
import { InvalidParameterError, SystemError } from '../lib/errors.js';
import { writeJsonAtomic, readJson } from '../lib/atomic.js';

const execFileP = promisify(execFile);

export interface LayerRecord { chainId: string; diffId: string; parent?: string; size: number }

export class UnsafeArchiveError extends InvalidParameterError {}

export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}`);
  }
  return out;
}

function cleanName(name: string): string {
  return posix.normalize(name).replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/** Reject names that would land outside the layer root. */
function checkPath(raw: string, what: string): string {
  if (raw.startsWith('/')) throw new UnsafeArchiveError(`invalid tar entry ${what}"${raw}": absolute paths are not allowed`);
  if (raw.split('/').includes('..')) throw new UnsafeArchiveError(`invalid tar entry ${what}"${raw}": path escapes the layer root`);
  return cleanName(raw);
}

/**
 * Read the whole archive and check every entry: no absolute names, no `..`,
 * no entry reached through a symlink the same archive created, hardlinks only
 * to files inside the layer. Returns the bytes of regular file content.
 */
export async function validateLayerTar(blobPath: string): Promise<number> {
  const extract = tarStream.extract();
  const symlinks = new Set<string>();
  let size = 0;
  const throughSymlink = (p: string): string | undefined => {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (symlinks.has(prefix)) return prefix;
    }
    return undefined;
  };
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      try {
        const name = checkPath(header.name, '');
        const via = name && throughSymlink(name);
        if (via) throw new UnsafeArchiveError(`invalid tar entry "${header.name}": it is reached through the symlink "${via}"`);
        if (header.type === 'symlink') symlinks.add(name);
        else symlinks.delete(name);
        if (header.type === 'link') {
          const target = checkPath(header.linkname ?? '', 'hardlink target ');
          const tvia = throughSymlink(target);
          if (tvia || !target) throw new UnsafeArchiveError(`invalid tar entry "${header.name}": hardlink target "${header.linkname}" is outside the layer`);
        }
        if (header.type === 'file' || header.type === 'contiguous-file') size += header.size ?? 0;
      } catch (err) {
        stream.resume();
        reject(err);
        extract.destroy();
        return;
      }
      stream.on('end', next);
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', (err) => reject(new InvalidParameterError(`invalid tar archive: ${err.message}`)));
  });
  const input = createReadStream(blobPath);
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  await done;
  return size;
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

  /** Validate and unpack `blobPath` (an uncompressed layer tar) as the layer on top of `parent`. */
  async unpackLayer(blobPath: string, diffId: string, parentChainId?: string): Promise<LayerRecord> {
    const chainId = parentChainId ? chainIds([parentChainId, diffId])[1]! : diffId;
    if (await this.has(chainId)) return this.get(chainId);
    const size = await validateLayerTar(blobPath);
    await fs.mkdir(this.root, { recursive: true });
    const tmp = join(this.root, `.tmp-${randomBytes(8).toString('hex')}`);
    await fs.mkdir(join(tmp, 'diff'), { recursive: true });
    try {
      await execFileP('tar', ['-x', '-p', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--same-permissions',
        '-f', blobPath, '-C', join(tmp, 'diff')], { maxBuffer: 16 * 1024 * 1024 });
      const rec: LayerRecord = { chainId, diffId, size, ...(parentChainId ? { parent: parentChainId } : {}) };
      await writeJsonAtomic(join(tmp, 'layer.json'), rec);
      const dest = join(this.root, chainId.replace(/^sha256:/, ''));
      try {
        await fs.rename(tmp, dest);
      } catch (err) {
        // Someone unpacked the same layer meanwhile: theirs is as good as ours.
        if (await this.has(chainId)) {
          await fs.rm(tmp, { recursive: true, force: true });
          return this.get(chainId);
        }
        throw err;
      }
      return rec;
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      if (err instanceof InvalidParameterError) throw err;
      throw new SystemError(`failed to unpack layer: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
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
    for (const e of entries) if (e.startsWith('.tmp-')) await fs.rm(join(this.root, e), { recursive: true, force: true });
  }
}
