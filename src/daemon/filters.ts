// Filter predicates the list and prune endpoints share (`label`, `label!`, `until`).
import { InvalidParameterError } from '../lib/errors.js';
import { parseTimestamp } from '../lib/timestamps.js';

/** `label=k` / `label=k=v` all present, `label!=…` none present. */
export function matchesLabels(labels: Record<string, string> | null | undefined, want?: string[], notWant?: string[]): boolean {
  const has = (spec: string): boolean => {
    const i = spec.indexOf('=');
    const k = i < 0 ? spec : spec.slice(0, i);
    const v = labels?.[k];
    return v !== undefined && (i < 0 || v === spec.slice(i + 1));
  };
  if (want && !want.every(has)) return false;
  if (notWant && notWant.some(has)) return false;
  return true;
}

/** `until=24h` or a timestamp: true for things created before it (ms since epoch in, like Date.parse). */
export function createdBefore(until: string[] | undefined): (createdMs: number) => boolean {
  if (!until || until.length === 0) return () => true;
  let limitNs: bigint;
  try {
    limitNs = parseTimestamp(until[until.length - 1]!);
  } catch (err) {
    throw new InvalidParameterError(`invalid filter 'until=${until[until.length - 1]}': ${(err as Error).message}`);
  }
  return (createdMs) => BigInt(Math.floor(createdMs)) * 1_000_000n < limitNs;
}
