// The builder: a parsed Dockerfile executed stage by stage, each step a new
// image on top of the last (as Docker's classic builder does), with a cache
// of step → image that survives restarts. RUN runs in a real container whose
// upper directory becomes the step's layer; COPY and ADD write into an
// overlay of the stage's layers. Output is Docker's classic build stream.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join, posix } from 'node:path';
import type { ImageRecord, ImageStore, OciImageConfig } from '../image/image-store.js';
import type { ImageConfigBody } from '../image/changes.js';
import { parseHealthcheck } from '../image/changes.js';
import { EngineError, InvalidParameterError } from '../lib/errors.js';
import { readJson, writeJsonAtomic } from '../lib/atomic.js';
import { shortId } from '../lib/ids.js';
import { parseReference, withDefaultTag, fullString } from '../image/reference.js';
import { flagValue, flagValues, parseDockerfile, DockerfileParseError, type Instruction } from './dockerfile.js';
import { processKeyValues, processWord, processWords, SubstitutionError, type Lookup } from './shell-lex.js';
import { extractContext, hashSources } from './context.js';
import { copyInto, resolveSources } from './copy.js';
import { DockerIgnore } from './dockerignore.js';
import { looksLikeTar } from '../image/compression.js';
import { BuildEvents, type Vertex } from './progress.js';
import { CacheMounts } from './cache-mounts.js';
import { baseChain, CacheSources, INLINE_CACHE_KEY, type InlineCacheEntry } from './inline-cache.js';

export class BuildError extends EngineError {
  /** `buildkit`: the same failure in BuildKit's words, for the BuildKit-style display */
  constructor(message: string, readonly code = 1, readonly buildkit?: string) {
    super(400, message);
  }
}

/** Instructions BuildKit shows as steps of their own (`[2/5] COPY . /app`); the rest only change the config. */
const VERTEX_KEYWORDS = new Set(['RUN', 'COPY', 'ADD', 'WORKDIR']);

export interface BuildOptions {
  /** path of the Dockerfile inside the context */
  dockerfile: string;
  tags: string[];
  buildArgs: Record<string, string>;
  target?: string;
  noCache: boolean;
  labels: Record<string, string>;
  /** `--pull`: fetch every base image again, even one that is here */
  pull?: boolean;
  /** `--network`: the RUN steps' network unless a step says otherwise (default, host, none) */
  network?: string;
  /** `--add-host host:ip` for the RUN steps */
  extraHosts?: string[];
  /** `--secret id=…`: each secret's file on the host (private, removed after the build) */
  secrets?: Map<string, string>;
  /** `--ssh id=socket`: agent sockets `RUN --mount=type=ssh` may use */
  ssh?: Map<string, string>;
  /** `--cache-from`: images whose inline cache may stand in for steps (see inline-cache.ts) */
  cacheFrom?: string[];
}

export interface RunMount { type: 'bind' | 'tmpfs'; source?: string; target: string; readonly: boolean }

export interface RunSpec { cmd: string[]; env: string[]; workdir: string; user: string; network?: string; mounts: RunMount[]; extraHosts?: string[] }

/** What the builder needs from the engine (images, containers, mounts), injected so this layer never reaches up. */
export interface BuildHost {
  images: ImageStore;
  /** Run a RUN step; the result's `commit` turns the container's changes into an image and removes it. */
  run(imageId: string, spec: RunSpec, output: (chunk: Buffer) => void, started: (containerId: string) => void): Promise<{ containerId: string; exitCode: number; commit(config: ImageConfigBody, createdBy: string, epoch?: number): Promise<ImageRecord>; remove(): Promise<void> }>;
  /**
   * Mount an image's layers at a new directory: writable (its upper returned) or read-only.
   * `unmount` leaves the upper in place (to be committed); `release` removes everything.
   */
  mount(imageId: string | undefined, writable: boolean): Promise<{ root: string; upper?: string; unmount(): Promise<void>; release(): Promise<void> }>;
  /** FROM of an image that is not here. */
  pull(ref: string, output: (line: string) => void): Promise<ImageRecord>;
  cacheFile: string;
  /** where `RUN --mount=type=cache` directories live, one per cache id */
  cacheMountDir: string;
}

interface Stage {
  index: number;
  name?: string;
  from: Instruction;
  instructions: Instruction[];
}

interface StageState {
  imageId: string | undefined;
  config: ImageConfigBody & { Shell?: string[]; OnBuild?: string[] };
  /** ARGs declared in this stage with their values */
  args: Map<string, string>;
  /** this stage's output (stages run at once; their output is kept in order) */
  say: (text: string) => void;
  /** the step being run, for the BuildKit-style display */
  vertex?: Vertex;
  /** chain key of the last step (inline-cache.ts) */
  chain: string;
  /** the step being run's chain key, set by its cache lookup */
  pendingChain?: string;
  /** this stage's steps as an inline cache */
  inline: InlineCacheEntry[];
}

interface StepContext {
  contextDir: string;
  opts: BuildOptions;
  escape: string;
  globals: Map<string, string>;
  stages: Stage[];
  /** each needed stage's image id, once it is built */
  built: Map<number, Promise<string | undefined>>;
  file: string;
  /** the stage being built: it may use only stages before it */
  stageIndex: number;
}

/** Output of stages that run at once, shown one stage after another in Dockerfile order. */
class OrderedOutput {
  private head = 0;
  private readonly buffers = new Map<number, string[]>();
  private readonly finished = new Set<number>();

  constructor(private readonly order: number[], private readonly out: (text: string) => void) {}

  sink(stage: number): (text: string) => void {
    return (text) => {
      if (this.order[this.head] === stage) this.out(text);
      else (this.buffers.get(stage) ?? this.buffers.set(stage, []).get(stage)!).push(text);
    };
  }

  finish(stage: number): void {
    this.finished.add(stage);
    while (this.head < this.order.length && this.finished.has(this.order[this.head]!)) {
      this.head++;
      const next = this.order[this.head];
      if (next === undefined) break;
      for (const t of this.buffers.get(next) ?? []) this.out(t);
      this.buffers.delete(next);
    }
  }
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const PREDEFINED_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

function envMap(env: string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    m.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
  }
  return m;
}

