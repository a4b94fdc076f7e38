// The builder's view of the engine (BuildHost): RUN steps as real containers,
// overlay mounts of images for COPY, pulls for FROM. And POST /build.
import { randomBytes } from 'node:crypto';
import { totalmem } from 'node:os';
import { promises as fs } from 'node:fs';
import { join, posix } from 'node:path';
import type { Engine } from './engine.js';
import type { RequestContext } from './router.js';
import { res, boolParam } from './http-util.js';
import { Builder, BuildError, type BuildHost, type BuildOptions } from '../build/builder.js';
import { extractContext, receiveContext, releaseContext } from '../build/context.js';
import { CacheMounts } from '../build/cache-mounts.js';
import { cloneGitContext, GitContextError, isGitUrl } from '../build/git-context.js';
import { readLogs } from '../container/logs.js';
import { mountOverlay, mountOverlayReadOnly, unmount, mountsUnder } from '../container/rootfs.js';
import { pullImage } from '../registry/pull.js';
import { parseReference, familiarString, normalizedTag } from '../image/reference.js';
import { BuildEvents, BUILD_EVENT_ID } from '../build/progress.js';
import { looksLikeTar, peek } from '../image/compression.js';
import { Readable, Transform } from 'node:stream';
import { InvalidParameterError } from '../lib/errors.js';
import { shortId } from '../lib/ids.js';
import { secureJoin } from '../lib/secure-join.js';
import { authForDomain, decodeRegistryConfig, type AuthConfig } from '../registry/auth.js';
import { wakeOn } from './routes/containers.js';

export function buildTmpDir(engine: Engine): string {
  return join(engine.config.dataRoot, 'build', 'tmp');
}

/** At start: a crash mid-build can leave mounts and directories behind. */
export async function cleanupBuildLeftovers(engine: Engine): Promise<void> {
  const dir = buildTmpDir(engine);
  for (const mp of (await mountsUnder(dir)).sort().reverse()) await unmount(mp);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.rm(secretsRoot(engine), { recursive: true, force: true });
}

function buildContainersDir(engine: Engine): string {
  return join(engine.config.dataRoot, 'build', 'containers');
}

/** At start, once containers are loaded: a build step's container whose build died with berthd. */
export async function removeBuildContainers(engine: Engine): Promise<void> {
  const dir = buildContainersDir(engine);
  for (const id of await fs.readdir(dir).catch(() => [] as string[])) {
    await engine.containers.remove(id, { force: true, volumes: true }).catch(() => undefined);
    await fs.rm(join(dir, id), { force: true });
  }
}

