// `docker search`: the registry's v1 search endpoint (Docker Hub's index, or
// a registry named in the term), asked by the daemon as dockerd does, and
// its results filtered with Docker's `--filter` keys. Distribution
// registries have no search endpoint; they answer 404, which reaches the
// user as dockerd words it.
import { InvalidParameterError } from '../lib/errors.js';
import { basicHeader, type AuthConfig } from './auth.js';
import { RegistryError, networkMessage } from './client.js';
import { DEFAULT_DOMAIN, splitDomain } from '../image/reference.js';

export interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}

export const DEFAULT_SEARCH_LIMIT = 25;

/**
 * Which index a term searches, and for what: `busybox` and `team/app` go to
 * Docker Hub; a first part that looks like a host (`localhost`, a dot or a
 * port) names the registry, and the rest is the query.
 */
export function splitSearchTerm(term: string): { index: string; query: string } {
  const { domain, path } = splitDomain(term);
  // Docker Hub's index knows official images by their short name.
  return { index: domain, query: domain === DEFAULT_DOMAIN ? path.replace(/^library\//, '') : path };
}

/** The search URL of an index: Docker Hub's lives on index.docker.io. */
export function searchUrl(index: string, scheme: 'https' | 'http', query: string, limit: number): string {
  const host = index === 'docker.io' ? 'index.docker.io' : index;
  return `${scheme}://${host}/v1/search?q=${encodeURIComponent(query)}&n=${limit}`;
}

/** `limit` as the API takes it: absent or 0 means 25; more than 100 is refused. */
export function searchLimit(raw: string | null): number {
  if (raw === null || raw === '') return DEFAULT_SEARCH_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new InvalidParameterError(`invalid limit: ${raw}`);
  if (n <= 0) return DEFAULT_SEARCH_LIMIT;
  if (n > 100) throw new InvalidParameterError(`limit ${n} is outside the range of [1, 100]`);
  return n;
}

const FILTER_KEYS = ['is-automated', 'is-official', 'stars'];

function boolFilter(filters: Map<string, string[]>, key: string): boolean | undefined {
  const values = filters.get(key);
  if (!values || values.length === 0) return undefined;
  let result: boolean | undefined;
  for (const v of values) {
    const b = ({ true: true, '1': true, false: false, '0': false } as Record<string, boolean>)[v.toLowerCase()];
    if (b === undefined) throw new InvalidParameterError(`invalid filter '${key}=${v}'`);
    result = b;
  }
  return result;
}

export interface SearchFilters {
  /** `is-automated=true`: deprecated, and nothing matches it */
  automatedOnly: boolean;
  official?: boolean;
  minStars?: number;
}

/** `filters` checked and read as dockerd does, before the index is asked. */
export function parseSearchFilters(filters: Map<string, string[]>): SearchFilters {
  for (const k of filters.keys()) {
    if (!FILTER_KEYS.includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
  }
  const automated = boolFilter(filters, 'is-automated');
  const official = boolFilter(filters, 'is-official');
  let minStars: number | undefined;
  for (const v of filters.get('stars') ?? []) {
    if (!/^-?\d+$/.test(v)) throw new InvalidParameterError(`invalid filter 'stars=${v}'`);
    minStars = Math.max(minStars ?? 0, Number(v));
  }
  return { automatedOnly: automated === true, ...(official !== undefined ? { official } : {}), ...(minStars !== undefined ? { minStars } : {}) };
}

/**
 * dockerd's filtering: `stars=N` keeps results with at least the largest N
 * given, `is-official` keeps those that match. `is-automated` is deprecated
 * (Docker Hub's flag is untrustworthy): asking for `true` finds nothing, and
 * every result says false.
 */
export function filterSearchResults(results: SearchResult[], f: SearchFilters): SearchResult[] {
  if (f.automatedOnly) return [];
  return results
    .filter((r) => (f.official === undefined || r.is_official === f.official) && (f.minStars === undefined || r.star_count >= f.minStars))
    .map((r) => ({ ...r, is_automated: false }));
}

/** Ask `index` (HTTPS; HTTP too when it is insecure) for `query`. */
export async function searchIndex(index: string, query: string, limit: number, auth: AuthConfig, insecure: boolean, userAgent: string): Promise<SearchResult[]> {
  const headers: Record<string, string> = { 'User-Agent': userAgent };
  const basic = basicHeader(auth);
  if (basic) headers.Authorization = basic;
  let lastErr: Error | undefined;
  for (const scheme of insecure ? ['https', 'http'] as const : ['https'] as const) {
    const url = searchUrl(index, scheme, query, limit);
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      lastErr = new RegistryError(500, `Get "${url}": ${networkMessage(err)}`);
      continue;
    }
    const text = await res.text();
    if (res.status !== 200) throw new RegistryError(500, `Unexpected status code ${res.status}`);
    let body: { results?: unknown };
    try {
      body = JSON.parse(text) as { results?: unknown };
    } catch {
      throw new RegistryError(500, `error decoding the search results of ${index}: not JSON`);
    }
    if (!Array.isArray(body.results)) throw new RegistryError(500, `error decoding the search results of ${index}: no results`);
    return (body.results as Record<string, unknown>[]).map((r) => ({
      name: String(r.name ?? ''),
      description: String(r.description ?? ''),
      star_count: Number(r.star_count ?? 0) || 0,
      is_official: r.is_official === true,
      is_automated: r.is_automated === true,
    }));
  }
  throw lastErr!;
}
