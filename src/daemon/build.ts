// The builder's view of the engine (BuildHost): RUN steps as real containers,
// overlay mounts of images for COPY, pulls for FROM. And POST /build.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, posix } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Engine } from './engine.js';
import type { RequestContext } from './router.js';
import { res, boolParam } from './http-util.js';
import { Builder, BuildError, type BuildHost, type BuildOptions } from '../build/builder.js';
import { extractContext } from '../build/context.js';
import { readLogs } from '../container/logs.js';
import { mountOverlay, unmount, mountsUnder } from '../container/rootfs.js';
import { pullImage } from '../registry/pull.js';
import { parseReference, familiarString } from '../image/reference.js';
import { EngineError, InvalidParameterError } from '../lib/errors.js';
import { shortId } from '../lib/ids.js';
import { secureJoin } from '../lib/secure-join.js';

const execFileP = promisify(execFile);

export function buildTmpDir(engine: Engine): string {
  return join(engine.config.dataRoot, 'build', 'tmp');
}

/** At start: a crash mid-build can leave mounts and directories behind. */
export async function cleanupBuildLeftovers(engine: Engine): Promise<void> {
  const dir = buildTmpDir(engine);
  for (const mp of (await mountsUnder(dir)).sort().reverse()) await unmount(mp);
  await fs.rm(dir, { recursive: true, force: true });
}

function buildHost(engine: Engine): BuildHost {
  const tmp = buildTmpDir(engine);
  return {
    images: engine.images,
    cacheFile: join(engine.config.dataRoot, 'build', 'cache.json'),
    cacheMountDir: join(engine.config.dataRoot, 'build', 'cache-mounts'),
    async run(imageId, spec, output, started) {
      const svc = engine.containers;
      const { Id } = await svc.create({
        Image: imageId, Cmd: spec.cmd, Entrypoint: [''], Env: spec.env, WorkingDir: spec.workdir, User: spec.user,
        Labels: {},
        HostConfig: {
          NetworkMode: spec.network === 'none' || spec.network === 'host' ? spec.network : 'bridge',
          Mounts: spec.mounts.map((m) => (m.type === 'tmpfs'
            ? { Type: 'tmpfs', Target: m.target }
            : { Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readonly, BindOptions: { CreateMountpoint: true } })),
        },
      });
      const remove = async (): Promise<void> => { await svc.remove(Id, { force: true, volumes: true }).catch(() => undefined); };
      started(Id);
      try {
        const exited = svc.wait(Id, 'next-exit');
        await svc.start(Id);
        for await (const rec of readLogs(svc.logPath(Id), { follow: true, isDone: () => !svc.isRunning(Id) })) output(rec.data);
        const { StatusCode } = await exited;
        return {
          containerId: Id,
          exitCode: StatusCode,
          remove,
          commit: async (config, createdBy) => {
            const img = await svc.withUpperDir(Id, false, (_rec, upper, exclude) => engine.images.commit(upper, imageId, { config, createdBy, exclude }));
            await remove();
            return img;
          },
        };
      } catch (err) {
        await remove();
        throw err;
      }
    },
    async mount(imageId, writable) {
      const dir = join(tmp, `m-${randomBytes(6).toString('hex')}`);
      const upper = join(dir, 'upper');
      await fs.mkdir(upper, { recursive: true });
      const release = async (root?: string): Promise<void> => {
        if (root) await unmount(root);
        await fs.rm(dir, { recursive: true, force: true });
      };
      const layers = imageId ? await engine.images.rootfsLayers(imageId) : [];
      if (layers.length === 0) return { root: upper, upper, release: () => release() };
      if (!writable && layers.length === 1) return { root: layers[0]!, release: () => release() };
      const merged = join(dir, 'merged');
      if (writable) {
        await mountOverlay(layers, upper, join(dir, 'work'), merged);
      } else {
        await fs.mkdir(merged, { recursive: true });
        await execFileP('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${[...layers].reverse().join(':')}`, merged]);
      }
      return { root: merged, ...(writable ? { upper } : {}), release: () => release(merged) };
    },
    async pull(ref, output) {
      let r = parseReference(ref);
      if (!r.tag && !r.digest) r = { ...r, tag: 'latest' };
      return pullImage(engine.images, engine.registry(r.domain, {}), r, {
        progress: (m) => { if (m.status && !m.progressDetail?.current) output(`${m.id ? `${m.id}: ` : ''}${m.status}\n`); },
      });
    },
  };
}

function jsonParam(ctx: RequestContext, name: string): Record<string, string> {
  const v = ctx.query.get(name);
  if (!v) return {};
  try {
    const o = JSON.parse(v) as Record<string, string | null>;
    return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== null)) as Record<string, string>;
  } catch {
    throw new InvalidParameterError(`invalid ${name}: not a JSON object`);
  }
}

/** POST /build: a tar context in, Docker's classic JSON stream out. */
export async function buildRoute(ctx: RequestContext, engine: Engine): Promise<void> {
  const q = ctx.query;
  const tags = q.getAll('t').filter(Boolean);
  for (const t of tags) parseReference(t);
  const opts: BuildOptions = {
    dockerfile: q.get('dockerfile') || 'Dockerfile',
    tags,
    buildArgs: jsonParam(ctx, 'buildargs'),
    target: q.get('target') || undefined,
    noCache: boolParam(q, 'nocache'),
    labels: jsonParam(ctx, 'labels'),
  };
  const quiet = boolParam(q, 'q');
  const out = res(ctx);
  out.writeHead(200, { 'Content-Type': 'application/json' });
  const send = (m: object): void => { out.write(JSON.stringify(m) + '\n'); };
  const say = (text: string): void => { if (!quiet) send({ stream: text }); };
  const dir = join(buildTmpDir(engine), `ctx-${randomBytes(6).toString('hex')}`);
  try {
    await extractContext(ctx.req, join(dir, 'context'));
    let text: string;
    try {
      const file = await secureJoin(join(dir, 'context'), posix.normalize('/' + opts.dockerfile));
      text = await fs.readFile(file, 'utf8');
    } catch {
      throw new BuildError(`Cannot locate specified Dockerfile: ${opts.dockerfile}`);
    }
    const img = await new Builder(buildHost(engine), say).build(join(dir, 'context'), text, opts);
    send({ aux: { ID: img.id } });
    say(`Successfully built ${shortId(img.id)}\n`);
    for (const t of tags) {
      await engine.images.tag(img.id, t);
      say(`Successfully tagged ${familiarString(parseReference(t))}\n`);
    }
    if (quiet) send({ stream: `${img.id}\n` });
  } catch (err) {
    const message = (err as Error).message;
    const code = err instanceof BuildError ? err.code : err instanceof EngineError ? 1 : 1;
    send({ errorDetail: { code, message }, error: message });
  } finally {
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    out.end();
  }
}

/**
 * POST /build/prune: the step cache is forgotten and untagged images no
 * container uses are removed (a build's intermediate chain goes with its
 * untagged leaf; tagged images and their parents stay).
 */
export async function buildPrune(engine: Engine): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }> {
  const forgotten = await Builder.forget(join(engine.config.dataRoot, 'build', 'cache.json'));
  const r = await engine.images.prune({ all: false, keep: () => false, inUse: (id) => engine.containers.imageInUse(id) !== undefined });
  const deleted = (r.ImagesDeleted ?? []).flatMap((d) => ('Deleted' in d ? [d.Deleted] : []));
  void forgotten;
  return { CachesDeleted: deleted.length ? deleted : null, SpaceReclaimed: r.SpaceReclaimed };
}