function buildHost(engine: Engine, logins: Record<string, AuthConfig> = {}): BuildHost & { settle(): Promise<void> } {
  const tmp = buildTmpDir(engine);
  const removals: Promise<void>[] = [];
  return {
    /** Wait for the step containers still being removed. */
    async settle() {
      await Promise.all(removals);
    },
    images: engine.images,
    cacheFile: join(engine.config.dataRoot, 'build', 'cache.json'),
    cacheMountDir: cacheMounts(engine).root,
    async run(imageId, spec, output, started) {
      const svc = engine.containers;
      const { Id } = await svc.create({
        Image: imageId, Cmd: spec.cmd, Entrypoint: [''], Env: spec.env, WorkingDir: spec.workdir, User: spec.user,
        Labels: {},
        HostConfig: {
          NetworkMode: spec.network === 'none' || spec.network === 'host' ? spec.network : 'bridge',
          ...(spec.extraHosts ? { ExtraHosts: spec.extraHosts } : {}),
          Mounts: spec.mounts.map((m) => (m.type === 'tmpfs'
            ? { Type: 'tmpfs', Target: m.target }
            : { Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readonly, BindOptions: { CreateMountpoint: true } })),
        },
      }, undefined, { scratch: true });
      // Marked as the build's own: if berthd dies mid-step, the next start removes it.
      const marker = join(buildContainersDir(engine), Id);
      await fs.mkdir(buildContainersDir(engine), { recursive: true });
      await fs.writeFile(marker, '');
      const remove = async (): Promise<void> => {
        await svc.remove(Id, { force: true, volumes: true }).catch(() => undefined);
        await fs.rm(marker, { force: true });
      };
      started(Id);
      try {
        const exited = svc.wait(Id, 'next-exit');
        await svc.start(Id);
        for await (const rec of readLogs(svc.logPath(Id), { follow: true, isDone: () => !svc.isRunning(Id), wake: wakeOn(engine, Id) })) output(rec.data);
        const { StatusCode } = await exited;
        return {
          containerId: Id,
          exitCode: StatusCode,
          remove,
          commit: async (config, createdBy, epoch) => {
            const layers = await engine.images.rootfsLayers(imageId);
            const img = await svc.withUpperDir(Id, false, async (_rec, upper, exclude) => {
              const stubs = await mountStubs(upper, layers, spec.mounts.map((m) => m.target));
              // The step's container is gone after this: its upper becomes the layer as it is.
              return engine.images.commit(upper, imageId, { config, createdBy, exclude: new Set([...exclude, ...stubs]), adopt: true, epoch });
            });
            // The layer is safe: the container goes while the next step runs (the build waits for it at the end).
            removals.push(remove());
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
      if (layers.length === 0) return { root: upper, upper, unmount: async () => undefined, release: () => release() };
      if (!writable && layers.length === 1) return { root: layers[0]!, unmount: async () => undefined, release: () => release() };
      const merged = join(dir, 'merged');
      if (writable) {
        // Volatile: the upper becomes a layer (or goes) as soon as the step
        // ends, and the layer store syncs no unpacked layer either; the sync
        // at unmount waited for a journal commit.
        await mountOverlay(layers, upper, join(dir, 'work'), merged, { volatile: true });
      } else {
        await mountOverlayReadOnly(layers, merged);
      }
      return { root: merged, ...(writable ? { upper } : {}), unmount: () => unmount(merged), release: () => release(merged) };
    },
    async pull(ref, output) {
      let r = parseReference(ref);
      if (!r.tag && !r.digest) r = { ...r, tag: 'latest' };
      return pullImage(engine.images, engine.registry(r.domain, authForDomain(logins, r.domain)), r, {
        progress: (m) => { if (m.status && !m.progressDetail?.current) output(`${m.id ? `${m.id}: ` : ''}${m.status}\n`); },
      });
    },
  };
}

/**
 * What the runtime created only to mount onto (`/run/secrets/x`, a cache
 * directory's target and the parents it needed): paths the image does not
 * have and that are still empty. They stay out of the layer, as BuildKit
 * removes its mount stubs.
 */
async function mountStubs(upper: string, layers: string[], targets: string[]): Promise<Set<string>> {
  const stubs = new Set<string>();
  const inImage = async (p: string): Promise<boolean> => {
    for (const l of layers) if (await fs.lstat(join(l, p)).catch(() => undefined)) return true;
    return false;
  };
  for (const target of targets) {
    for (let p = posix.normalize(target); p !== '/'; p = posix.dirname(p)) {
      if (stubs.has(p) || await inImage(p)) break;
      const st = await fs.lstat(join(upper, p)).catch(() => undefined);
      if (!st) break;
      const empty = st.isDirectory()
        ? (await fs.readdir(join(upper, p))).every((n) => stubs.has(posix.join(p, n)))
        : st.isFile() && st.size === 0;
      if (!empty) break;
      stubs.add(p);
    }
  }
  return stubs;
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

/** `cachefrom`: a JSON array of image references (the docker CLI's form). */
function cacheFromParam(v: string | null): string[] {
  if (!v) return [];
  let refs: unknown;
  try {
    refs = JSON.parse(v);
  } catch {
    throw new InvalidParameterError('invalid cachefrom: not a JSON array');
  }
  if (!Array.isArray(refs) || refs.some((r) => typeof r !== 'string')) throw new InvalidParameterError('invalid cachefrom: not a JSON array of strings');
  return (refs as string[]).filter(Boolean);
}

/**
 * POST /build: a tar context in, Docker's classic JSON stream out; or, when
 * the berth CLI asks with `berthevents=1`, BuildKit-style step events
 * (aux messages with id `berth.build.event`, see src/build/progress.ts).
 */
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
    pull: boolParam(q, 'pull'),
    network: q.get('networkmode') || undefined,
    extraHosts: (q.get('extrahosts') ?? '').split(',').map((h) => h.trim()).filter(Boolean),
    cacheFrom: cacheFromParam(q.get('cachefrom')),
  };
  const platform = q.get('platform');
  if (platform && !/^linux(\/amd64)?$/.test(platform)) throw new InvalidParameterError(`no match for platform ${platform}: only linux/amd64 can be built on this machine`);
  if (opts.network && !['default', 'bridge', 'host', 'none'].includes(opts.network)) throw new InvalidParameterError(`network mode "${opts.network}" not supported by buildkit`);
  if (opts.network === 'bridge') opts.network = 'default';
  const secrets = headerMap(ctx.req.headers['x-berth-build-secrets'], 'X-Berth-Build-Secrets');
  const ssh = headerMap(ctx.req.headers['x-berth-build-ssh'], 'X-Berth-Build-Ssh');
  for (const [id, sock] of ssh) {
    const st = await fs.stat(sock).catch(() => undefined);
    if (!st?.isSocket()) throw new InvalidParameterError(`--ssh ${id}: ${sock} is not a socket on the daemon's machine`);
  }
  if (ssh.size) opts.ssh = ssh;
  const remote = q.get('remote') || undefined;
  if (remote && !/^https?:\/\//.test(remote) && !isGitUrl(remote)) throw new InvalidParameterError(`unsupported remote context ${remote}: only git repositories and http(s) URLs to a tar or a Dockerfile can be built`);
  const quiet = boolParam(q, 'q');
  const structured = boolParam(q, 'berthevents');
  const out = res(ctx);
  // The classic stream starts with its first message, as dockerd's: a build
  // that fails before it says anything (a Dockerfile that does not parse, an
  // unknown target) is answered as an HTTP error, which the docker CLI
  // prints as `Error response from daemon: …`.
  const send = (m: object): void => {
    if (!out.headersSent) out.writeHead(200, { 'Content-Type': 'application/json' });
    out.write(JSON.stringify(m) + '\n');
  };
  // The berth CLI's display wants every failure as a step event, in BuildKit's words.
  if (structured) out.writeHead(200, { 'Content-Type': 'application/json' });
  // `-q`: the steps' output is kept and sent only if the build fails (dockerd's notVerboseBuffer).
  const kept: string[] = [];
  const say = (text: string): void => {
    if (structured) return;
    if (quiet) kept.push(text);
    else send({ stream: text });
  };
  const events = new BuildEvents(structured ? (e) => send({ id: BUILD_EVENT_ID, aux: e }) : undefined);
  const dir = join(buildTmpDir(engine), `ctx-${randomBytes(6).toString('hex')}`);
  // Secrets live on the exec root (a tmpfs on most systems), readable by root only, for this build only.
  const secretDir = join(secretsRoot(engine), randomBytes(6).toString('hex'));
  const received = Date.now();
  let host: ReturnType<typeof buildHost> | undefined;
  let failure: unknown;
  try {
    if (secrets.size) {
      await fs.mkdir(secretDir, { recursive: true, mode: 0o700 });
      opts.secrets = new Map();
      for (const [id, value] of secrets) {
        if (!/^[A-Za-z0-9._-]+$/.test(id)) throw new InvalidParameterError(`invalid secret id "${id}"`);
        const file = join(secretDir, id);
        await fs.writeFile(file, Buffer.from(value, 'base64'), { mode: 0o400 });
        opts.secrets.set(id, file);
      }
    }
    let bytes = 0;
    const count = new Transform({ transform(chunk: Buffer, _enc, cb) { bytes += chunk.length; cb(null, chunk); } });
    if (remote && isGitUrl(remote)) {
      // Cloned by berthd (docker-py and other API clients send git URLs as they are).
      try {
        await fs.rename(await cloneGitContext(remote, join(dir, 'git')), join(dir, 'context'));
      } catch (err) {
        if (err instanceof GitContextError) throw new BuildError(err.message);
        throw err;
      }
    } else if (remote) {
      const dockerfile = await fetchRemoteContext(remote, count, join(dir, 'context'));
      if (dockerfile) opts.dockerfile = dockerfile;
    } else {
      await receiveContext(ctx.req.pipe(count), join(dir, 'context'), contextMemory(engine));
    }
    let text: string;
    const definition = events.vertex(`[internal] load build definition from ${posix.basename(opts.dockerfile)}`);
    try {
      const file = await secureJoin(join(dir, 'context'), posix.normalize('/' + opts.dockerfile));
      text = await fs.readFile(file, 'utf8');
    } catch {
      definition.done(`failed to read dockerfile: open ${opts.dockerfile}: no such file or directory`);
      throw new BuildError(`Cannot locate specified Dockerfile: ${opts.dockerfile}`);
    }
    definition.sub(`transferring dockerfile: ${humanBytes(Buffer.byteLength(text))}`);
    definition.done();
    const ignore = events.vertex('[internal] load .dockerignore');
    const ignoreSize = (await fs.stat(join(dir, 'context', '.dockerignore')).catch(() => undefined))?.size ?? 0;
    ignore.sub(`transferring context: ${humanBytes(ignoreSize)}`);
    ignore.done();
    // The context came with the request: its vertex spans the upload.
    const context = events.vertex('[internal] load build context', undefined, received);
    context.sub(`transferring context: ${humanBytes(bytes)}`);
    context.done();
    host = buildHost(engine, decodeRegistryConfig([ctx.req.headers['x-registry-config']].flat()[0]));
    const img = await new Builder(host, say, events).build(join(dir, 'context'), text, opts);
    const exporting = events.vertex('exporting to image');
    exporting.sub('exporting layers');
    exporting.sub(`writing image ${img.id}`);
    send({ aux: { ID: img.id } });
    say(`Successfully built ${shortId(img.id)}\n`);
    for (const t of tags) {
      await engine.images.tag(img.id, t);
      exporting.sub(`naming to ${normalizedTag(t)}`);
      say(`Successfully tagged ${familiarString(parseReference(t))}\n`);
    }
    exporting.done();
    if (quiet && !structured) send({ stream: `${img.id}\n` });
  } catch (err) {
    for (const text of kept) send({ stream: text });
    if (out.headersSent) {
      const message = structured && err instanceof BuildError && err.buildkit ? err.buildkit : (err as Error).message;
      const code = err instanceof BuildError ? err.code : 1;
      send({ errorDetail: { code, message }, error: message });
    } else {
      failure = err;
    }
  } finally {
    await host?.settle();
    await releaseContext(join(dir, 'context')).catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    await fs.rm(secretDir, { recursive: true, force: true }).catch(() => undefined);
    if (failure === undefined) out.end();
  }
  if (failure !== undefined) throw failure;
}

/** The most memory one build's context may take on tmpfs before it goes to disk (default: an eighth of the machine's). */
function contextMemory(engine: Engine): number {
  return engine.config.buildContextMemory ?? Math.floor(totalmem() / 8);
}

function secretsRoot(engine: Engine): string {
  return join(engine.config.execRoot, 'build-secrets');
}

/** A header carrying a JSON object of strings (build secrets, ssh sockets). */
function headerMap(value: string | string[] | undefined, name: string): Map<string, string> {
  if (value === undefined) return new Map();
  try {
    const o = JSON.parse(Buffer.from(String(value), 'base64').toString('utf8')) as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || Object.values(o).some((v) => typeof v !== 'string')) throw new Error('not an object of strings');
    return new Map(Object.entries(o as Record<string, string>));
  } catch (err) {
    throw new InvalidParameterError(`invalid ${name} header: ${(err as Error).message}`);
  }
}

/**
 * A remote context: a tar (plain or compressed) is the context; anything else
 * is a Dockerfile with an empty context, as Docker decides. Returns the
 * Dockerfile's name in the latter case.
 */
async function fetchRemoteContext(url: string, count: Transform, dir: string): Promise<string | undefined> {
  let r: Response;
  try {
    r = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(300_000) });
  } catch (err) {
    throw new BuildError(`unable to prepare context: unable to download remote context ${url}: ${(err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message}`);
  }
  if (!r.ok || !r.body) throw new BuildError(`unable to prepare context: unable to download remote context ${url}: ${r.status} ${r.statusText}`);
  const body = Readable.fromWeb(r.body as import('node:stream/web').ReadableStream<Uint8Array>).pipe(count);
  const { head, stream } = await peek(body, 512);
  if (looksLikeTar(head)) {
    await extractContext(stream, dir);
    return undefined;
  }
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(join(dir, 'Dockerfile'), Buffer.concat(parts));
  return 'Dockerfile';
}

/** Sizes as BuildKit prints them: 104B, 2.35kB, 1.20MB. */
function humanBytes(n: number): string {
  if (n < 1000) return `${n}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v.toFixed(2)}${units[i]}`;
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
  // RUN --mount=type=cache directories go too (not one a running step uses), as BuildKit prunes them.
  const mounts = await cacheMounts(engine).prune();
  deleted.push(...mounts.deleted);
  return { CachesDeleted: deleted.length ? deleted : null, SpaceReclaimed: r.SpaceReclaimed + mounts.reclaimed };
}

export function cacheMounts(engine: Engine): CacheMounts {
  return new CacheMounts(join(engine.config.dataRoot, 'build', 'cache-mounts'));
}
