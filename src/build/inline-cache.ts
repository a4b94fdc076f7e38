// `--cache-from`: reusing steps of an image built elsewhere (a CI runner's
// last push), BuildKit's inline cache done Berth's way.
//
// The local cache keys a step by its parent image's id, which another machine
// never has (ids hash configs, and configs carry creation times). So each step
// also gets a chain key: the previous step's chain key plus what the step
// does, starting from the base image's id (a registry digest, the same
// everywhere). A build with `--build-arg BUILDKIT_INLINE_CACHE=1` writes the
// chain keys of its final stage into the image config, with how many layers
// and history entries the image had after each step; a build with
// `--cache-from IMAGE` finds its own chain keys there and rebuilds the step's
// image from that image's first layers instead of running the step.
// As with BuildKit's inline cache, only the final stage's steps are exported.
import { createHash } from 'node:crypto';
import type { ImageRecord, OciImageConfig } from '../image/image-store.js';

/** The image config key of the inline cache (BuildKit's is `moby.buildkit.cache.v0`, in its own format). */
export const INLINE_CACHE_KEY = 'berth.cache.v0';

export interface InlineCacheEntry {
  /** the step's chain key */
  chain: string;
  /** layers of the image after the step */
  layers: number;
  /** history entries of the image after the step */
  history: number;
}

/** A step's chain key: the previous one and what the step does. */
export function chainKey(previous: string, parts: unknown[]): string {
  return `sha256:${createHash('sha256').update(JSON.stringify([previous, ...parts])).digest('hex')}`;
}

/** The chain key a stage starts from: its base image (scratch has none). */
export function baseChain(imageId: string | undefined): string {
  return imageId ? chainKey('from', [imageId]) : 'scratch';
}

/** The inline cache of an image's config; entries that do not fit the image are dropped. */
export function readInlineCache(config: OciImageConfig): InlineCacheEntry[] {
  const raw = (config as unknown as Record<string, unknown>)[INLINE_CACHE_KEY];
  if (!Array.isArray(raw)) return [];
  const layers = config.rootfs.diff_ids.length;
  const history = config.history?.length ?? 0;
  return raw.filter((e): e is InlineCacheEntry => typeof e === 'object' && e !== null
    && typeof (e as InlineCacheEntry).chain === 'string'
    && Number.isInteger((e as InlineCacheEntry).layers) && (e as InlineCacheEntry).layers >= 0 && (e as InlineCacheEntry).layers <= layers
    && Number.isInteger((e as InlineCacheEntry).history) && (e as InlineCacheEntry).history >= 1 && (e as InlineCacheEntry).history <= history);
}

/** A step found in a cache source: the image that has it and how much of that image it is. */
export interface CacheHit { image: ImageRecord; layers: number; history: number }

/** The `--cache-from` images of one build, by chain key. */
export class CacheSources {
  private readonly byChain = new Map<string, CacheHit>();

  add(image: ImageRecord): number {
    const entries = readInlineCache(image.config);
    for (const e of entries) if (!this.byChain.has(e.chain)) this.byChain.set(e.chain, { image, layers: e.layers, history: e.history });
    return entries.length;
  }

  get size(): number {
    return this.byChain.size;
  }

  /**
   * The step with this chain key, if a source has it on top of exactly the
   * layers `parentDiffIds` (the step adds at most one).
   */
  find(chain: string, parentDiffIds: string[]): CacheHit | undefined {
    const hit = this.byChain.get(chain);
    if (!hit) return undefined;
    const ids = hit.image.config.rootfs.diff_ids;
    const added = hit.layers - parentDiffIds.length;
    if (added !== 0 && added !== 1) return undefined;
    if (parentDiffIds.some((d, i) => ids[i] !== d)) return undefined;
    return hit;
  }
}
