// Signal names as Docker takes them (`SIGTERM`, `term`, `15`, `RTMIN+3`),
// for kill, stop and a container's stop signal.
import { InvalidParameterError } from '../lib/errors.js';

const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20,
  TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, PWR: 30, SYS: 31,
};

/** Normalise `SIGTERM`, `term`, `15` to runc's accepted form (a number as text). */
export function parseSignal(sig: string): number {
  const s = sig.trim().toUpperCase().replace(/^SIG/, '');
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= 64) return n;
  } else if (SIGNALS[s] !== undefined) {
    return SIGNALS[s]!;
  } else {
    const rt = /^RTMIN(?:\+(\d+))?$/.exec(s);
    if (rt) return 34 + Number(rt[1] ?? 0);
  }
  throw new InvalidParameterError(`Invalid signal: ${sig}`);
}
