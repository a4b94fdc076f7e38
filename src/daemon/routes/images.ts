import type { Router, RequestContext } from '../router.js';
import { loadImages, saveImages, selectImages } from '../../image/archive.js';
import { sendJson, boolParam, parseFilters, checkFilterKeys, res, readJsonBody } from '../http-util.js';
import type { Engine } from '../engine.js';
import { EngineError, InvalidParameterError, NotFoundError } from '../../lib/errors.js';
import { parseReference, familiarString, fullName } from '../../image/reference.js';
import { decodeAuthHeader, type AuthConfig } from '../../registry/auth.js';
import { pullAllTags, pullImage } from '../../registry/pull.js';
import { pushImage } from '../../registry/push.js';
import { filterSearchResults, parseSearchFilters, searchLimit } from '../../registry/search.js';
import type { JsonMessage } from '../../lib/progress.js';
import { matchesLabels, createdBefore } from '../filters.js';
import { buildRoute, buildPrune } from '../build.js';

export function imageRoutes(r: Router, engine: Engine): void {
  const images = engine.images;

  r.add('POST', '/images/create', async (ctx) => {
    const q = ctx.query;
    const fromSrc = q.get('fromSrc');
    const fromImage = q.get('fromImage');
    if (fromSrc !== null) {
      if (fromSrc !== '-') throw new InvalidParameterError('importing from a URL is not supported yet; use - and send the tarball');
      const repo = q.get('repo') ?? '';
      const tagParam = q.get('tag') ?? '';
      let tag: string | undefined;
      if (repo) {
        // Validate before reading the body: a bad name must change nothing.
        const ref = parseReference(tagParam ? `${repo}:${tagParam}` : repo);
        tag = familiarString(ref);
      }
      const changes = q.getAll('changes').flatMap((c) => c.split('\n')).filter((c) => c.trim() !== '');
      const out = res(ctx);
      let started = false;
      try {
        const img = await images.importRootfs(ctx.req, { tag, changes, message: q.get('message') ?? undefined });
        out.writeHead(200, { 'Content-Type': 'application/json' });
        started = true;
        out.end(JSON.stringify({ status: img.id }) + '\n');
      } catch (err) {
        if (!started && err instanceof EngineError) throw err;
        const message = (err as Error).message;
        if (!started) out.writeHead(200, { 'Content-Type': 'application/json' });
        out.end(JSON.stringify({ errorDetail: { message }, error: message }) + '\n');
      }
      return;
    }
    if (fromImage) {
      const tagParam = q.get('tag') ?? '';
      const joined = !tagParam ? fromImage : tagParam.startsWith('sha256:') ? `${fromImage}@${tagParam}` : `${fromImage}:${tagParam}`;
      const ref = parseReference(joined);
      const auth = decodeAuthHeader(headerValue(ctx.req.headers['x-registry-auth']));
      const platform = q.get('platform') || undefined;
      const client = engine.registry(ref.domain, auth);
      // As Docker's API: no tag at all means every tag (`pull --all-tags`).
      if (!ref.tag && !ref.digest) {
        await jsonStream(ctx, (say) => pullAllTags(images, client, ref, { platform, progress: say }));
        return;
      }
      await jsonStream(ctx, async (say) => {
        await pullImage(images, client, ref, { platform, progress: say });
      });
      return;
    }
    throw new InvalidParameterError('fromImage or fromSrc is required');
  });

  r.add('POST', '/images/{name:.*}/push', async (ctx) => {
    const ref = parseReference(ctx.params.name!);
    const tagParam = ctx.query.get('tag') || ref.tag;
    const auth = decodeAuthHeader(headerValue(ctx.req.headers['x-registry-auth']));
    const base = { ...ref, tag: undefined, digest: undefined };
    // No tag: every tag of the repository, as `docker push --all-tags`.
    const tags = tagParam ? [tagParam] : images.tagsOfRepository(base);
    if (tags.length === 0) throw new NotFoundError(`An image does not exist locally with the tag: ${familiarString(base)}`);
    for (const t of tags) {
      if (!images.tryResolve(familiarString({ ...base, tag: t }))) throw new NotFoundError(`An image does not exist locally with the tag: ${familiarString(base)}`);
    }
    const client = engine.registry(ref.domain, auth);
    await jsonStream(ctx, async (say) => {
      say({ status: `The push refers to repository [${fullName(base)}]` });
      for (const t of tags) await pushImage(images, client, base, t, say);
    });
  });

  r.add('POST', '/auth', async (ctx) => {
    const body = await readJsonBody<AuthConfig>(ctx.req);
    if (!body || typeof body !== 'object') throw new InvalidParameterError('invalid auth configuration');
    const server = (body.serveraddress || 'docker.io').replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    const domain = server === 'index.docker.io' || server === 'registry-1.docker.io' ? 'docker.io' : server;
    await engine.registry(domain, body).login();
    sendJson(res(ctx), 200, { Status: 'Login Succeeded', IdentityToken: '' });
  });

  r.add('GET', '/images/search', async (ctx) => {
    const term = ctx.query.get('term') ?? '';
    if (!term) throw new InvalidParameterError('term is required');
    const limit = searchLimit(ctx.query.get('limit'));
    // Checked before the index is asked, as dockerd does; `is-automated=true` asks nothing.
    const filters = parseSearchFilters(parseFilters(ctx.query));
    if (filters.automatedOnly) {
      sendJson(res(ctx), 200, []);
      return;
    }
    const auth = decodeAuthHeader(headerValue(ctx.req.headers['x-registry-auth']));
    sendJson(res(ctx), 200, filterSearchResults(await engine.search(term, limit, auth), filters));
  });

  r.add('POST', '/build', (ctx) => buildRoute(ctx, engine));
  r.add('POST', '/build/prune', async (ctx) => sendJson(res(ctx), 200, await buildPrune(engine)));

  r.add('GET', '/images/{name:.*}/history', async (ctx) => {
    sendJson(res(ctx), 200, await images.history(ctx.params.name!));
  });

  r.add('POST', '/images/prune', async (ctx) => {
    const filters = parseFilters(ctx.query);
    checkFilterKeys(filters, ['dangling', 'label', 'label!', 'until']);
    const dangling = filters.get('dangling')?.[0];
    const before = createdBefore(filters.get('until'));
    const result = await images.prune({
      all: dangling === 'false' || dangling === '0',
      keep: (img) => !matchesLabels(img.config.config?.Labels, filters.get('label'), filters.get('label!')) || !before(Date.parse(img.config.created ?? '')),
      inUse: (id) => engine.containers.imageInUse(id) !== undefined,
    });
    sendJson(res(ctx), 200, result);
  });

  const save = async (ctx: RequestContext, names: string[]): Promise<void> => {
    const selected = selectImages(images, names, platformParam(ctx.query.get('platform')));
    const out = res(ctx);
    out.writeHead(200, { 'Content-Type': 'application/x-tar' });
    try {
      await saveImages(images, selected, out);
    } catch (err) {
      // Headers are gone: cut the stream so the client sees a broken archive, not a short one.
      out.destroy(err as Error);
    }
  };
  r.add('GET', '/images/get', (ctx) => save(ctx, ctx.query.getAll('names').flatMap((n) => n.split(',')).filter(Boolean)));
  r.add('GET', '/images/{name:.*}/get', (ctx) => save(ctx, [ctx.params.name!]));

  r.add('POST', '/images/load', async (ctx) => {
    const quiet = boolParam(ctx.query, 'quiet');
    const out = res(ctx);
    const start = (): void => { if (!out.headersSent) out.writeHead(200, { 'Content-Type': 'application/json' }); };
    try {
      await loadImages(images, ctx.req, (line) => {
        start();
        if (!quiet || line.startsWith('Loaded image')) out.write(JSON.stringify({ stream: `${line}\n` }) + '\n');
      }, { platform: platformParam(ctx.query.get('platform')) });
    } catch (err) {
      if (!out.headersSent && err instanceof EngineError) throw err;
      start();
      const message = (err as Error).message;
      out.end(JSON.stringify({ errorDetail: { message }, error: message }) + '\n');
      return;
    }
    start();
    out.end();
  });

  r.add('GET', '/images/json', (ctx) => {
    const filters = parseFilters(ctx.query);
    checkFilterKeys(filters, ['dangling', 'label', 'reference', 'before', 'since']);
    const all = boolParam(ctx.query, 'all');
    let list = images.list();
    // Untagged images with children are a build's intermediate steps: shown with -a only, as Docker does.
    if (!all) list = list.filter((i) => i.repoTags.length > 0 || !images.hasChildren(i.id));
    const dangling = filters.get('dangling');
    if (dangling && dangling.length) {
      const want = dangling[0] === 'true' || dangling[0] === '1';
      list = list.filter((i) => (i.repoTags.length === 0 && !images.hasChildren(i.id)) === want);
    }
    const refs = filters.get('reference');
    // dockerd's FamiliarMatch: the pattern against `name:tag` (or `name@digest`), else against the name alone.
    const matchesRef = (r: string): boolean => refs!.some((p) => globMatch(p, r) || globMatch(p, r.replace(/(@sha256:[0-9a-f]+|:[^:/]+)$/, '')));
    if (refs && refs.length) list = list.filter((i) => i.repoTags.some(matchesRef));
    const labels = filters.get('label');
    if (labels && labels.length) {
      list = list.filter((i) => labels.every((spec) => {
        const [k, v] = spec.split('=', 2) as [string, string | undefined];
        const l = i.config.config?.Labels?.[k];
        return l !== undefined && (v === undefined || l === v);
      }));
    }
    const summaries = list.map((i) => {
      const summary = images.toSummary(i);
      // With a reference filter an image lists only the names that match, as with dockerd.
      if (refs && refs.length) {
        summary.RepoTags = (summary.RepoTags as string[]).filter(matchesRef);
        summary.RepoDigests = (summary.RepoDigests as string[]).filter(matchesRef);
      }
      return summary;
    }).sort((a, b) => (b.Created as number) - (a.Created as number));
    sendJson(res(ctx), 200, summaries);
  });

  r.add('GET', '/images/{name:.*}/json', (ctx) => {
    sendJson(res(ctx), 200, images.toInspect(images.resolve(ctx.params.name!)));
  });

  r.add('POST', '/images/{name:.*}/tag', async (ctx) => {
    const repo = ctx.query.get('repo');
    if (!repo) throw new InvalidParameterError('repository name must have at least one component');
    const tag = ctx.query.get('tag');
    const target = parseReference(tag ? `${repo}:${tag}` : repo);
    await images.tag(ctx.params.name!, familiarString(target));
    res(ctx).writeHead(201);
    res(ctx).end();
  });

  r.add('DELETE', '/images/{name:.*}', async (ctx) => {
    const result = await images.remove(ctx.params.name!, {
      force: boolParam(ctx.query, 'force'),
      noPrune: boolParam(ctx.query, 'noprune'),
      isInUse: (id: string) => engine.containers.imageInUse(id),
    });
    sendJson(res(ctx), 200, result);
  });
}

