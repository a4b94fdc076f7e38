// Platforms (os/architecture[/variant]) as Docker spells and matches them:
// what `pull`, `save` and `load` choose by.
import { InvalidParameterError } from '../lib/errors.js';
import { hostArch } from './image-store.js';

export interface Platform { os: string; architecture: string; variant?: string }

/** `linux/amd64`, `linux/arm64/v8` (x86_64 and aarch64 accepted); none means this machine's. */
export function parsePlatform(s: string | undefined): Platform {
  if (!s) return { os: 'linux', architecture: hostArch() };
  const [os, architecture, variant] = s.toLowerCase().split('/');
  if (!os || !architecture) throw new InvalidParameterError(`"${s}": unknown operating system or architecture: invalid argument`);
  return { os, architecture: architecture === 'x86_64' ? 'amd64' : architecture === 'aarch64' ? 'arm64' : architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Whether `have` is what `want` asks for; a variant only counts when asked for. */
export function platformMatches(want: Platform, have: Partial<Platform>): boolean {
  return have.os === want.os && have.architecture === want.architecture && (!want.variant || have.variant === want.variant);
}
