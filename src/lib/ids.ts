import { randomBytes } from 'node:crypto';

/** A Docker-style object id: 64 lowercase hex characters. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export function isHexPrefix(s: string): boolean {
  return /^[0-9a-f]{1,64}$/.test(s);
}
