// `import -c` / `commit -c`: Dockerfile instructions applied to an image config.
import { InvalidParameterError } from '../lib/errors.js';
import { parseGoDuration } from '../lib/units.js';

export interface ImageConfigBody {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
}

/**
 * `HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D] [--retries=N] CMD …`
 * or `HEALTHCHECK NONE`, as the Dockerfile instruction reads (durations in ns).
 */
export function parseHealthcheck(rest: string): NonNullable<ImageConfigBody['Healthcheck']> {
  let text = rest.trim();
  const h: NonNullable<ImageConfigBody['Healthcheck']> = { Test: [] };
  const flags: Record<string, keyof typeof h> = {
    interval: 'Interval', timeout: 'Timeout', 'start-period': 'StartPeriod', 'start-interval': 'StartInterval', retries: 'Retries',
  };
  for (;;) {
    const m = /^--([a-z-]+)=(\S+)\s*/.exec(text);
    if (!m) break;
    const key = flags[m[1]!];
    if (!key) throw new InvalidParameterError(`Unknown flag: ${m[1]}`);
    if (key === 'Retries') {
      if (!/^\d+$/.test(m[2]!)) throw new InvalidParameterError(`invalid retries: ${m[2]}`);
      h.Retries = Number(m[2]);
    } else {
      let ms: number;
      try {
        ms = parseGoDuration(m[2]!);
      } catch {
        throw new InvalidParameterError(`time: invalid duration "${m[2]}"`);
      }
      (h as Record<string, unknown>)[key] = Math.round(ms * 1e6);
    }
    text = text.slice(m[0].length);
  }
  const kind = /^(\S+)\s*([\s\S]*)$/.exec(text);
  const word = kind?.[1]?.toUpperCase();
  if (word === 'NONE') {
    if (kind![2]) throw new InvalidParameterError('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (word !== 'CMD' || !kind![2]) throw new InvalidParameterError('Unknown type "' + (kind?.[1] ?? '') + '" in HEALTHCHECK (try CMD)');
  const args = jsonArray(kind![2]);
  h.Test = args ? ['CMD', ...args] : ['CMD-SHELL', kind![2]];
  return h;
}

function jsonArray(rest: string): string[] | undefined {
  if (!rest.trim().startsWith('[')) return undefined;
  try {
    const v = JSON.parse(rest) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch { /* shell form */ }
  return undefined;
}

/** `A=b C="d e"` or the legacy `A b c` form. */
function keyValues(rest: string, instr: string): [string, string][] {
  const out: [string, string][] = [];
  const text = rest.trim();
  if (!text.includes('=') || /^[^=\s]+\s/.test(text) && !/^[^=\s]+=/.test(text)) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(text);
    if (!m) throw new InvalidParameterError(`${instr} requires at least one argument`);
    return [[m[1]!, m[2]!]];
  }
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    let v = m[2]!;
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (v.startsWith("'")) v = v.slice(1, -1);
    out.push([m[1]!, v]);
  }
  return out;
}

/** Apply `changes` on top of `base` (left untouched). */
export function parseChanges(changes: string[], base: ImageConfigBody = {}): ImageConfigBody {
  const c: ImageConfigBody = structuredClone(base);
  for (const raw of changes) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line)!;
    const instr = m[1]!.toUpperCase();
    const rest = m[2]!;
    switch (instr) {
      case 'CMD':
      case 'ENTRYPOINT': {
        const v = jsonArray(rest) ?? ['/bin/sh', '-c', rest];
        if (instr === 'CMD') c.Cmd = v;
        else c.Entrypoint = v;
        break;
      }
      case 'ENV':
        c.Env = c.Env ?? [];
        for (const [k, v] of keyValues(rest, instr)) {
          c.Env = c.Env.filter((e) => e.split('=')[0] !== k);
          c.Env.push(`${k}=${v}`);
        }
        break;
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(keyValues(rest, instr)) };
        break;
      case 'WORKDIR':
        c.WorkingDir = rest.trim();
        break;
      case 'USER':
        c.User = rest.trim();
        break;
      case 'STOPSIGNAL':
        c.StopSignal = rest.trim();
        break;
      case 'HEALTHCHECK':
        c.Healthcheck = parseHealthcheck(rest);
        break;
      case 'EXPOSE':
        c.ExposedPorts = c.ExposedPorts ?? {};
        for (const p of rest.trim().split(/\s+/)) c.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        break;
      case 'VOLUME': {
        c.Volumes = c.Volumes ?? {};
        for (const v of jsonArray(rest) ?? rest.trim().split(/\s+/)) c.Volumes[v] = {};
        break;
      }
      default:
        throw new InvalidParameterError(`${instr} is not a valid change command`);
    }
  }
  return c;
}
