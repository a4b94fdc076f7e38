// Health checks as Docker runs them: a probe exec'd in the container every
// interval (every start-interval during the start period), `starting` until
// the first success, `unhealthy` after `retries` failures in a row (failures
// in the start period do not count), the last five results kept.
import { InvalidParameterError } from '../lib/errors.js';

export interface HealthConfig {
  /** ["NONE"], ["CMD", args…] or ["CMD-SHELL", command] */
  Test?: string[] | null;
  /** nanoseconds; 0 = default */
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface HealthLogEntry { Start: string; End: string; ExitCode: number; Output: string }
export interface HealthState { Status: 'starting' | 'healthy' | 'unhealthy'; FailingStreak: number; Log: HealthLogEntry[] }

const MS = 1_000_000;
export const DEFAULTS = { interval: 30_000, timeout: 30_000, startPeriod: 0, startInterval: 5_000, retries: 3 };
const MAX_LOG = 5;
/** Docker keeps at most 4 KiB of a probe's output. */
export const MAX_OUTPUT = 4096;

/** Container health config over the image's, field by field, as Docker merges them. */
export function mergeHealthcheck(image: HealthConfig | null | undefined, user: HealthConfig | null | undefined): HealthConfig | undefined {
  if (!image && !user) return undefined;
  const out: HealthConfig = { ...(image ?? {}) };
  if (user) {
    if (user.Test && user.Test.length) out.Test = user.Test;
    for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
      if (user[k]) out[k] = user[k];
    }
  }
  return out;
}

/** Docker's checks on a create request's Healthcheck. */
export function validateHealthcheck(h: HealthConfig | null | undefined): void {
  if (!h) return;
  if (typeof h !== 'object' || Array.isArray(h) || (h.Test != null && !(Array.isArray(h.Test) && h.Test.every((x) => typeof x === 'string')))) {
    throw new InvalidParameterError('json: cannot unmarshal into Go struct field Config.Healthcheck of type container.HealthConfig');
  }
  const min = (v: number | undefined, name: string): void => {
    if (v !== undefined && v !== 0 && v < MS) throw new InvalidParameterError(`${name} in Healthcheck cannot be less than 1ms`);
  };
  min(h.Interval, 'Interval');
  min(h.Timeout, 'Timeout');
  min(h.StartPeriod, 'StartPeriod');
  min(h.StartInterval, 'StartInterval');
  if (h.Retries !== undefined && h.Retries < 0) throw new InvalidParameterError('Retries in Healthcheck cannot be negative');
  const t = h.Test;
  if (t && t.length && !['NONE', 'CMD', 'CMD-SHELL'].includes(t[0]!)) {
    throw new InvalidParameterError(`unknown Healthcheck type '${t[0]}'`);
  }
}

/** The probe's argv, or undefined when there is no check. */
export function probeCommand(h: HealthConfig | undefined, shell: string[] = ['/bin/sh', '-c']): string[] | undefined {
  const t = h?.Test;
  if (!t || t.length === 0 || t[0] === 'NONE') return undefined;
  if (t[0] === 'CMD-SHELL') return [...shell, t.slice(1).join(' ')];
  if (t[0] === 'CMD') return t.length > 1 ? t.slice(1) : undefined;
  return undefined;
}

export interface Timing { interval: number; timeout: number; startPeriod: number; startInterval: number; retries: number }

export function timing(h: HealthConfig): Timing {
  const ms = (v: number | undefined, d: number): number => (v && v > 0 ? Math.round(v / MS) : d);
  return {
    interval: ms(h.Interval, DEFAULTS.interval),
    timeout: ms(h.Timeout, DEFAULTS.timeout),
    startPeriod: ms(h.StartPeriod, DEFAULTS.startPeriod),
    startInterval: ms(h.StartInterval, DEFAULTS.startInterval),
    retries: h.Retries && h.Retries > 0 ? h.Retries : DEFAULTS.retries,
  };
}

/**
 * The state after one probe. `inStartPeriod`: the container started less
 * than start-period ago, so a failure does not count (a success still does).
 */
export function applyResult(prev: HealthState, entry: HealthLogEntry, t: Timing, inStartPeriod: boolean): HealthState {
  const Log = [...prev.Log, entry].slice(-MAX_LOG);
  if (entry.ExitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log };
  if (inStartPeriod) return { ...prev, Log };
  const FailingStreak = prev.FailingStreak + 1;
  return { Status: FailingStreak >= t.retries ? 'unhealthy' : prev.Status, FailingStreak, Log };
}

export function initialHealth(): HealthState {
  return { Status: 'starting', FailingStreak: 0, Log: [] };
}

export type Probe = (argv: string[], timeoutMs: number) => Promise<{ exitCode: number; output: string }>;

/** Runs the probes of one container until stopped. */
export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly argv: string[],
    private readonly t: Timing,
    private readonly startedAt: number,
    private readonly probe: Probe,
    private readonly report: (entry: HealthLogEntry, inStartPeriod: boolean) => Promise<void>,
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private inStartPeriod(now = Date.now()): boolean {
    return now - this.startedAt < this.t.startPeriod;
  }

  private schedule(): void {
    if (this.stopped) return;
    // During the start period Docker probes every start-interval, then every interval.
    const delay = this.inStartPeriod() ? Math.min(this.t.startInterval, this.t.interval) : this.t.interval;
    this.timer = setTimeout(() => void this.run(), delay);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    const start = new Date();
    const inStart = this.inStartPeriod(start.getTime());
    let result: { exitCode: number; output: string };
    try {
      result = await this.probe(this.argv, this.t.timeout);
    } catch (err) {
      result = { exitCode: -1, output: (err as Error).message };
    }
    if (this.stopped) return;
    await this.report({ Start: start.toISOString(), End: new Date().toISOString(), ExitCode: result.exitCode, Output: result.output.slice(0, MAX_OUTPUT) }, inStart)
      .catch(() => undefined);
    this.schedule();
  }
}