function setEnv(env: string[] | undefined, key: string, value: string): string[] {
  return [...(env ?? []).filter((e) => e.split('=')[0] !== key), `${key}=${value}`];
}

/** Split a Dockerfile into stages; ARGs before the first FROM are global. */
function stagesOf(instructions: Instruction[]): { globalArgs: Instruction[]; stages: Stage[] } {
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      stages.push({ index: stages.length, from: ins, instructions: [] });
    } else if (stages.length === 0) {
      globalArgs.push(ins);
    } else {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** Cache entries under this prefix hold the chain key of an alias entry (see copy()), not an image. */
const CHAIN_OF = 'chain-of:';

export class Builder {
  private cache: Record<string, string> = {};
  private readonly platform = { os: 'linux', arch: 'amd64' };
  /** base images whose lookup has been shown (once per build, as BuildKit shows it) */
  private readonly lookedUp = new Set<string>();
  /** `--cache-from` images, by the chain keys of their steps */
  private readonly sources = new CacheSources();
  /** each stage's steps as an inline cache, once the stage is built */
  private readonly inlineOf = new Map<number, InlineCacheEntry[]>();

  constructor(private readonly host: BuildHost, private readonly say: (text: string) => void, private readonly events = new BuildEvents()) {}

  private async loadCache(): Promise<void> {
    try {
      this.cache = await readJson<Record<string, string>>(this.host.cacheFile);
    } catch {
      this.cache = {};
    }
  }

  private saving: Promise<void> = Promise.resolve();

  /** Stages run at once: their cache writes go one after another. */
  private async remember(key: string, imageId: string, extra: Record<string, string> = {}): Promise<void> {
    this.cache[key] = imageId;
    Object.assign(this.cache, extra);
    const write = async (): Promise<void> => {
      await fs.mkdir(posix.dirname(this.host.cacheFile), { recursive: true });
      await writeJsonAtomic(this.host.cacheFile, this.cache);
    };
    this.saving = this.saving.then(write, write);
    await this.saving;
  }

  private cached(key: string, noCache: boolean): ImageRecord | undefined {
    if (noCache) return undefined;
    const id = this.cache[key];
    return id ? this.host.images.tryResolve(id) : undefined;
  }

  /** `builder prune`: forget every cached step (the images stay until image prune or builder prune removes them). */
  static async forget(cacheFile: string): Promise<number> {
    let n = 0;
    try {
      n = Object.keys(await readJson<Record<string, string>>(cacheFile)).filter((k) => !k.startsWith(CHAIN_OF)).length;
    } catch { /* no cache yet */ }
    await fs.rm(cacheFile, { force: true });
    return n;
  }

  /**
   * SOURCE_DATE_EPOCH (a build arg, as BuildKit takes it): every image the
   * build makes is `created` then, and no file in its layers is newer. Part
   * of every cache key, so that a step cached without it is not reused.
   */
  private epoch: number | undefined;

  /** Build; returns the final image. */
  async build(contextDir: string, dockerfileText: string, opts: BuildOptions): Promise<ImageRecord> {
    await this.loadCache();
    const epochArg = opts.buildArgs.SOURCE_DATE_EPOCH;
    if (epochArg !== undefined && epochArg !== '') {
      if (!/^\d{1,12}$/.test(epochArg)) throw new BuildError(`invalid SOURCE_DATE_EPOCH: ${epochArg}: a number of seconds since 1970 is required`);
      this.epoch = Number(epochArg);
    }
    await this.loadCacheSources(opts.cacheFrom ?? []);
    let df;
    try {
      df = parseDockerfile(dockerfileText, opts.dockerfile);
    } catch (err) {
      if (err instanceof DockerfileParseError) throw new BuildError(err.message);
      throw err;
    }
    const { globalArgs, stages } = stagesOf(df.instructions);
    const escape = df.escape;
    // Global ARGs: their defaults, overridden by --build-arg; usable in FROM lines.
    const globals = new Map<string, string>();
    for (const a of globalArgs) {
      for (const [k, v] of this.argPairs(a, (n) => globals.get(n), escape)) globals.set(k, opts.buildArgs[k] ?? v ?? '');
    }
    const stageNames = stages.map((s) => {
      const words = processWords(s.from.rest, (n) => globals.get(n), escape);
      if (words.length !== 1 && !(words.length === 3 && words[1]!.toLowerCase() === 'as')) {
        throw new BuildError(`${opts.dockerfile}:${s.from.line}: FROM requires either one or three arguments`);
      }
      s.name = words[2]?.toLowerCase();
      return words;
    });
    let targetIndex = stages.length - 1;
    if (opts.target) {
      targetIndex = stages.findIndex((s) => s.name === opts.target!.toLowerCase());
      if (targetIndex < 0) throw new BuildError(`failed to reach build target ${opts.target} in Dockerfile`);
    }
    const needed = this.neededStages(stages, targetIndex, stageNames, escape);
    const order = stages.filter((s) => needed.has(s.index));
    const total = order.reduce((n, s) => n + 1 + s.instructions.length, 0);
    // Independent stages run at once; their output is shown stage after stage, as if sequential.
    const output = new OrderedOutput(order.map((s) => s.index), this.say);
    const built = new Map<number, Promise<string | undefined>>();
    let firstStep = 1;
    for (const stage of order) {
      const ctx: StepContext = { contextDir, opts, escape, globals, stages, built, file: opts.dockerfile, stageIndex: stage.index };
      const run = this.runStage(stage, stageNames[stage.index]![0]!, firstStep, total, stage.index === targetIndex, output.sink(stage.index), ctx)
        .finally(() => output.finish(stage.index));
      run.catch(() => undefined);
      built.set(stage.index, run);
      firstStep += 1 + stage.instructions.length;
    }
    const results = await Promise.allSettled([...built.values()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const id = await built.get(targetIndex)!;
    if (!id) throw new BuildError('the target stage is an empty scratch image: nothing to tag');
    const last = this.host.images.tryResolve(id);
    if (!last) throw new BuildError('no image was built');
    if (!/^(1|true)$/i.test(opts.buildArgs.BUILDKIT_INLINE_CACHE ?? '')) return last;
    // The final stage's steps go into the image's config, for --cache-from elsewhere.
    return this.host.images.register({
      config: { ...last.config, [INLINE_CACHE_KEY]: this.inlineOf.get(targetIndex) ?? [] } as OciImageConfig,
      layerBlobs: last.layerBlobs,
      ...(last.parent ? { parent: last.parent } : {}),
      event: '',
    });
  }

  /** `--cache-from`: each image (pulled when it is not here) and the steps its inline cache offers. */
  private async loadCacheSources(refs: string[]): Promise<void> {
    for (const ref of refs) {
      const vertex = this.events.vertex(`importing cache manifest from ${ref}`);
      // In both displays: the classic stream and the step's log.
      const warn = (text: string): void => {
        this.say(`WARNING: ${text}\n`);
        vertex.log(`WARNING: ${text}\n`);
      };
      try {
        const img = this.host.images.tryResolve(ref) ?? await this.host.pull(ref, () => undefined);
        const n = this.sources.add(img);
        if (n === 0) warn(`${ref} has no inline cache (build it with --build-arg BUILDKIT_INLINE_CACHE=1)`);
        vertex.done();
      } catch (err) {
        // As BuildKit: a cache source that cannot be had is not an error of the build.
        warn(`failed to import cache ${ref}: ${(err as Error).message}`);
        vertex.done();
      }
    }
  }

  /**
   * A step's cached image: from the local cache by `key`, else from a
   * --cache-from image by the step's chain key (`parts` without the parent).
   * Either way the chain key is noted for the step (see advance()).
   */
  private async lookup(st: StageState, key: string, parts: unknown[], noCache: boolean, config: StageState['config']): Promise<ImageRecord | undefined> {
    const chain = this.key([st.chain, ...parts]);
    st.pendingChain = chain;
    if (noCache) return undefined;
    const local = this.cached(key, false);
    if (local || this.sources.size === 0) return local;
    const parent = st.imageId ? this.host.images.tryResolve(st.imageId) : undefined;
    const hit = this.sources.find(chain, parent?.config.rootfs.diff_ids ?? []);
    if (!hit || hit.history <= (parent?.config.history?.length ?? 0)) return undefined;
    // The step's image, rebuilt from the source's first layers and history and this build's config.
    const src = hit.image.config;
    const history = (src.history ?? []).slice(0, hit.history);
    const img = await this.host.images.register({
      config: {
        architecture: src.architecture, os: src.os, ...(src.variant ? { variant: src.variant } : {}),
        created: history[history.length - 1]?.created ?? src.created,
        config,
        rootfs: { type: 'layers', diff_ids: src.rootfs.diff_ids.slice(0, hit.layers) },
        history,
      },
      layerBlobs: hit.image.layerBlobs.slice(0, hit.layers),
      ...(st.imageId ? { parent: st.imageId } : {}),
      event: '',
    });
    await this.remember(key, img.id);
    return img;
  }

  /** After a step: its chain key becomes the stage's, and the step an inline cache entry. */
  private advance(st: StageState): void {
    if (st.pendingChain === undefined) {
      // A step without a cache lookup: nothing after it can be matched elsewhere.
      st.chain = `unmatched:${randomUUID()}`;
      return;
    }
    st.chain = st.pendingChain;
    st.pendingChain = undefined;
    const img = st.imageId ? this.host.images.tryResolve(st.imageId) : undefined;
    st.inline.push({ chain: st.chain, layers: img?.layers.length ?? 0, history: img?.config.history?.length ?? 0 });
  }

  /** One stage, from its FROM to its last instruction; resolves to its image id. */
  private async runStage(stage: Stage, base: string, firstStep: number, total: number, isTarget: boolean, say: (t: string) => void, ctx: StepContext): Promise<string | undefined> {
    const { opts } = ctx;
    let step = firstStep;
    // BuildKit's step names: `[builder 2/4] RUN …`, the stage's own count, FROM being 1.
    const prefix = stage.name ? `${stage.name} ` : ctx.stages.length > 1 ? `stage-${stage.index} ` : '';
    const steps = 1 + stage.instructions.filter((i) => VERTEX_KEYWORDS.has(i.keyword)).length;
    let vertexStep = 1;
    say(`Step ${step++}/${total} : ${stage.from.original}\n`);
    const st = await this.from(base, ctx, say, `[${prefix}${vertexStep++}/${steps}]`, stage.from.line);
    say(` ---> ${st.imageId ? shortId(st.imageId) : 'scratch'}\n`);
    // The base image's ONBUILD triggers run first; the new image does not inherit them.
    const triggers = st.config.OnBuild ?? [];
    if (triggers.length) {
      say(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
      const { OnBuild: _done, ...rest } = st.config;
      void _done;
      st.config = rest;
      for (const t of triggers) {
        let trigger: Instruction;
        try {
          trigger = parseDockerfile(`FROM scratch\n${t}`, opts.dockerfile).instructions[1]!;
        } catch (err) {
          throw new BuildError(`invalid ONBUILD trigger "${t}" in ${base}: ${(err as Error).message}`);
        }
        await this.traced(st, VERTEX_KEYWORDS.has(trigger.keyword) ? `[${prefix}ONBUILD] ${t}` : undefined, stage.from.line, () => this.step(trigger, st, ctx));
        this.advance(st);
      }
    }
    for (const ins of stage.instructions) {
      say(`Step ${step++}/${total} : ${ins.original}\n`);
      const name = VERTEX_KEYWORDS.has(ins.keyword) ? `[${prefix}${vertexStep++}/${steps}] ${ins.original}` : undefined;
      await this.traced(st, name, ins.line, () => this.step(ins, st, ctx));
      this.advance(st);
      say(` ---> ${st.imageId ? shortId(st.imageId) : 'scratch'}\n`);
    }
    this.inlineOf.set(stage.index, st.inline);
    // Labels from --label go on the final image only.
    if (isTarget && Object.keys(opts.labels).length) {
      st.config = { ...st.config, Labels: { ...(st.config.Labels ?? {}), ...opts.labels } };
      st.imageId = (await this.host.images.derive(st.imageId, { config: st.config, createdBy: 'LABEL ' + Object.entries(opts.labels).map(([k, v]) => `${k}=${v}`).join(' '), epoch: this.epoch })).id;
    }
    return st.imageId;
  }

  /** Run one step as a vertex of the display (when it is one): started, then cached, done or failed. */
  private async traced(st: StageState, name: string | undefined, line: number, work: () => Promise<void>): Promise<void> {
    st.vertex = name ? this.events.vertex(name, line) : undefined;
    try {
      await work();
      st.vertex?.done();
    } catch (err) {
      st.vertex?.done(err instanceof BuildError && err.buildkit ? err.buildkit : (err as Error).message);
      throw err;
    } finally {
      st.vertex = undefined;
    }
  }

  private argPairs(ins: Instruction, lookup: Lookup, escape: string): [string, string | undefined][] {
    const out: [string, string | undefined][] = [];
    for (const word of ins.rest.trim().split(/\s+/)) {
      const i = word.indexOf('=');
      if (i < 0) out.push([word, undefined]);
      else out.push([word.slice(0, i), processWord(word.slice(i + 1), lookup, escape)]);
    }
    return out;
  }

  /** Stages the target needs: itself, stages it is FROM, stages it copies from, transitively. */
  private neededStages(stages: Stage[], target: number, names: string[][], escape: string): Set<number> {
    const need = new Set<number>();
    const byRef = (ref: string): Stage | undefined => stages.find((s) => s.name === ref.toLowerCase()) ?? (/^\d+$/.test(ref) ? stages[Number(ref)] : undefined);
    const visit = (i: number): void => {
      if (need.has(i)) return;
      need.add(i);
      const parent = byRef(names[i]![0]!);
      if (parent && parent.index < i) visit(parent.index);
      for (const ins of stages[i]!.instructions) {
        const froms: string[] = [];
        if (ins.keyword === 'COPY' || ins.keyword === 'ADD') {
          const f = flagValue(ins, 'from');
          if (f !== undefined) froms.push(processWord(f, () => undefined, escape));
        }
        if (ins.keyword === 'RUN') {
          for (const m of flagValues(ins, 'mount')) {
            const f = /(?:^|,)from=([^,]+)/.exec(m)?.[1];
            if (f) froms.push(f);
          }
        }
        for (const f of froms) {
          const dep = byRef(f);
          // Only earlier stages: a later one would wait for this one forever.
          if (dep && dep.index < i) visit(dep.index);
        }
      }
    };
    visit(target);
    return need;
  }

  private async from(base: string, ctx: StepContext, say: (t: string) => void, stepName: string, line: number): Promise<StageState> {
    const { stages, built } = ctx;
    const fresh = (img: ImageRecord | undefined): StageState => ({
      imageId: img?.id,
      config: structuredClone(img?.config.config ?? {}),
      args: new Map(),
      say,
      chain: baseChain(img?.id),
      inline: [],
    });
    if (base.toLowerCase() === 'scratch') return fresh(undefined);
    const stage = stages.find((s) => s.name === base.toLowerCase());
    const parent = stage ? built.get(stage.index) : undefined;
    if (parent) {
      const id = await parent;
      return fresh(id ? this.host.images.tryResolve(id) : undefined);
    }
    // An image: BuildKit shows its lookup, then the FROM step (with the pull's output, if any).
    let ref = base;
    try {
      const r = parseReference(base);
      ref = fullString(withDefaultTag(r));
    } catch { /* refused below, by the image store or the pull */ }
    if (!this.lookedUp.has(ref)) {
      this.lookedUp.add(ref);
      this.events.vertex(`[internal] load metadata for ${ref}`).done();
    }
    const local = ctx.opts.pull ? undefined : this.host.images.tryResolve(base);
    const vertex = this.events.vertex(`${stepName} FROM ${ref}`, line);
    try {
      const img = local ?? await this.host.pull(base, (text) => { say(text); vertex.log(text); });
      vertex.done();
      return fresh(img);
    } catch (err) {
      vertex.done((err as Error).message);
      throw err;
    }
  }

  private async step(ins: Instruction, st: StageState, ctx: StepContext): Promise<void> {
    const { escape, opts } = ctx;
    const env = envMap(st.config.Env);
    // ENV wins over ARG, as in Docker.
    const lookup: Lookup = (n) => env.get(n) ?? st.args.get(n);
    const where = `${ctx.file}:${ins.line}`;
    const fail = (msg: string): never => { throw new BuildError(`${where}: ${msg}`); };
    try {
      switch (ins.keyword) {
        case 'ARG': {
          for (const [k, v] of this.argPairs(ins, lookup, escape)) {
            const value = opts.buildArgs[k] ?? v ?? ctx.globals.get(k) ?? (PREDEFINED_ARGS.includes(k) ? process.env[k] : undefined) ?? this.predefined(k);
            if (value !== undefined) st.args.set(k, value);
            else st.args.set(k, '');
          }
          await this.metadata(st, ins, st.config, `ARG ${ins.rest}`);
          return;
        }
        case 'ENV': {
          let config = st.config;
          for (const [k, v] of processKeyValues(ins.rest, lookup, escape)) {
            config = { ...config, Env: setEnv(config.Env, k, v) };
            env.set(k, v);
          }
          await this.metadata(st, ins, config, `ENV ${ins.rest}`);
          return;
        }
        case 'LABEL': {
          const labels = { ...(st.config.Labels ?? {}) };
          for (const [k, v] of processKeyValues(ins.rest, lookup, escape, false)) labels[k] = v;
          await this.metadata(st, ins, { ...st.config, Labels: labels }, `LABEL ${ins.rest}`);
          return;
        }
        case 'MAINTAINER':
          await this.metadata(st, ins, st.config, `MAINTAINER ${ins.rest}`);
          return;
        case 'WORKDIR': {
          const dir = processWord(ins.rest, lookup, escape);
          const abs = posix.resolve(st.config.WorkingDir || '/', dir);
          await this.metadata(st, ins, { ...st.config, WorkingDir: abs }, `WORKDIR ${abs}`);
          return;
        }
        case 'USER':
          await this.metadata(st, ins, { ...st.config, User: processWord(ins.rest, lookup, escape) }, `USER ${ins.rest}`);
          return;
        case 'EXPOSE': {
          const ports = { ...(st.config.ExposedPorts ?? {}) };
          for (const p of processWords(ins.rest, lookup, escape)) {
            if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) fail(`invalid containerPort: ${p}`);
            ports[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
          }
          await this.metadata(st, ins, { ...st.config, ExposedPorts: ports }, `EXPOSE ${ins.rest}`);
          return;
        }
        case 'VOLUME': {
          const vols = { ...(st.config.Volumes ?? {}) };
          for (const v of ins.json ?? processWords(ins.rest, lookup, escape)) {
            if (!v) fail('VOLUME specified can not be an empty string');
            vols[v] = {};
          }
          await this.metadata(st, ins, { ...st.config, Volumes: vols }, `VOLUME ${JSON.stringify(Object.keys(vols))}`);
          return;
        }
        case 'STOPSIGNAL':
          await this.metadata(st, ins, { ...st.config, StopSignal: processWord(ins.rest, lookup, escape) }, `STOPSIGNAL ${ins.rest}`);
          return;
        case 'CMD':
        case 'ENTRYPOINT': {
          const shell = st.config.Shell ?? DEFAULT_SHELL;
          const argv = ins.json ?? (ins.rest ? [...shell, ins.rest] : []);
          const config = ins.keyword === 'CMD' ? { ...st.config, Cmd: argv } : { ...st.config, Entrypoint: argv, ...(st.config.Cmd ? { Cmd: null } : {}) };
          await this.metadata(st, ins, config, `${ins.keyword} ${JSON.stringify(argv)}`);
          return;
        }
        case 'SHELL':
          await this.metadata(st, ins, { ...st.config, Shell: ins.json! }, `SHELL ${JSON.stringify(ins.json)}`);
          return;
        case 'HEALTHCHECK': {
          const flags = ins.flags.map((f) => `--${f.name}=${f.value ?? ''}`).join(' ');
          const h = parseHealthcheck(`${flags} ${ins.rest}`.trim());
          await this.metadata(st, ins, { ...st.config, Healthcheck: h }, `HEALTHCHECK ${ins.rest}`);
          return;
        }
        case 'ONBUILD':
          await this.metadata(st, ins, { ...st.config, OnBuild: [...(st.config.OnBuild ?? []), ins.rest] }, `ONBUILD ${ins.rest}`);
          return;
        case 'RUN':
          await this.run(ins, st, ctx);
          return;
        case 'COPY':
        case 'ADD':
          await this.copy(ins, st, lookup, ctx);
          return;
        default:
          fail(`unknown instruction: ${ins.keyword}`);
      }
    } catch (err) {
      if (err instanceof SubstitutionError) throw new BuildError(`${where}: ${err.message}`);
      throw err;
    }
  }

  private predefined(name: string): string | undefined {
    const p = `${this.platform.os}/${this.platform.arch}`;
    const values: Record<string, string> = {
      TARGETPLATFORM: p, TARGETOS: this.platform.os, TARGETARCH: this.platform.arch, TARGETVARIANT: '',
      BUILDPLATFORM: p, BUILDOS: this.platform.os, BUILDARCH: this.platform.arch, BUILDVARIANT: '',
    };
    return values[name];
  }

  private key(parts: unknown[]): string {
    const all = this.epoch === undefined ? parts : [...parts, { epoch: this.epoch }];
    return `sha256:${createHash('sha256').update(JSON.stringify(all)).digest('hex')}`;
  }

  /** A step that only changes the config: cached like any other, no layer. */
  private async metadata(st: StageState, ins: Instruction, config: StageState['config'], createdBy: string): Promise<void> {
    const parts = ['meta', ins.keyword, ins.original, config, [...st.args]];
    const key = this.key([st.imageId ?? 'scratch', ...parts]);
    const hit = await this.lookup(st, key, parts, false, config);
    if (hit) {
      usingCache(st);
      st.imageId = hit.id;
      st.config = config;
      return;
    }
    const img = await this.host.images.derive(st.imageId, { config, createdBy: `/bin/sh -c #(nop) ${createdBy}`, epoch: this.epoch });
    await this.remember(key, img.id);
    st.imageId = img.id;
    st.config = config;
  }

  private async run(ins: Instruction, st: StageState, ctx: StepContext): Promise<void> {
    const shell = st.config.Shell ?? DEFAULT_SHELL;
    let argv: string[];
    if (ins.json) {
      argv = ins.json;
    } else if (ins.heredocs.length) {
      if (ins.rest.replace(/<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?/g, '').trim() === '') {
        // RUN <<EOF alone: the heredoc is the script.
        argv = [...shell, ins.heredocs.map((h) => h.content).join('')];
      } else {
        // RUN cmd <<EOF: the line and its heredocs go to the shell as written, which feeds them (as BuildKit does).
        argv = [...shell, [ins.rest, ...ins.heredocs.map((h) => `${h.content}${h.content.endsWith('\n') || !h.content ? '' : '\n'}${h.name}`)].join('\n')];
      }
    } else {
      argv = [...shell, ins.rest];
    }
    if (!st.imageId) throw new BuildError(`${ctx.file}:${ins.line}: RUN in a stage FROM scratch has nothing to run`);
    // ARG values are in the environment of RUN (not in the image).
    const env = [...(st.config.Env ?? [])];
    const envKeys = new Set(env.map((e) => e.split('=')[0]));
    for (const [k, v] of st.args) if (!envKeys.has(k)) env.push(`${k}=${v}`);
    const network = flagValue(ins, 'network') ?? ctx.opts.network;
    if (network !== undefined && !['default', 'none', 'host'].includes(network)) throw new BuildError(`${ctx.file}:${ins.line}: unsupported network mode ${network}`);
    const { mounts, identity, env: mountEnv, release } = await this.runMounts(ins, st, ctx);
    try {
      const parts = ['run', argv, env, st.config.WorkingDir ?? '', st.config.User ?? '', network ?? '', identity];
      const key = this.key([st.imageId, ...parts]);
      // Secrets as variables reach the step only; their values are not part of the key (as BuildKit).
      env.push(...mountEnv);
      const hit = await this.lookup(st, key, parts, ctx.opts.noCache, st.config);
      if (hit) {
        usingCache(st);
        st.imageId = hit.id;
        return;
      }
      await this.runStep(ins, st, argv, env, shell, network, mounts, key, ctx.opts.extraHosts);
    } finally {
      await release();
    }
  }

  /**
   * `RUN --mount`: cache directories kept between builds (by id, else by
   * target), bind mounts of the context or another stage (read-only unless
   * rw), tmpfs. Mounted only for the step; never part of its layer.
   */
  private async runMounts(ins: Instruction, st: StageState, ctx: StepContext): Promise<{ mounts: RunMount[]; identity: unknown[]; env: string[]; release(): Promise<void> }> {
    const mounts: RunMount[] = [];
    const envFromMounts: string[] = [];
    const identity: unknown[] = [];
    const releases: (() => Promise<void>)[] = [];
    const where = `${ctx.file}:${ins.line}`;
    try {
      for (const spec of flagValues(ins, 'mount')) {
        const opts = new Map<string, string>();
        for (const part of spec.split(',')) {
          const i = part.indexOf('=');
          opts.set((i < 0 ? part : part.slice(0, i)).trim().toLowerCase(), i < 0 ? 'true' : part.slice(i + 1).trim());
        }
        const type = opts.get('type') ?? 'bind';
        if (!['cache', 'tmpfs', 'bind', 'secret', 'ssh'].includes(type)) throw new BuildError(`${where}: unsupported mount type "${type}"`);
        const flag = (k: string): boolean => ['true', '1', ''].includes(opts.get(k) ?? 'false');
        if (type === 'secret' || type === 'ssh') {
          // Secrets and agent sockets: mounted for the step, never in the layer, never in the cache key's content.
          const id = opts.get('id') ?? (type === 'ssh' ? 'default' : undefined);
          const target = opts.get('target') ?? opts.get('dst') ?? (type === 'secret' && id ? `/run/secrets/${id}` : type === 'ssh' ? '/run/buildkit/ssh_agent.0' : undefined);
          if (!id && !target) throw new BuildError(`${where}: secret ID missing from mount options`);
          const secretId = id ?? posix.basename(target!);
          const source = (type === 'secret' ? ctx.opts.secrets : ctx.opts.ssh)?.get(secretId);
          if (!source) {
            if (flag('required') || type === 'ssh') {
              throw new BuildError(type === 'ssh'
                ? `${where}: no SSH key "${secretId}" forwarded from the client (use --ssh ${secretId})`
                : `${where}: secret ${secretId} not found (use --secret id=${secretId},src=FILE)`);
            }
            continue;
          }
          const abs = posix.resolve(st.config.WorkingDir || '/', target ?? `/run/secrets/${secretId}`);
          if (type === 'secret' && opts.has('env')) envFromMounts.push(`${opts.get('env')}=${await fs.readFile(source, 'utf8')}`);
          if (type === 'secret' && opts.has('env') && !opts.has('target')) {
            identity.push(['secret-env', secretId, opts.get('env')]);
            continue;
          }
          let from = source;
          if (type === 'secret' && (opts.has('uid') || opts.has('gid') || opts.has('mode'))) {
            // Owner and mode for this step only: a private copy next to the secret.
            from = `${source}.${randomBytes(4).toString('hex')}`;
            await fs.copyFile(source, from);
            await fs.chown(from, Number(opts.get('uid') ?? 0), Number(opts.get('gid') ?? 0));
            await fs.chmod(from, parseInt(opts.get('mode') ?? '0400', 8));
            releases.push(() => fs.rm(from, { force: true }));
          }
          mounts.push({ type: 'bind', source: from, target: abs, readonly: true });
          if (type === 'ssh') envFromMounts.push(`SSH_AUTH_SOCK=${abs}`);
          identity.push([type, secretId, abs]);
          continue;
        }
        const target = opts.get('target') ?? opts.get('dst') ?? opts.get('destination');
        if (!target) throw new BuildError(`${where}: mount target is required: --mount=${spec}`);
        const abs = posix.resolve(st.config.WorkingDir || '/', target);
        if (type === 'cache') {
          const id = opts.get('id') || abs;
          const cache = await new CacheMounts(this.host.cacheMountDir).acquire(id, {
            uid: Number(opts.get('uid') ?? 0), gid: Number(opts.get('gid') ?? 0), ...(opts.has('mode') ? { mode: parseInt(opts.get('mode')!, 8) } : {}),
          });
          releases.push(async () => cache.release());
          mounts.push({ type: 'bind', source: cache.dir, target: abs, readonly: flag('readonly') || flag('ro') });
          identity.push(['cache', id, abs]);
        } else if (type === 'tmpfs') {
          mounts.push({ type: 'tmpfs', target: abs, readonly: false });
          identity.push(['tmpfs', abs]);
        } else if (type === 'bind') {
          const from = opts.get('from');
          let root = ctx.contextDir;
          let rootId = 'context';
          if (from) {
            const stage = ctx.stages.find((s) => s.name === from.toLowerCase()) ?? (/^\d+$/.test(from) ? ctx.stages[Number(from)] : undefined);
            if (stage && (!ctx.built.has(stage.index) || stage.index >= ctx.stageIndex)) throw new BuildError(`${where}: invalid from flag value ${from}: stage ${from} is not built before this one`);
            const imageId = stage ? await ctx.built.get(stage.index)! : (this.host.images.tryResolve(from) ?? await this.host.pull(from, st.say)).id;
            const m = await this.host.mount(imageId, false);
            releases.push(() => m.release());
            root = m.root;
            rootId = imageId ?? 'scratch';
          }
          const source = opts.get('source') ?? opts.get('src') ?? '.';
          const { secureJoin } = await import('../lib/secure-join.js');
          const host = await secureJoin(root, source);
          if (!(await fs.stat(host).catch(() => undefined))) throw new BuildError(`${where}: failed to compute cache key: "/${source.replace(/^\/+/, '')}" not found`);
          mounts.push({ type: 'bind', source: host, target: abs, readonly: !(flag('rw') || flag('readwrite')) });
          identity.push(['bind', rootId, await hashSources(root, [posix.relative(root, host) || '.']), abs]);
        } else {
          throw new BuildError(`${where}: RUN --mount=type=${type} is not supported yet`);
        }
      }
    } catch (err) {
      for (const r of releases) await r();
      throw err;
    }
    return { mounts, identity, env: envFromMounts, release: async () => { for (const r of releases) await r(); } };
  }

  private async runStep(ins: Instruction, st: StageState, argv: string[], env: string[], shell: string[], network: string | undefined, mounts: RunMount[], key: string, extraHosts: string[] | undefined): Promise<void> {
    const run = await this.host.run(st.imageId!, { cmd: argv, env, workdir: st.config.WorkingDir || '/', user: st.config.User ?? '', network, mounts, ...(extraHosts?.length ? { extraHosts } : {}) },
      (chunk) => { const text = chunk.toString('utf8'); st.say(text); st.vertex?.log(text); }, (id) => st.say(` ---> Running in ${shortId(id)}\n`));
    if (run.exitCode !== 0) {
      await run.remove();
      const shown = ins.json ? JSON.stringify(argv) : `${shell.join(' ')} ${argv[argv.length - 1]}`;
      const process = ins.json ? JSON.stringify(argv) : JSON.stringify(`${shell.join(' ')} ${argv[argv.length - 1]}`).slice(1, -1);
      throw new BuildError(`The command '${shown}' returned a non-zero code: ${run.exitCode}`, run.exitCode,
        `process "${process}" did not complete successfully: exit code: ${run.exitCode}`);
    }
    const createdBy = ins.json ? `RUN ${JSON.stringify(argv)}` : `RUN ${shell.join(' ')} ${argv[argv.length - 1]}`;
    const img = await run.commit(st.config, `${createdBy}`, this.epoch);
    st.say(`Removing intermediate container ${shortId(run.containerId)}\n`);
    await this.remember(key, img.id);
    st.imageId = img.id;
  }

  private async copy(ins: Instruction, st: StageState, lookup: Lookup, ctx: StepContext): Promise<void> {
    const what = ins.keyword;
    const where = `${ctx.file}:${ins.line}`;
    const checksum = what === 'ADD' ? flagValue(ins, 'checksum') : undefined;
    if (checksum !== undefined && !/^sha(256|384|512):[a-f0-9]+$/.test(checksum)) throw new BuildError(`${where}: invalid checksum digest format: ${checksum}`);
    const words = ins.json ?? processWords(ins.rest, lookup, ctx.escape);
    const heredocs = ins.heredocs;
    const sources = heredocs.length ? [] : words.slice(0, -1);
    const destWord = words[words.length - 1];
    if (!destWord || (!heredocs.length && sources.length === 0)) throw new BuildError(`${where}: ${what} requires at least two arguments, but only one was provided. Destination could not be determined`);
    const urls = sources.filter((s) => /^https?:\/\//.test(s));
    if (urls.length) {
      if (what === 'COPY') throw new BuildError(`${where}: source can't be a URL for COPY`);
      if (urls.length !== sources.length) throw new BuildError(`${where}: ADD with both URLs and local files is not supported yet`);
      if (flagValue(ins, 'from') !== undefined) throw new BuildError(`${where}: ADD --from cannot take a URL`);
    }
    if (checksum !== undefined && (!urls.length || urls.length > 1)) throw new BuildError(`${where}: checksum can't be specified for non-HTTP(S) sources`);
    const dest = posix.resolve(st.config.WorkingDir || '/', destWord) + (destWord.endsWith('/') || destWord.endsWith('/.') ? '/' : '');
    const chownSpec = flagValue(ins, 'chown');
    const chmodSpec = flagValue(ins, 'chmod');
    let mode: number | undefined;
    if (chmodSpec !== undefined) {
      if (!/^[0-7]{3,4}$/.test(chmodSpec)) throw new BuildError(`${where}: invalid chmod parameter: ${chmodSpec}`);
      mode = parseInt(chmodSpec, 8);
    }
    const excludeFlags = flagValues(ins, 'exclude').map((p) => processWord(p, lookup, ctx.escape));
    const exclude = excludeFlags.length ? new DockerIgnore(excludeFlags.join('\n')) : undefined;
    // Where the sources come from: the context, another stage, or an image.
    const fromRef = flagValue(ins, 'from');
    let srcMount: { root: string; release(): Promise<void> } | undefined;
    let srcRoot = ctx.contextDir;
    let srcIdentity = 'context';
    let fromImage: string | undefined;
    if (fromRef !== undefined) {
      const ref = processWord(fromRef, lookup, ctx.escape);
      const stage = ctx.stages.find((s) => s.name === ref.toLowerCase()) ?? (/^\d+$/.test(ref) ? ctx.stages[Number(ref)] : undefined);
      let imageId: string | undefined;
      if (stage) {
        if (!ctx.built.has(stage.index) || stage.index >= ctx.stageIndex) {
          throw new BuildError(`${where}: invalid from flag value ${ref}: stage ${ref} is not built before this one`);
        }
        imageId = await ctx.built.get(stage.index)!;
      } else {
        try {
          imageId = (this.host.images.tryResolve(ref) ?? await this.host.pull(ref, st.say)).id;
        } catch (err) {
          // Neither a stage nor an image that can be had: dockerd's words, with the pull's reason.
          throw new BuildError(`${where}: invalid from flag value ${ref}: ${(err as Error).message}`, 1, (err as Error).message);
        }
      }
      fromImage = imageId;
      // The files' content decides the key (see below), not which image they came from.
      srcIdentity = 'from';
    }
    // COPY --from an image this step has already copied from, with the same words:
    // the same files, so the same result, without mounting the image to hash them.
    const aliasKey = fromImage !== undefined && !heredocs.length && !urls.length
      ? this.key([st.imageId ?? 'scratch', what, 'from-image', fromImage, sources, dest, chownSpec ?? '', chmodSpec ?? '', excludeFlags])
      : undefined;
    const alias = (imageId: string): Record<string, string> => (aliasKey ? { [aliasKey]: imageId, [CHAIN_OF + aliasKey]: st.pendingChain ?? '' } : {});
    if (aliasKey && !ctx.opts.noCache) {
      const hit = this.cached(aliasKey, false);
      const chain = this.cache[CHAIN_OF + aliasKey];
      if (hit && chain) {
        st.pendingChain = chain;
        usingCache(st);
        st.imageId = hit.id;
        return;
      }
    }
    if (fromImage !== undefined) {
      srcMount = await this.host.mount(fromImage, false);
      srcRoot = srcMount.root;
    }
    try {
      let heredocDir: string | undefined;
      let resolved: string[];
      if (heredocs.length) {
        // COPY <<EOF /path: the heredoc is the file.
        heredocDir = join(posix.dirname(ctx.contextDir), `.heredoc-${randomBytes(6).toString('hex')}`);
        await fs.mkdir(heredocDir, { recursive: true });
        for (const h of heredocs) {
          const content = h.expand ? processHeredoc(h.content, lookup, ctx.escape) : h.content;
          await fs.writeFile(join(heredocDir, h.name), content, { mode: 0o644 });
        }
        srcRoot = heredocDir;
        resolved = heredocs.map((h) => h.name);
      } else if (urls.length) {
        // ADD https://…: downloaded as files (mode 600, mtime from Last-Modified), never extracted.
        heredocDir = join(posix.dirname(ctx.contextDir), `.download-${randomBytes(6).toString('hex')}`);
        await fs.mkdir(heredocDir, { recursive: true });
        resolved = [];
        for (const u of urls) resolved.push(await download(u, heredocDir, where));
        if (checksum !== undefined) {
          const [algo, want] = checksum.split(':') as [string, string];
          const h = createHash(algo);
          for await (const c of createReadStream(join(heredocDir, resolved[0]!)) as AsyncIterable<Buffer>) h.update(c);
          const got = h.digest('hex');
          if (got !== want) throw new BuildError(`${where}: digest mismatch for ${urls[0]}: expected ${checksum}, got ${algo}:${got}`);
        }
        srcRoot = heredocDir;
      } else {
        resolved = await resolveSources(srcRoot, sources, what);
      }
      const contentHash = await hashSources(srcRoot, resolved, exclude);
      const parts = [what, srcIdentity, contentHash, dest, chownSpec ?? '', chmodSpec ?? '', resolved.length > 1 || sources.some((s) => /[*?[]/.test(s)), excludeFlags];
      const key = this.key([st.imageId ?? 'scratch', ...parts]);
      const hit = await this.lookup(st, key, parts, ctx.opts.noCache, st.config);
      if (hit) {
        usingCache(st);
        st.imageId = hit.id;
        if (aliasKey) await this.remember(aliasKey, hit.id, alias(hit.id));
        return;
      }
      const target = await this.host.mount(st.imageId, true);
      try {
        let uid = 0;
        let gid = 0;
        if (chownSpec) {
          const { resolveUser } = await import('../container/user.js');
          try {
            const u = await resolveUser(target.root, chownSpec);
            uid = u.uid;
            gid = chownSpec.includes(':') ? u.gid : u.gid;
          } catch (err) {
            throw new BuildError(`${where}: unable to convert uid/gid chown string to host mapping: ${(err as Error).message}`);
          }
        }
        const multiple = sources.length > 1 || sources.some((s) => /[*?[]/.test(s));
        // ADD of a local tar archive (plain, gzip or zstd) unpacks it into the destination directory.
        const archives: string[] = [];
        const plain: string[] = [];
        for (const r of resolved) ((what === 'ADD' && !urls.length && !heredocs.length && await isArchive(join(srcRoot, r))) ? archives : plain).push(r);
        if (plain.length) await copyInto(target.root, srcRoot, plain, dest, multiple, { uid, gid, mode, ...(exclude ? { exclude } : {}) }, what);
        for (const a of archives) {
          const unpacked = join(posix.dirname(ctx.contextDir), `.archive-${randomBytes(6).toString('hex')}`);
          try {
            await extractContext(createReadStream(join(srcRoot, a)), unpacked);
            await copyInto(target.root, unpacked, ['.'], dest.endsWith('/') ? dest : `${dest}/`, false, { uid, gid, mode }, what);
          } finally {
            await fs.rm(unpacked, { recursive: true, force: true });
          }
        }
        const createdBy = `/bin/sh -c #(nop) ${what} ${chownSpec ? `--chown=${chownSpec} ` : ''}${what === 'COPY' && fromRef ? `--from=${fromRef} ` : ''}${contentHash.replace('sha256:', 'multi:').slice(0, 20)} in ${dest}`;
        // Off the overlay first: the upper then becomes the new layer as it is, no unpacking.
        await target.unmount();
        const img = await this.host.images.commit(target.upper!, st.imageId, { config: st.config, createdBy, adopt: true, epoch: this.epoch });
        await this.remember(key, img.id, alias(img.id));
        st.imageId = img.id;
      } finally {
        await target.release();
      }
      if (heredocDir) await fs.rm(heredocDir, { recursive: true, force: true });
    } catch (err) {
      if (err instanceof EngineError && !(err instanceof BuildError)) {
        if (err instanceof InvalidParameterError) throw new BuildError(err.message);
      }
      throw err;
    } finally {
      await srcMount?.release();
    }
  }
}

function usingCache(st: StageState): void {
  st.say(' ---> Using cache\n');
  st.vertex?.cached();
}

/** Heredoc bodies expand variables unless the name was quoted; each line as a double-quoted word would. */
function processHeredoc(content: string, lookup: Lookup, escape: string): string {
  return content.split('\n').map((line) => processWord(`"${line.replace(/"/g, `${escape}"`)}"`, lookup, escape)).join('\n');
}

/** A tar archive ADD unpacks: plain (ustar magic), gzip, zstd, bzip2 or xz. */
async function isArchive(path: string): Promise<boolean> {
  const st = await fs.lstat(path).catch(() => undefined);
  if (!st?.isFile()) return false;
  const fh = await fs.open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    return looksLikeTar(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** Fetch an ADD URL into `dir`; returns the file's name (the URL's last path segment). */
async function download(url: string, dir: string, where: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(300_000) });
  } catch (err) {
    throw new BuildError(`${where}: failed to download ${url}: ${(err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message}`);
  }
  if (!res.ok) throw new BuildError(`${where}: failed to download ${url}: ${res.status} ${res.statusText}`);
  const name = decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? '') || '__unnamed__';
  const file = join(dir, name);
  if (!res.body) throw new BuildError(`${where}: failed to download ${url}: empty response`);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), createWriteStream(file, { mode: 0o600 }));
  await fs.chmod(file, 0o600);
  const modified = Date.parse(res.headers.get('last-modified') ?? '');
  if (!Number.isNaN(modified)) await fs.utimes(file, modified / 1000, modified / 1000);
  return name;
}
