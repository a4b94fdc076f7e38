// Restart policies as Docker applies them: which exits restart a container,
// how long to wait first, and which containers come back when the daemon starts.
import type { RestartPolicy } from './record.js';

/** Docker's back-off: 100 ms, doubling per restart, at most a minute. */
export const FIRST_DELAY_MS = 100;
export const MAX_DELAY_MS = 60_000;
/** A run at least this long resets the back-off. */
export const RESET_AFTER_MS = 10_000;

export function shouldRestart(policy: RestartPolicy, exitCode: number, restartCount: number, manuallyStopped: boolean): boolean {
  if (manuallyStopped) return false;
  switch (policy.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return exitCode !== 0 && (policy.MaximumRetryCount <= 0 || restartCount < policy.MaximumRetryCount);
    default:
      return false;
  }
}

/** The wait before the next restart, from the previous wait and how long the last run lasted. */
export function nextDelay(previousMs: number | undefined, ranMs: number): number {
  if (previousMs === undefined || ranMs >= RESET_AFTER_MS) return FIRST_DELAY_MS;
  return Math.min(previousMs * 2, MAX_DELAY_MS);
}

/**
 * At daemon start: `always` brings back any container that has run before
 * (even one stopped by hand, as Docker documents), `unless-stopped` only one
 * that was not stopped by hand.
 */
export function startsWithDaemon(policy: RestartPolicy, hasRun: boolean, manuallyStopped: boolean): boolean {
  if (!hasRun) return false;
  if (policy.Name === 'always') return true;
  return policy.Name === 'unless-stopped' && !manuallyStopped;
}
