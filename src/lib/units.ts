// Ports of the go-units helpers Docker uses for its human-readable output.

/** go-units HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3600000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function scaled(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i]!];
}

/** Go's %.*g: `precision` significant digits, no trailing zeros. */
function formatG(n: number, precision: number): string {
  return String(Number(n.toPrecision(precision)));
}

/** go-units HumanSizeWithPrecision(size, 3): decimal units, e.g. `4.26MB`. */
export function humanSize(bytes: number, precision = 3): string {
  const [v, u] = scaled(bytes, 1000, DECIMAL);
  return `${formatG(v, precision)}${u}`;
}

/** go-units BytesSize: binary units, e.g. `1.5MiB`. */
export function bytesSize(bytes: number): string {
  const [v, u] = scaled(bytes, 1024, BINARY);
  return `${formatG(v, 4)}${u}`;
}

/** go-units RAMInBytes: `256m` → 268435456 (binary multiples). */
export function ramInBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(s.trim());
  if (!m) throw new Error(`invalid size: '${s}'`);
  const mult: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
  return Math.floor(Number(m[1]) * mult[m[2]!.toLowerCase()]!);
}

/** go-units FromHumanSize: `10m` → 10000000 (decimal multiples), as log max-size reads it. */
export function fromHumanSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(s.trim());
  if (!m) throw new Error(`invalid size: '${s}'`);
  const mult: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
  return Math.floor(Number(m[1]) * mult[m[2]!.toLowerCase()]!);
}

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Go's time.ParseDuration, in milliseconds. */
export function parseGoDuration(s: string): number {
  const orig = s;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration "${orig}"`);
  let total = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length) {
    const m = re.exec(s);
    if (!m) throw new Error(`time: invalid duration "${orig}"`);
    total += Number(m[1]) * GO_UNITS[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

export interface StatusInput {
  status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  startedAt?: Date | string;
  finishedAt?: Date | string;
  exitCode?: number;
  health?: 'starting' | 'healthy' | 'unhealthy';
}

function msSince(t: Date | string | undefined, now: number): number | undefined {
  if (t === undefined) return undefined;
  const v = typeof t === 'string' ? Date.parse(t) : t.getTime();
  if (Number.isNaN(v) || v <= 0) return undefined;
  return Math.max(0, now - v);
}

/** Docker's ps STATUS column. */
export function containerStatusString(s: StatusInput, now = Date.now()): string {
  switch (s.status) {
    case 'created':
      return 'Created';
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'restarting': {
      const ago = msSince(s.finishedAt, now);
      return `Restarting (${s.exitCode ?? 0}) ${ago === undefined ? '' : humanDuration(ago) + ' ago'}`.trimEnd();
    }
    case 'exited': {
      const ago = msSince(s.finishedAt, now);
      return `Exited (${s.exitCode ?? 0}) ${ago === undefined ? '' : humanDuration(ago) + ' ago'}`;
    }
    case 'running':
    case 'paused': {
      const up = msSince(s.startedAt, now) ?? 0;
      let out = `Up ${humanDuration(up)}`;
      if (s.status === 'paused') out += ' (Paused)';
      else if (s.health === 'starting') out += ' (health: starting)';
      else if (s.health) out += ` (${s.health})`;
      return out;
    }
  }
}