function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.') + '$');
  return re.test(text);
}

function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

/**
 * A JSON message stream whose headers go out with the first message: an
 * error before that is a plain HTTP error (the docker CLI prints it as
 * "Error response from daemon"), one after it an errorDetail message.
 */
async function jsonStream(ctx: RequestContext, fn: (say: (m: JsonMessage) => void) => Promise<void>): Promise<void> {
  const out = res(ctx);
  const start = (): void => { if (!out.headersSent) out.writeHead(200, { 'Content-Type': 'application/json' }); };
  try {
    await fn((m) => {
      start();
      out.write(JSON.stringify(m) + '\n');
    });
  } catch (err) {
    if (!out.headersSent && err instanceof EngineError) throw err;
    start();
    const message = (err as Error).message;
    out.end(JSON.stringify({ errorDetail: { message }, error: message }) + '\n');
    return;
  }
  start();
  out.end();
}

/**
 * The API's `platform` for save and load: the JSON of an OCI platform (API
 * 1.48, as the docker CLI sends it) or `os/arch[/variant]`.
 */
export function platformParam(v: string | null): string | undefined {
  if (!v) return undefined;
  if (!v.trim().startsWith('{')) return v;
  let p: { os?: unknown; architecture?: unknown; variant?: unknown };
  try {
    p = JSON.parse(v) as typeof p;
  } catch {
    throw new InvalidParameterError(`invalid platform: ${v}`);
  }
  if (typeof p.os !== 'string' || typeof p.architecture !== 'string') throw new InvalidParameterError(`invalid platform: ${v}`);
  return `${p.os}/${p.architecture}${typeof p.variant === 'string' && p.variant ? `/${p.variant}` : ''}`;
}
