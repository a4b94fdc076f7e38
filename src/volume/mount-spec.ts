// Every way a user asks for a mount — `-v` strings (HostConfig.Binds), `-v
// /path` and image VOLUMEs (Config.Volumes), `--mount` objects
// (HostConfig.Mounts), `--tmpfs` (HostConfig.Tmpfs) — normalised into one
// MountPoint list, with Docker's validation messages. Pure.
import { posix } from 'node:path';
import { InvalidParameterError } from '../lib/errors.js';

export type MountType = 'bind' | 'volume' | 'tmpfs';

/** Docker's inspect `Mounts` entry, plus what berthd needs to set it up. */
export interface MountPoint {
  Type: MountType;
  /** volume name (filled in for anonymous volumes at create) */
  Name?: string;
  /** host path: the bind source, or the volume's data directory */
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** do not fill an empty volume with the image's content */
  NoCopy?: boolean;
  /** a volume made for this container only (`-v /path`, VOLUME): removed with `rm -v` */
  Anonymous?: boolean;
  /** `-v /missing:/x` creates the host directory, as Docker always has */
  CreateSource?: boolean;
  /** tmpfs mount options */
  TmpfsOptions?: string[];
  /** bind: do not bind submounts */
  NonRecursive?: boolean;
}

/** What the API's HostConfig.Mounts carries for one mount. */
export interface ApiMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const PROPAGATIONS = ['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate'];
const MODES = ['ro', 'rw', 'z', 'Z', 'nocopy', 'consistent', 'cached', 'delegated', ...PROPAGATIONS];

function mountError(type: string, why: string): InvalidParameterError {
  return new InvalidParameterError(`invalid mount config for type "${type}": ${why}`);
}

export function validateVolumeName(name: string): void {
  if (!VOLUME_NAME.test(name)) {
    throw new InvalidParameterError(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
}

function checkTarget(type: string, target: string): string {
  if (!target) throw mountError(type, 'field Target must not be empty');
  if (!target.startsWith('/')) throw mountError(type, `invalid mount path: '${target}' mount path must be absolute`);
  const clean = posix.normalize(target).replace(/(.)\/$/, '$1');
  if (clean === '/') throw mountError(type, 'invalid specification: destination can\'t be \'/\'');
  return clean;
}

/** One HostConfig.Binds entry: `source:destination[:mode]`. */
export function parseBind(spec: string): MountPoint {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((p, i) => p === '' && i < 2)) {
    throw new InvalidParameterError(`invalid volume specification: '${spec}'`);
  }
  const [src, dst, modeText = ''] = parts as [string, string, string?];
  const modes = modeText ? modeText.split(',') : [];
  for (const m of modes) if (!MODES.includes(m)) throw new InvalidParameterError(`invalid mode: ${modeText}`);
  if (modes.includes('ro') && modes.includes('rw')) throw new InvalidParameterError(`invalid mode: ${modeText}`);
  const propagation = modes.find((m) => PROPAGATIONS.includes(m));
  const isBind = src.startsWith('/');
  const type = isBind ? 'bind' : 'volume';
  let destination: string;
  try {
    destination = checkTarget(type, dst);
  } catch (err) {
    // dockerd names the whole -v spec before the reason.
    throw new InvalidParameterError(`invalid volume specification: '${spec}': ${(err as Error).message}`);
  }
  if (isBind) {
    if (modes.includes('nocopy')) throw new InvalidParameterError(`invalid mode: ${modeText}`);
    return {
      Type: 'bind', Source: posix.normalize(src), Destination: destination, Mode: modeText, RW: !modes.includes('ro'),
      Propagation: propagation ?? 'rprivate', CreateSource: true,
    };
  }
  validateVolumeName(src);
  if (propagation) throw new InvalidParameterError(`invalid mode: ${modeText}`);
  return {
    Type: 'volume', Name: src, Source: '', Destination: destination, Driver: 'local', Mode: modeText || 'z',
    RW: !modes.includes('ro'), Propagation: '', NoCopy: modes.includes('nocopy'),
  };
}

/** One HostConfig.Mounts entry (`--mount`). */
export function parseApiMount(m: ApiMount): MountPoint {
  const type = m.Type ?? '';
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') {
    throw new InvalidParameterError(`invalid mount config for type ${JSON.stringify(type)}: mount type unknown`);
  }
  const destination = checkTarget(type, m.Target ?? '');
  if (type === 'bind') {
    if (!m.Source) throw mountError(type, 'field Source must not be empty');
    if (!m.Source.startsWith('/')) throw mountError(type, `invalid mount path: '${m.Source}' mount path must be absolute`);
    if (m.VolumeOptions || m.TmpfsOptions) throw mountError(type, 'field VolumeOptions must not be specified');
    const prop = m.BindOptions?.Propagation || 'rprivate';
    if (!PROPAGATIONS.includes(prop)) throw mountError(type, `invalid propagation mode: ${prop}`);
    return {
      Type: 'bind', Source: posix.normalize(m.Source), Destination: destination, Mode: '', RW: !m.ReadOnly,
      Propagation: prop, NonRecursive: m.BindOptions?.NonRecursive ?? false,
    };
  }
  if (type === 'volume') {
    if (m.BindOptions || m.TmpfsOptions) throw mountError(type, 'field BindOptions must not be specified');
    if (m.Source) validateVolumeName(m.Source);
    return {
      Type: 'volume', Name: m.Source || undefined, Source: '', Destination: destination, Driver: m.VolumeOptions?.DriverConfig?.Name || 'local',
      Mode: '', RW: !m.ReadOnly, Propagation: '', NoCopy: m.VolumeOptions?.NoCopy ?? false, Anonymous: !m.Source,
    };
  }
  if (m.Source) throw mountError(type, 'field Source must not be specified');
  if (m.BindOptions || m.VolumeOptions) throw mountError(type, 'field BindOptions must not be specified');
  const opts = ['nosuid', 'nodev', 'noexec'];
  const size = m.TmpfsOptions?.SizeBytes;
  if (size !== undefined) {
    if (!Number.isInteger(size) || size < 0) throw mountError(type, `invalid tmpfs size: ${size}`);
    if (size > 0) opts.push(`size=${Math.floor(size / 1024)}k`);
  }
  if (m.TmpfsOptions?.Mode !== undefined) opts.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
  if (m.ReadOnly) opts.push('ro');
  return { Type: 'tmpfs', Source: '', Destination: destination, Mode: '', RW: !m.ReadOnly, Propagation: '', TmpfsOptions: opts };
}

