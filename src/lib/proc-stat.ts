// A process's start time from /proc/PID/stat: with its pid, what tells the
// process Berth started from a later one that reused the pid (runc checks the
// same before it signals a container's init).
import { readFileSync } from 'node:fs';

/** Field 22 (starttime, clock ticks since boot) of a /proc/PID/stat line. */
export function parseStartTime(stat: string): number | undefined {
  // The command name (field 2) is in parentheses and may hold spaces and ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field 22 is rest[19].
  const v = Number(rest[19]);
  return Number.isInteger(v) && v >= 0 ? v : undefined;
}

/** The start time of process `pid`, or undefined when there is no such process. */
export function processStartTime(pid: number): number | undefined {
  return processStat(pid)?.startTime;
}

/** State letter (field 3: R, S, Z, …) and start time of process `pid`, or undefined when there is none. */
export function processStat(pid: number): { state: string; startTime: number | undefined } | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { state: stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3), startTime: parseStartTime(stat) };
  } catch {
    return undefined;
  }
}
