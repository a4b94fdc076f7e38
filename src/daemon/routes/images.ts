import type { Router, RequestContext } from '../router.js';
import { loadImages, saveImages, selectImages } from '../../image/archive.js';
import { sendJson, boolParam, parseFilters, checkFilterKeys, res } from '../http-util.js';
import type { Engine } from '../engine.js';
import { EngineError, InvalidParameterError, NotFoundError } from '../../lib/errors.js';
import { parseReference, familiarString } from '../../image/reference.js';

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
      const ref = parseReference(q.get('tag') ? `${fromImage}:${q.get('tag')}` : fromImage);
      // Registry pulls arrive with the images issue; say so rather than pretend.
      throw new NotFoundError(`pull access denied for ${familiarString(ref).replace(/:[^:/]+$/, '')}: pulling from registries is not implemented in this Berth version`);
    }
    throw new InvalidParameterError('fromImage or fromSrc is required');
  });

  const save = async (ctx: RequestContext, names: string[]): Promise<void> => {
    const selected = selectImages(images, names);
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
  });

  r.add('GET', '/images/json', (ctx) => {
    const filters = parseFilters(ctx.query);
    checkFilterKeys(filters, ['dangling', 'label', 'reference', 'before', 'since']);
    const all = boolParam(ctx.query, 'all');
    void all;
    let list = images.list();
    const dangling = filters.get('dangling');
    if (dangling && dangling.length) {
      const want = dangling[0] === 'true' || dangling[0] === '1';
      list = list.filter((i) => (i.repoTags.length === 0) === want);
    }
    const refs = filters.get('reference');
    if (refs && refs.length) {
      list = list.filter((i) => i.repoTags.some((t: string) => refs.some((p) => globMatch(p, t) || globMatch(p, t.split(':')[0]!))));
    }
    const labels = filters.get('label');
    if (labels && labels.length) {
      list = list.filter((i) => labels.every((spec) => {
        const [k, v] = spec.split('=', 2) as [string, string | undefined];
        const l = i.config.config?.Labels?.[k];
        return l !== undefined && (v === undefined || l === v);
      }));
    }
    const summaries = list.map((i) => images.toSummary(i))
      .sort((a, b) => (b.Created as number) - (a.Created as number));
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
