// Log driver configuration: which drivers Berth accepts, the options each
// takes, how the daemon's defaults merge into a container's, and the
// rotation limits that follow from them. Every driver stores the same
// conmon k8s-file log; the driver name only selects the options allowed.
import { InvalidParameterError } from '../lib/errors.js';
import { fromHumanSize } from '../lib/units.js';

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

export interface RotationLimits {
  /** bytes a file may reach before it is rotated */
  maxSize: number;
  /** files kept, the one being written included */
  maxFile: number;
}

const DRIVER_OPTS: Record<string, readonly string[]> = {
  'json-file': ['max-size', 'max-file', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'],
  local: ['max-size', 'max-file', 'compress'],
  'k8s-file': ['max-size', 'max-file', 'labels', 'env', 'tag'],
  none: [],
};

/**
 * Docker's json-file keeps logs forever unless told otherwise, which fills
 * disks. Berth rotates by default, with the limits of Docker's `local` driver;
 * `max-size=-1` asks for Docker's unlimited behaviour.
 */
export const DEFAULT_LOG_CONFIG: LogConfig = { Type: 'json-file', Config: { 'max-size': '20m', 'max-file': '5' } };

export function isKnownLogDriver(type: string): boolean {
  return type in DRIVER_OPTS;
}

/**
 * The container's log configuration after Docker's merge: an empty driver
 * means the daemon's, and the daemon's options fill in the keys the
 * container did not set when both use the same driver.
 */
export function resolveLogConfig(requested: Partial<LogConfig> | undefined, daemon: LogConfig = DEFAULT_LOG_CONFIG): LogConfig {
  const type = requested?.Type || daemon.Type;
  const config: Record<string, string> = { ...(requested?.Config ?? {}) };
  if (type === daemon.Type) {
    for (const [k, v] of Object.entries(daemon.Config)) if (!(k in config)) config[k] = v;
  }
  validateLogConfig({ Type: type, Config: config });
  // Sorted, as Go marshals a map, so `inspect` prints what docker's does.
  return { Type: type, Config: Object.fromEntries(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : 1))) };
}

/** Throws Docker's messages for an unknown driver, an unknown option or a bad value. */
export function validateLogConfig(lc: LogConfig): void {
  const allowed = DRIVER_OPTS[lc.Type];
  if (!allowed) throw new InvalidParameterError(`failed to create logger: logger: no log driver named '${lc.Type}' is registered`);
  for (const key of Object.keys(lc.Config)) {
    if (!allowed.includes(key)) throw new InvalidParameterError(`unknown log opt '${key}' for ${lc.Type} log driver`);
  }
  rotationLimits(lc);
}

/** The rotation a configuration asks for, or undefined for unlimited logs. */
export function rotationLimits(lc: LogConfig): RotationLimits | undefined {
  // `none` still keeps a small file, which attach streams from.
  if (lc.Type === 'none') return { maxSize: 1_000_000, maxFile: 1 };
  const sizeText = lc.Config['max-size'];
  const fileText = lc.Config['max-file'];
  let maxFile = 1;
  if (fileText !== undefined) {
    if (!/^[+-]?\d+$/.test(fileText.trim())) {
      throw new InvalidParameterError(`strconv.Atoi: parsing "${fileText}": invalid syntax`);
    }
    maxFile = Number.parseInt(fileText, 10);
    if (maxFile < 1) throw new InvalidParameterError('max-file cannot be less than 1');
  }
  const compress = lc.Config.compress;
  if (compress !== undefined && !['true', 'false', '1', '0', 't', 'f', 'TRUE', 'FALSE', 'True', 'False', 'T', 'F'].includes(compress)) {
    throw new InvalidParameterError(`strconv.ParseBool: parsing "${compress}": invalid syntax`);
  }
  // Docker's `local` driver rotates at 20 MB × 5 files unless told otherwise.
  if (sizeText === undefined && lc.Type === 'local') return { maxSize: 20_000_000, maxFile: fileText === undefined ? 5 : maxFile };
  if (sizeText === undefined || sizeText.trim() === '-1') return undefined;
  let maxSize: number;
  try {
    maxSize = fromHumanSize(sizeText);
  } catch (err) {
    throw new InvalidParameterError((err as Error).message);
  }
  if (maxSize <= 0) throw new InvalidParameterError('max-size must be a positive number');
  return { maxSize, maxFile };
}
