// API versions. We advertise only what Berth implements; raise DEFAULT as
// endpoints land (docs/api.md lists what each version adds).
export const DEFAULT_API_VERSION = '1.41';
export const MIN_API_VERSION = '1.24';
export const BERTH_VERSION = '0.1.0';

export function compareVersions(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return (a1! - b1!) || (a2! - b2!);
}
