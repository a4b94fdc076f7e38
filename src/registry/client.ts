// A distribution (Docker Registry HTTP API V2 / OCI distribution) client for
// one registry host: scheme discovery, the auth challenge dance, and the
// registry's error bodies turned into Docker's messages. Node's built-in
// fetch (undici) does the HTTP.
import { EngineError, InvalidParameterError, NotFoundError } from '../lib/errors.js';
import { basicHeader, parseChallenges, type AuthConfig, type Challenge } from './auth.js';

export class RegistryError extends EngineError {}

/** 429 and 5xx: the registry may answer next time; transfers retry these. */
export class TransientRegistryError extends RegistryError {}

/** Docker Hub's API lives on another host than its name. */
export function registryEndpoint(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

/** Loopback registries and those configured as insecure may be reached over HTTP. */
export function isInsecure(domain: string, insecure: string[]): boolean {
  const host = domain.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (host === 'localhost' || /^127\./.test(host) || host === '::1') return true;
  for (const entry of insecure) {
    if (entry === domain || entry === host) return true;
    const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(entry);
    if (cidr && /^\d+\.\d+\.\d+\.\d+$/.test(host)) {
      const toInt = (ip: string): number => ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
      const bits = Number(cidr[2]);
      const mask = bits === 0 ? 0 : 2 ** 32 - 2 ** (32 - bits);
      if ((toInt(host) & mask) >>> 0 === (toInt(cidr[1]!) & mask) >>> 0) return true;
    }
  }
  return false;
}

interface RegistryErrorBody { errors?: { code?: string; message?: string; detail?: unknown }[] }

/** `MANIFEST_UNKNOWN` + `manifest unknown` → `manifest unknown: manifest unknown`, as Docker prints it. */
export function describeRegistryErrors(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as RegistryErrorBody;
    if (!Array.isArray(body.errors) || body.errors.length === 0) return undefined;
    return body.errors.map((e) => `${(e.code ?? 'unknown').toLowerCase().replace(/_/g, ' ')}: ${e.message ?? ''}`).join(', ');
  } catch {
    return undefined;
  }
}

export interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | AsyncIterable<Uint8Array>;
  /** the token scope this request needs, e.g. `repository:team/app:pull` */
  scope: string;
}

export class RegistryClient {
  private base: string | undefined;
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, string>();

  constructor(readonly domain: string, private readonly auth: AuthConfig, private readonly insecure: boolean, private readonly userAgent = 'berth') {}

  /** GET /v2/ once: learns the scheme (HTTPS, or HTTP for insecure registries) and the auth challenge. */
  private async ping(): Promise<string> {
    if (this.base) return this.base;
    const host = registryEndpoint(this.domain);
    const schemes = this.insecure ? ['https', 'http'] : ['https'];
    let lastErr: Error | undefined;
    for (const scheme of schemes) {
      const url = `${scheme}://${host}/v2/`;
      try {
        const res = await fetch(url, { headers: { 'User-Agent': this.userAgent }, signal: AbortSignal.timeout(15_000) });
        await res.arrayBuffer().catch(() => undefined);
        if (res.status === 401) this.challenge = parseChallenges(res.headers.get('www-authenticate') ?? '')[0];
        this.base = `${scheme}://${host}`;
        return this.base;
      } catch (err) {
        lastErr = new RegistryError(500, `Get "${url}": ${networkMessage(err)}`);
      }
    }
    throw lastErr!;
  }