const TMPFS_OPTIONS = /^(size=\d+[kmgKMG%]?|nr_blocks=\d+[kmgKMG]?|nr_inodes=\d+[kmgKMG]?|mode=[0-7]{3,4}|uid=\d+|gid=\d+|(no)?(exec|suid|dev|atime|diratime)|r[ow]|(strict|relatime)|sync|async|mpol=\S+)$/;

/** One HostConfig.Tmpfs entry (`--tmpfs /path:opts`): Docker's defaults then the user's options. */
export function parseTmpfs(path: string, options: string): MountPoint {
  const destination = checkTarget('tmpfs', path);
  const user = options ? options.split(',').filter(Boolean) : [];
  for (const o of user) if (!TMPFS_OPTIONS.test(o)) throw new InvalidParameterError(`invalid tmpfs option ["${o}"]`);
  const defaults = ['noexec', 'nosuid', 'nodev'].filter((d) => !user.some((u) => u === d.slice(2) || u === d));
  return {
    Type: 'tmpfs', Source: '', Destination: destination, Mode: options, RW: !user.includes('ro'), Propagation: '',
    TmpfsOptions: [...defaults, ...user],
  };
}

/** `-v /path` and image VOLUMEs: an anonymous volume each. */
export function anonymousVolume(path: string): MountPoint {
  return {
    Type: 'volume', Source: '', Destination: checkTarget('volume', path), Driver: 'local', Mode: '', RW: true,
    Propagation: '', Anonymous: true,
  };
}

export interface MountRequest {
  binds?: string[] | null;
  mounts?: ApiMount[] | null;
  tmpfs?: Record<string, string> | null;
  /** Config.Volumes of the request merged with the image's */
  volumes?: Record<string, unknown> | null;
  /** mount points of --volumes-from containers, already read-only-adjusted */
  inherited?: MountPoint[];
}

/**
 * All mounts of a container, one per destination. Explicit mounts win over
 * inherited ones and over anonymous VOLUMEs at the same path (Docker's order);
 * two explicit mounts at one path are an error.
 */
