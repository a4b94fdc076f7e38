// Detach keys (`--detach-keys`, default ctrl-p,ctrl-q): parsing Docker's
// notation and spotting the sequence in a stdin stream without holding back
// bytes that turn out not to be part of it.
import { InvalidParameterError } from './errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** `ctrl-p,ctrl-q` → [0x10, 0x11]; `ctrl-@` … `ctrl-_` and single characters, as Docker's term.ToBytes. */
export function parseDetachKeys(spec: string): number[] {
  const out: number[] = [];
  for (const raw of spec.split(',')) {
    const key = raw.trim().toLowerCase();
    if (key.length === 1) {
      out.push(raw.trim().charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/.exec(key);
    if (!m) throw new InvalidParameterError(`Unknown character: '${raw.trim()}'`);
    const c = m[1]!;
    if (c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 0x60);
    else if (c === '@') out.push(0);
    else if (c === '[') out.push(27);
    else if (c === '\\') out.push(28);
    else if (c === ']') out.push(29);
    else if (c === '^') out.push(30);
    else if (c === '_') out.push(31);
    else throw new InvalidParameterError(`Unknown character: '${raw.trim()}'`);
  }
  if (out.length === 0) throw new InvalidParameterError('Unknown character: \'\'');
  return out;
}

/**
 * Feed stdin through `push`: it returns the bytes to pass on and whether the
 * whole sequence was typed (then the caller detaches). A partial match is
 * held until the next byte decides it.
 */
export class DetachKeyScanner {
  private held: number[] = [];

  constructor(private readonly keys: number[]) {}

  push(chunk: Buffer): { pass: Buffer; detach: boolean } {
    const pass: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held.length]) {
        this.held.push(b);
        if (this.held.length === this.keys.length) return { pass: Buffer.from(pass), detach: true };
        continue;
      }
      pass.push(...this.held);
      this.held = [];
      if (b === this.keys[0]) this.held.push(b);
      else pass.push(b);
    }
    return { pass: Buffer.from(pass), detach: false };
  }
}