  private async token(scope: string, challenge: Challenge): Promise<string> {
    const cached = this.tokens.get(scope);
    if (cached) return cached;
    if (this.auth.registrytoken) return this.auth.registrytoken;
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError(500, `registry ${this.domain} sent a bearer challenge without a realm`);
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    for (const s of scope.split(' ').filter(Boolean)) url.searchParams.append('scope', s);
    const headers: Record<string, string> = { 'User-Agent': this.userAgent };
    const basic = basicHeader(this.auth);
    if (basic) headers.Authorization = basic;
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      throw new RegistryError(500, `Get "${url.origin}${url.pathname}": ${networkMessage(err)}`);
    }
    const text = await res.text();
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(401, `Get "${url.origin}${url.pathname}": unauthorized: ${describeRegistryErrors(text) ?? 'incorrect username or password'}`);
    }
    if (!res.ok) throw new RegistryError(500, `failed to fetch a token from ${url.origin}: ${res.status} ${res.statusText}`);
    let tok: string | undefined;
    try {
      const body = JSON.parse(text) as { token?: string; access_token?: string };
      tok = body.token ?? body.access_token;
    } catch { /* below */ }
    if (!tok) throw new RegistryError(500, `the token server of ${this.domain} returned no token`);
    this.tokens.set(scope, tok);
    return tok;
  }

  private async authorization(scope: string): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'bearer') return `Bearer ${await this.token(scope, c)}`;
    if (c.scheme === 'basic') return basicHeader(this.auth);
    return undefined;
  }

  /** One request; a 401 with a fresh challenge is answered once (new scope, expired token). */
  async request(path: string, init: RequestInit): Promise<Response> {
    const base = await this.ping();
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...init.headers };
      const authz = await this.authorization(init.scope);
      if (authz) headers.Authorization = authz;
      let res: Response;
      try {
        res = await fetch(path.startsWith('http') ? path : `${base}${path}`, {
          method: init.method ?? 'GET',
          headers,
          body: init.body as BodyInit | undefined,
          redirect: 'follow',
          ...(init.body && !Buffer.isBuffer(init.body) ? { duplex: 'half' } : {}),
        } as globalThis.RequestInit);
      } catch (err) {
        throw new RegistryError(500, `${init.method ?? 'GET'} "${base}${path.split('?')[0]}": ${networkMessage(err)}`);
      }
      if (res.status === 401 && attempt === 0 && (!init.body || Buffer.isBuffer(init.body))) {
        const fresh = parseChallenges(res.headers.get('www-authenticate') ?? '')[0];
        await res.arrayBuffer().catch(() => undefined);
        if (fresh) {
          this.challenge = fresh;
          this.tokens.delete(init.scope);
          continue;
        }
      }
      return res;
    }
  }

  /** `login`: the credentials must open the registry (a token for no scope, or /v2/ with basic auth). */
  async login(): Promise<void> {
    const base = await this.ping();
    const c = this.challenge;
    if (!c) return;
    if (c.scheme === 'bearer') {
      try {
        await this.token('', c);
      } catch (err) {
        if ((err as RegistryError).status === 401) throw new RegistryError(401, `login attempt to ${base}/v2/ failed with status: 401 Unauthorized`);
        throw err;
      }
      return;
    }
    const headers: Record<string, string> = { 'User-Agent': this.userAgent };
    const basic = basicHeader(this.auth);
    if (basic) headers.Authorization = basic;
    const res = await fetch(`${base}/v2/`, { headers, signal: AbortSignal.timeout(15_000) });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new RegistryError(401, `login attempt to ${base}/v2/ failed with status: ${res.status} ${res.statusText}`);
  }

  /** Throw the registry's error as Docker words it. */
  async fail(res: Response, what: string): Promise<never> {
    const text = await res.text().catch(() => '');
    const detail = describeRegistryErrors(text) ?? (`${res.status} ${res.statusText}`.trim());
    if (res.status === 429 || res.status >= 500) {
      throw new TransientRegistryError(500, describeRegistryErrors(text) ?? `received unexpected HTTP status: ${res.status} ${res.statusText}`);
    }
    if (res.status === 404) throw new NotFoundError(`${what}: ${detail}`);
    if (res.status === 401 || res.status === 403) throw new RegistryError(res.status === 401 ? 401 : 403, `${what}: ${detail}`);
    if (res.status >= 400 && res.status < 500) throw new InvalidParameterError(`${what}: ${detail}`);
    throw new RegistryError(500, `${what}: ${detail}`);
  }
}

export function networkMessage(err: unknown): string {
  const e = err as { cause?: { code?: string; message?: string; address?: string; port?: number }; message?: string; name?: string };
  const c = e.cause;
  if (c?.code === 'ECONNREFUSED') return `dial tcp ${c.address ?? ''}${c.port ? `:${c.port}` : ''}: connect: connection refused`;
  if (c?.code === 'ENOTFOUND' || c?.code === 'EAI_AGAIN') return `dial tcp: lookup ${c.message?.split(' ').pop() ?? ''}: no such host`;
  if (e.name === 'TimeoutError') return 'net/http: request canceled (Client.Timeout exceeded while awaiting headers)';
  return c?.message ?? e.message ?? String(err);
}
