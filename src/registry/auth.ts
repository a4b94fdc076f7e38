// Registry authentication: the credentials a client sends (Docker's
// X-Registry-Auth header), the WWW-Authenticate challenge a registry answers
// with, and the bearer-token exchange of the distribution token spec.
import { InvalidParameterError } from '../lib/errors.js';

export interface AuthConfig {
  username?: string;
  password?: string;
  /** base64 of `user:password`, as config.json stores it */
  auth?: string;
  serveraddress?: string;
  /** an OAuth refresh token from a previous login */
  identitytoken?: string;
  /** a bearer token to use as is */
  registrytoken?: string;
}

export interface Challenge { scheme: string; params: Record<string, string> }

/** Decode `X-Registry-Auth` (base64url JSON). An empty or `{}` header means anonymous. */
export function decodeAuthHeader(header: string | undefined): AuthConfig {
  if (!header) return {};
  let text: string;
  try {
    text = Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    const a = v as AuthConfig;
    if (a.auth && !a.username) {
      const plain = Buffer.from(a.auth, 'base64').toString('utf8');
      const i = plain.indexOf(':');
      if (i > 0) return { ...a, username: plain.slice(0, i), password: plain.slice(i + 1) };
    }
    return a;
  } catch (err) {
    throw new InvalidParameterError(`invalid X-Registry-Auth header: ${(err as Error).message}`);
  }
}

/**
 * X-Registry-Config (POST /build): base64 JSON of config.json-style keys →
 * credentials, every login the client has. A malformed header is ignored,
 * as dockerd ignores it: the build then pulls anonymously.
 */
export function decodeRegistryConfig(header: string | undefined): Record<string, AuthConfig> {
  if (!header) return {};
  try {
    const v = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    const out: Record<string, AuthConfig> = {};
    for (const [k, a] of Object.entries(v as Record<string, unknown>)) {
      if (typeof a === 'object' && a !== null) out[k] = decodeAuthHeader(encodeAuthHeader(a as AuthConfig));
    }
    return out;
  } catch {
    return {};
  }
}

/** The credentials for `domain` among X-Registry-Config's entries (Docker Hub's key is its v1 URL). */
export function authForDomain(all: Record<string, AuthConfig>, domain: string): AuthConfig {
  const key = domain === 'docker.io' ? 'https://index.docker.io/v1/' : domain;
  return all[key] ?? all[`https://${key}`] ?? all[`http://${key}`] ?? {};
}

export function encodeAuthHeader(a: AuthConfig): string {
  return Buffer.from(JSON.stringify(a)).toString('base64url');
}

/** Parse `Bearer realm="https://auth",service="registry",scope="repository:a/b:pull"` (several challenges allowed). */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  const re = /\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)((?:\s*,?\s*[A-Za-z0-9_-]+=(?:"(?:[^"\\]|\\.)*"|[^,\s]*))*)/gy;
  let m: RegExpExecArray | null;
  let guard = 0;
  while ((m = re.exec(header)) && guard++ < 16) {
    const params: Record<string, string> = {};
    const pre = /([A-Za-z0-9_-]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
    let p: RegExpExecArray | null;
    while ((p = pre.exec(m[2] ?? ''))) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    out.push({ scheme: m[1]!.toLowerCase(), params });
    if (re.lastIndex >= header.length) break;
    // Skip the comma between challenges.
    while (header[re.lastIndex] === ',' || header[re.lastIndex] === ' ') re.lastIndex++;
  }
  return out;
}

export function basicHeader(a: AuthConfig): string | undefined {
  if (a.username === undefined || a.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
}
