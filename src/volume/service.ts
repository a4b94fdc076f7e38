// Named and anonymous volumes of the local driver: a directory each under
// data-root/volumes/NAME/_data, a volume.json next to it. Driver options
// (`-o type=tmpfs`, `-o type=none -o o=bind -o device=/path`) mount the
// volume while at least one running container uses it, as Docker's local
// driver does.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import type { EventBus } from '../lib/event-bus.js';
import { ConflictError, InvalidParameterError, NotFoundError, SystemError } from '../lib/errors.js';
import { writeJsonAtomic, readJson } from '../lib/atomic.js';
import { KeyedMutex } from '../lib/mutex.js';
import { isMountPoint, unmount } from '../container/rootfs.js';
import { validateVolumeName } from './mount-spec.js';

const execFileP = promisify(execFile);

export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Scope: 'local';
}

export interface CreateVolumeRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** Who uses which volume: container ids, and whether each is running. */
export type VolumeUsers = (name: string) => { id: string; running: boolean }[];

export function noSuchVolume(name: string): NotFoundError {
  return new NotFoundError(`get ${name}: no such volume`);
}

export class VolumeService {
  private readonly records = new Map<string, VolumeRecord>();
  private readonly lock = new KeyedMutex();
  private users: VolumeUsers = () => [];

  constructor(private readonly root: string, private readonly events: EventBus) {}

  bindUsers(users: VolumeUsers): void {
    this.users = users;
  }

  async load(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o701 });
    for (const name of await fs.readdir(this.root)) {
      try {
        this.records.set(name, await readJson<VolumeRecord>(join(this.root, name, 'volume.json')));
      } catch {
        // A create interrupted before its record: nothing was acknowledged.
        await fs.rm(join(this.root, name), { recursive: true, force: true });
      }
    }
  }

  /** Option volumes left mounted by a crash with nobody running on them. */
  async reconcile(): Promise<void> {
    for (const v of this.records.values()) {
      if (this.needsMount(v) && !this.users(v.Name).some((u) => u.running)) await unmount(v.Mountpoint);
    }
  }

  list(): VolumeRecord[] {
    return [...this.records.values()].sort((a, b) => a.Name.localeCompare(b.Name));
  }

  get(name: string): VolumeRecord {
    const v = this.records.get(name);
    if (!v) throw noSuchVolume(name);
    return v;
  }

  tryGet(name: string): VolumeRecord | undefined {
    return this.records.get(name);
  }

  /** Docker's create is idempotent: an existing volume of the same driver is returned as it is. */
  async create(req: CreateVolumeRequest, anonymous = false): Promise<VolumeRecord> {
    const name = req.Name || randomBytes(32).toString('hex');
    validateVolumeName(name);
    const driver = req.Driver || 'local';
    if (driver !== 'local') throw new NotFoundError(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    const opts = { ...(req.DriverOpts ?? {}) };
    validateOptions(opts);
    return this.lock.run(name, async () => {
      const existing = this.records.get(name);
      if (existing) return existing;
      const dir = join(this.root, name);
      const rec: VolumeRecord = {
        Name: name, Driver: 'local', Mountpoint: join(dir, '_data'), CreatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        Labels: { ...(req.Labels ?? {}), ...(anonymous ? { [ANONYMOUS_LABEL]: '' } : {}) }, Options: opts, Scope: 'local',
      };
      await fs.mkdir(rec.Mountpoint, { recursive: true, mode: 0o755 });
      await writeJsonAtomic(join(dir, 'volume.json'), rec);
      this.records.set(name, rec);
      this.events.publish('volume', 'create', name, { driver: 'local' });
      return rec;
    });
  }

  async remove(name: string, force = false): Promise<void> {
    const v = this.records.get(name);
    if (!v) {
      if (force) return;
      throw noSuchVolume(name);
    }
    await this.lock.run(name, async () => {
      const users = this.users(name);
      if (users.length) throw new ConflictError(`remove ${name}: volume is in use - [${users.map((u) => u.id).join(', ')}]`);
      await unmount(v.Mountpoint);
      await fs.rm(join(this.root, name), { recursive: true, force: true });
      this.records.delete(name);
      this.events.publish('volume', 'destroy', name, { driver: 'local' });
    });
  }

  async prune(keep: (v: VolumeRecord) => boolean): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let space = 0;
    for (const v of this.list()) {
      if (keep(v) || this.users(v.Name).length) continue;
      const size = await this.size(v);
      try {
        await this.remove(v.Name);
        deleted.push(v.Name);
        space += size;
      } catch { /* taken meanwhile */ }
    }
    this.events.publish('volume', 'prune', '', { reclaimed: String(space) });
    return { VolumesDeleted: deleted, SpaceReclaimed: space };
  }

  async size(v: VolumeRecord): Promise<number> {
    try {
      const { stdout } = await execFileP('du', ['-s', '-B1', '--apparent-size', v.Mountpoint]);
      return Number(stdout.split('\t')[0]) || 0;
    } catch {
      return 0;
    }
  }

  private needsMount(v: VolumeRecord): boolean {
    return !!v.Options.type && !(v.Options.type === 'none' && v.Options.o?.split(',').includes('bind'));
  }

  /**
   * The host path to mount into a container. Option volumes are mounted
   * first; a bind-type volume is its device.
   */
  async acquire(name: string): Promise<string> {
    const v = this.get(name);
    const o = v.Options;
    if (o.type === 'none' && o.o?.split(',').includes('bind')) {
      if (!o.device) throw new InvalidParameterError(`volume ${name}: a bind volume needs a device`);
      return o.device;
    }
    if (this.needsMount(v)) {
      await this.lock.run(name, async () => {
        if (isMountPoint(v.Mountpoint)) return;
        const args = ['-t', o.type!, ...(o.o ? ['-o', o.o] : []), o.device || o.type!, v.Mountpoint];
        await execFileP('mount', args).catch((err: { stderr?: string }) => {
          throw new SystemError(`error while mounting volume '${v.Mountpoint}': ${err.stderr?.trim() ?? String(err)}`);
        });
      });
    }
    return v.Mountpoint;
  }

  /** After a container stopped: unmount option volumes nobody running uses. */
  async release(name: string): Promise<void> {
    const v = this.records.get(name);
    if (!v || !this.needsMount(v)) return;
    await this.lock.run(name, async () => {
      if (!this.users(name).some((u) => u.running)) await unmount(v.Mountpoint);
    });
  }

  isAnonymous(name: string): boolean {
    return this.records.get(name)?.Labels[ANONYMOUS_LABEL] !== undefined;
  }
}

/** The local driver's options: `type`, `device`, `o`. */
function validateOptions(opts: Record<string, string>): void {
  for (const k of Object.keys(opts)) {
    if (!['type', 'device', 'o', 'size'].includes(k)) throw new InvalidParameterError(`invalid option key: "${k}"`);
  }
  if (opts.size) {
    // Docker's local driver takes size only for tmpfs, as a mount option.
    if (opts.type !== 'tmpfs') throw new InvalidParameterError('quota size requested but no quota support');
    opts.o = [opts.o, `size=${opts.size}`].filter(Boolean).join(',');
    delete opts.size;
  }
  if (opts.type && !opts.device && opts.type !== 'tmpfs') throw new InvalidParameterError('missing required option: "device"');
  if (opts.device && !opts.type) throw new InvalidParameterError('missing required option: "type"');
}