export function resolveMounts(r: MountRequest): MountPoint[] {
  const explicit: MountPoint[] = [
    ...(r.binds ?? []).map(parseBind),
    ...(r.mounts ?? []).map(parseApiMount),
    ...Object.entries(r.tmpfs ?? {}).map(([p, o]) => parseTmpfs(p, o)),
  ];
  const seen = new Set<string>();
  for (const m of explicit) {
    if (seen.has(m.Destination)) throw new InvalidParameterError(`Duplicate mount point: ${m.Destination}`);
    seen.add(m.Destination);
  }
  const out = [...explicit];
  for (const m of r.inherited ?? []) {
    if (seen.has(m.Destination)) continue;
    seen.add(m.Destination);
    out.push({ ...m });
  }
  for (const path of Object.keys(r.volumes ?? {})) {
    const a = anonymousVolume(path);
    if (seen.has(a.Destination)) continue;
    seen.add(a.Destination);
    out.push(a);
  }
  return out;
}

/** `--volumes-from c[:ro|rw]`: the other container's mounts, optionally read-only. */
export function inheritMounts(spec: string, from: MountPoint[]): MountPoint[] {
  const [, mode = ''] = spec.split(':');
  if (mode && mode !== 'ro' && mode !== 'rw') throw new InvalidParameterError(`invalid mode: ${mode}`);
  return from.filter((m) => m.Type !== 'tmpfs').map((m) => ({
    ...m, Anonymous: false, RW: mode === 'ro' ? false : mode === 'rw' ? true : m.RW,
    ...(mode ? { Mode: mode } : {}),
  }));
}

/**
 * `--mount` as the docker CLI parses it: comma-separated key=value pairs,
 * for the CLI side. Returns the API object.
 */
export function parseMountFlag(text: string): ApiMount {
  const m: ApiMount = { Type: 'volume' };
  for (const field of text.split(',')) {
    const i = field.indexOf('=');
    const key = (i < 0 ? field : field.slice(0, i)).trim().toLowerCase();
    const value = i < 0 ? undefined : field.slice(i + 1);
    const bool = (): boolean => {
      if (value === undefined || value === '' || value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      throw new InvalidParameterError(`invalid value for ${key}: ${value}`);
    };
    const need = (): string => {
      if (value === undefined) throw new InvalidParameterError(`invalid field '${field}' must be a key=value pair`);
      return value;
    };
    switch (key) {
      case 'type': m.Type = need(); break;
      case 'source': case 'src': m.Source = need(); break;
      case 'target': case 'dst': case 'destination': m.Target = need(); break;
      case 'readonly': case 'ro': m.ReadOnly = bool(); break;
      case 'consistency': m.Consistency = need(); break;
      case 'bind-propagation': m.BindOptions = { ...m.BindOptions, Propagation: need() }; break;
      case 'bind-nonrecursive': m.BindOptions = { ...m.BindOptions, NonRecursive: bool() }; break;
      case 'volume-nocopy': m.VolumeOptions = { ...m.VolumeOptions, NoCopy: bool() }; break;
      case 'volume-driver': m.VolumeOptions = { ...m.VolumeOptions, DriverConfig: { ...m.VolumeOptions?.DriverConfig, Name: need() } }; break;
      case 'volume-label': {
        const [k = '', v = ''] = need().split('=');
        m.VolumeOptions = { ...m.VolumeOptions, Labels: { ...m.VolumeOptions?.Labels, [k]: v } };
        break;
      }
      case 'volume-opt': {
        const kv = need();
        const j = kv.indexOf('=');
        if (j < 0) throw new InvalidParameterError(`invalid volume-opt '${kv}'`);
        const dc = m.VolumeOptions?.DriverConfig ?? {};
        m.VolumeOptions = { ...m.VolumeOptions, DriverConfig: { ...dc, Options: { ...dc.Options, [kv.slice(0, j)]: kv.slice(j + 1) } } };
        break;
      }
      case 'tmpfs-size': {
        const n = sizeBytes(need());
        m.TmpfsOptions = { ...m.TmpfsOptions, SizeBytes: n };
        break;
      }
      case 'tmpfs-mode': {
        const mode = Number.parseInt(need(), 8);
        if (Number.isNaN(mode)) throw new InvalidParameterError(`invalid value for tmpfs-mode: ${value}`);
        m.TmpfsOptions = { ...m.TmpfsOptions, Mode: mode };
        break;
      }
      default: throw new InvalidParameterError(`unexpected key '${key}' in '${field}'`);
    }
  }
  return m;
}

function sizeBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new InvalidParameterError(`invalid value for tmpfs-size: ${text}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}
