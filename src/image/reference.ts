// Image references with Docker's grammar (distribution/reference) and its
// normalisation: `busybox` → docker.io/library/busybox:latest.
import { InvalidParameterError } from '../lib/errors.js';

export interface Reference {
  domain: string;
  /** repository path, e.g. library/busybox */
  path: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const PATH = `${COMPONENT}(?:/${COMPONENT})*`;
const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_DOMAIN = new RegExp(`^${DOMAIN}$`);

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';

/** Docker's splitDockerDomain: `busybox` → docker.io + library/busybox; a first part with a dot or a port, or `localhost`, is a registry. */
export function splitDomain(name: string): { domain: string; path: string } {
  const i = name.indexOf('/');
  let domain: string;
  let path: string;
  if (i < 0) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    const first = name.slice(0, i);
    if (!first.includes('.') && !first.includes(':') && first !== 'localhost' && first.toLowerCase() === first) {
      domain = DEFAULT_DOMAIN;
      path = name;
    } else {
      domain = first;
      path = name.slice(i + 1);
    }
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  return { domain, path };
}

/** Parse and normalise; throws 400 with Docker's messages. */
export function parseReference(s: string): Reference {
  if (s === '') throw new InvalidParameterError('invalid reference format');
  if (/^[a-f0-9]{64}$/.test(s)) {
    throw new InvalidParameterError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  // Split off tag/digest to look at the name alone for the lowercase check.
  const at = s.indexOf('@');
  const beforeDigest = at < 0 ? s : s.slice(0, at);
  const lastSlash = beforeDigest.lastIndexOf('/');
  const colon = beforeDigest.lastIndexOf(':');
  const name = colon > lastSlash ? beforeDigest.slice(0, colon) : beforeDigest;
  const { domain, path } = splitDomain(name);
  if (path !== path.toLowerCase()) {
    throw new InvalidParameterError(`invalid reference format: repository name (${path}) must be lowercase`);
  }
  const m = REFERENCE.exec(s);
  if (!m) throw new InvalidParameterError('invalid reference format');
  if (domain !== DEFAULT_DOMAIN && !ANCHORED_DOMAIN.test(domain)) throw new InvalidParameterError('invalid reference format');
  if (m[1]!.length > 255) throw new InvalidParameterError('invalid reference format: repository name must not be more than 255 characters');
  const ref: Reference = { domain, path };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) ref.digest = m[3];
  return ref;
}

/** Adds `:latest` when there is neither a tag nor a digest. */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

export function fullName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** docker.io/library/busybox → busybox; docker.io/a/b → a/b. */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return fullName(ref);
  return ref.path.startsWith('library/') && ref.path.split('/').length === 2 ? ref.path.slice('library/'.length) : ref.path;
}

export function fullString(ref: Reference): string {
  return fullName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

export function familiarString(ref: Reference): string {
  return familiarName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** The canonical key for a tag: `docker.io/library/busybox:latest`. */
export function normalizedTag(s: string): string {
  return fullString(withDefaultTag(parseReference(s)));
}
