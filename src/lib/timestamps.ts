// Docker's --since/--until values (timetypes.GetTimestamp): RFC3339 times,
// dates, unix seconds with a fraction, or Go durations meaning "that long ago".
import { parseGoDuration } from './units.js';

export function parseTimestamp(value: string, now = Date.now()): bigint {
  const v = value.trim();
  if (/^\d+(\.\d{1,9})?$/.test(v)) {
    const [sec, frac = ''] = v.split('.');
    return BigInt(sec!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0') || '0');
  }
  if (/^[0-9.]+(ns|us|µs|ms|s|m|h)/.test(v) || /^-?\d/.test(v) && /[hms]$/.test(v)) {
    try {
      const ms = parseGoDuration(v);
      return BigInt(Math.round((now - Math.abs(ms)) * 1e6));
    } catch { /* fall through to date forms */ }
  }
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(v);
  if (m) {
    const time = m[2] ? (m[2].length === 5 ? m[2] + ':00' : m[2]) : '00:00:00';
    // Docker reads a value without a zone as local time.
    const zone = m[4] ?? '';
    const base = Date.parse(`${m[1]}T${time}${zone || ''}`);
    if (!Number.isNaN(base)) {
      const frac = (m[3] ?? '.').slice(1).padEnd(9, '0').slice(0, 9);
      return BigInt(base) * 1_000_000n + BigInt(frac);
    }
  }
  throw new Error(`failed to parse value as time or duration: "${value}"`);
}
