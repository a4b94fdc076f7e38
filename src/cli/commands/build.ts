// `berth build`: the context directory as a tar (minus what .dockerignore
// excludes; the Dockerfile and .dockerignore always go), sent to POST /build;
// the daemon's build stream shown as it comes.
import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, posix, relative, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { client, CliError, out, err } from '../context.js';
import { BUILD_EVENT_ID, type BuildEvent } from '../../build/progress.js';
import { PlainDisplay, TtyDisplay, type BuildDisplay } from '../build-display.js';
import { jsonLines } from '../../client/client.js';
import { DockerIgnore } from '../../build/dockerignore.js';
import { listTree, packSmallTree, tarMembers } from '../../build/tree-tar.js';
import { allCredentials } from '../credentials.js';
import { cloneGitContext, GitContextError, isGitUrl } from '../../build/git-context.js';
import { confirm } from '../prompt.js';
import { humanSize } from '../../lib/units.js';
import { looksLikeTar, peek } from '../../image/compression.js';

type Opts = Record<string, unknown>;
const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

function pairs(values: string[], what: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i === 0) throw new CliError(`invalid argument "${v}" for "--${what}" flag: invalid key`, 125);
    // --build-arg NAME (no value) takes it from the environment, as docker does.
    if (i < 0) out[v] = process.env[v] ?? null;
    else out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

/**
 * The context as a tar stream: entries in sorted order, owned by root as the
 * docker CLI sends them. JavaScript picks the files (.dockerignore; the
 * Dockerfile and .dockerignore always go); a few small ones are packed
 * here, more by GNU tar: for a context of many small files that is several
 * times faster.
 */
export function contextTar(dir: string, ignore: DockerIgnore, always: Set<string>, extra?: { name: string; content: Buffer }): Readable {
  const out = new PassThrough();
  void (async () => {
    // A Dockerfile from outside the context goes first, as an entry of its own (without the end-of-archive blocks).
    if (extra) out.write(await tarEntry(extra.name, extra.content));
    const exclusions = { excludes: (p: string) => !always.has(p) && ignore.excludes(p), hasExceptions: ignore.hasExceptions };
    const members = (await listTree(dir, exclusions)).filter((e) => e.kind !== 'other').map((e) => e.rel);
    // A few small files are packed here: spawning tar would cost more.
    const small = await packSmallTree(dir, members);
    if (small) {
      out.end(small);
      return;
    }
    const { stream, done } = tarMembers(dir, members, { owner: { uid: 0, gid: 0 } });
    await Promise.all([pipeline(stream, out), done]);
  })().catch((e: Error) => out.destroy(e));
  return out;
}

/** One file as tar blocks: header, content, padding; without the end-of-archive blocks, so more entries may follow. */
async function tarEntry(name: string, content: Buffer): Promise<Buffer> {
  const pack = tarStream.pack();
  pack.entry({ name, mode: 0o644, uid: 0, gid: 0, size: content.length, type: 'file' }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  const all = Buffer.concat(chunks);
  return all.subarray(0, all.length - 1024);
}

/** What a build reads: a context tar (from a directory, stdin or nothing), or a URL the daemon fetches. */
interface ContextSource { tar?: Readable; remote?: string; dockerfile: string; dockerfileText?: string; cleanup?: () => Promise<void> }

/** A context of one file: `docker build - < Dockerfile`. */
function singleFileTar(name: string, content: Buffer): Readable {
  const pack = tarStream.pack();
  pack.entry({ name, mode: 0o644, size: content.length, uid: 0, gid: 0 }, content);
  pack.finalize();
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

async function readAll(input: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function contextSource(contextArg: string, file: string | undefined): Promise<ContextSource> {
  if (contextArg === '-') {
    if (file === '-') throw new CliError('invalid argument: can\'t use stdin for both build context and dockerfile', 1);
    const { head, stream } = await peek(process.stdin, 512);
    if (looksLikeTar(head)) return { tar: stream, dockerfile: file ?? 'Dockerfile' };
    // Not a tar: stdin is the Dockerfile and there is no context.
    const text = await readAll(stream);
    return { tar: singleFileTar('Dockerfile', text), dockerfile: 'Dockerfile', dockerfileText: text.toString('utf8') };
  }
  if (isGitUrl(contextArg)) {
    // Cloned here, as the docker CLI does for the classic builder; `-f` is relative to the repository's context.
    const tmp = await fs.mkdtemp(join(tmpdir(), 'berth-git-'));
    const cleanup = (): Promise<void> => fs.rm(tmp, { recursive: true, force: true });
    try {
      const dir = await cloneGitContext(contextArg, join(tmp, 'repo'));
      return { ...(await contextSource(dir, file === undefined || file === '-' ? file : resolve(dir, file))), cleanup };
    } catch (e) {
      await cleanup();
      if (e instanceof GitContextError) throw new CliError(e.message, 1);
      throw e;
    }
  }
  if (/^https?:\/\//.test(contextArg)) {
    if (file === '-') throw new CliError('invalid argument: a Dockerfile from stdin needs a local context', 1);
    return { remote: contextArg, dockerfile: file ?? 'Dockerfile' };
  }
  const dir = resolve(contextArg);
  const st = await fs.stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new CliError(`unable to prepare context: path "${contextArg}" not found`, 1);
  const ignoreText = await fs.readFile(join(dir, '.dockerignore'), 'utf8').catch(() => '');
  const ignore = new DockerIgnore(ignoreText);
  // The Dockerfile: inside the context it travels with it; outside (or from stdin), it is added under a private name.
  let dfContent: Buffer | undefined;
  let dockerfile: string;
  let extra: { name: string; content: Buffer } | undefined;
  if (file === '-') {
    dfContent = await readAll(process.stdin);
    dockerfile = `.dockerfile.${randomBytes(10).toString('hex')}`;
    extra = { name: dockerfile, content: dfContent };
  } else {
    const dfPath = resolve(file ? file : join(dir, 'Dockerfile'));
    dockerfile = relative(dir, dfPath).split('\\').join('/');
    dfContent = await fs.readFile(dfPath).catch(() => undefined);
    if (!dfContent) throw new CliError(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${dfPath}: no such file or directory`, 1);
    if (dockerfile.startsWith('..') || posix.isAbsolute(dockerfile)) {
      dockerfile = `.dockerfile.${randomBytes(10).toString('hex')}`;
      extra = { name: dockerfile, content: dfContent };
    }
  }
  const tar = contextTar(dir, ignore, new Set([dockerfile, '.dockerignore']), extra);
  return { tar, dockerfile, dockerfileText: dfContent.toString('utf8') };
}

/** `--secret id=x,src=FILE` or `id=x,env=VAR` (BuildKit's forms): the values, base64, for the request header. */
async function secretValues(specs: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let total = 0;
  for (const spec of specs) {
    const kv = new Map(spec.split(',').map((p) => { const i = p.indexOf('='); return (i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)]) as [string, string]; }));
    const id = kv.get('id');
    const src = kv.get('src') ?? kv.get('source');
    const env = kv.get('env') ?? (src === undefined && id ? id : undefined);
    if (!id) throw new CliError(`invalid secret: ${spec}: id is required`, 125);
    let value: Buffer;
    if (src !== undefined) {
      const v = await fs.readFile(src).catch(() => undefined);
      if (!v) throw new CliError(`failed to stat ${src}: no such file or directory`, 1);
      value = v;
    } else if (env !== undefined && process.env[env] !== undefined) {
      value = Buffer.from(process.env[env]!);
    } else {
      throw new CliError(`secret ${id}: no src file and no environment variable ${env}`, 1);
    }
    total += value.length;
    if (total > 48 * 1024) throw new CliError('build secrets are limited to 48 KiB in all', 1);
    out[id] = value.toString('base64');
  }
  return out;
}

/** `--ssh default` or `--ssh id=/path/to/agent.sock`: the agent sockets (berthd runs on this machine). */
function sshSockets(specs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const i = spec.indexOf('=');
    const id = i < 0 ? spec : spec.slice(0, i);
    const sock = i < 0 ? process.env.SSH_AUTH_SOCK : spec.slice(i + 1).split(',')[0];
    if (!sock) throw new CliError(`invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set, or give --ssh ${id}=/path/to/agent.sock`, 1);
    out[id] = resolve(sock);
  }
  return out;
}

type ProgressMode = 'tty' | 'plain' | 'quiet' | 'rawjson' | 'classic';

/** `--progress`: auto is the live view on a terminal, plain elsewhere; DOCKER_BUILDKIT=0 asks for the classic stream. */
function progressMode(opts: Opts): ProgressMode {
  const asked = String(opts.progress ?? 'auto');
  if (!['auto', 'tty', 'plain', 'quiet', 'rawjson', 'classic'].includes(asked)) {
    throw new CliError(`invalid progress mode "${asked}": expected auto, tty, plain, quiet, rawjson or classic`, 125);
  }
  if (asked === 'auto') {
    if (process.env.DOCKER_BUILDKIT === '0') return 'classic';
    return process.stderr.isTTY ? 'tty' : 'plain';
  }
  return asked as ProgressMode;
}

export async function build(args: string[], opts: Opts): Promise<number> {
  const mode = opts.quiet ? 'quiet' : progressMode(opts);
  const platform = opts.platform as string | undefined;
  if (platform && !/^linux(\/amd64)?$/.test(platform)) throw new CliError(`failed to solve: no match for platform ${platform}: only linux/amd64 can be built on this machine`, 1);
  const source = await contextSource(args[0]!, opts.file === undefined ? undefined : String(opts.file));
  try {
    return await sendBuild(source, opts, mode, platform);
  } finally {
    await source.cleanup?.();
  }
}

async function sendBuild(source: ContextSource, opts: Opts, mode: ProgressMode, platform: string | undefined): Promise<number> {
  const buildArgs = pairs(list(opts.buildArg), 'build-arg');
  // As buildx does: SOURCE_DATE_EPOCH in the environment becomes the build arg unless one is given.
  if (process.env.SOURCE_DATE_EPOCH && !('SOURCE_DATE_EPOCH' in buildArgs)) buildArgs.SOURCE_DATE_EPOCH = process.env.SOURCE_DATE_EPOCH;
  const query: Record<string, string | string[] | undefined> = {
    t: list(opts.tag),
    dockerfile: source.dockerfile,
    buildargs: JSON.stringify(buildArgs),
    labels: JSON.stringify(pairs(list(opts.label), 'label')),
    target: opts.target as string | undefined,
    nocache: opts.cache === false ? '1' : undefined,
    pull: opts.pull ? '1' : undefined,
    networkmode: opts.network as string | undefined,
    extrahosts: list(opts.addHost).length ? list(opts.addHost).join(',') : undefined,
    // buildx's `--cache-from type=registry,ref=IMAGE` names the same image as `--cache-from IMAGE`.
    cachefrom: list(opts.cacheFrom).length ? JSON.stringify(list(opts.cacheFrom).map(cacheFromRef)) : undefined,
    platform,
    remote: source.remote,
    q: mode === 'quiet' ? '1' : undefined,
    berthevents: mode === 'tty' || mode === 'plain' || mode === 'rawjson' ? '1' : undefined,
  };
  const headers: Record<string, string> = { 'Content-Type': 'application/x-tar' };
  const secrets = await secretValues(list(opts.secret));
  if (Object.keys(secrets).length) headers['X-Berth-Build-Secrets'] = Buffer.from(JSON.stringify(secrets)).toString('base64');
  // Every login, so that berthd can pull private base images, as the docker CLI sends them.
  const logins = await allCredentials();
  if (Object.keys(logins).length) headers['X-Registry-Config'] = Buffer.from(JSON.stringify(logins)).toString('base64url');
  const ssh = sshSockets(list(opts.ssh));
  if (Object.keys(ssh).length) headers['X-Berth-Build-Ssh'] = Buffer.from(JSON.stringify(ssh)).toString('base64');
  const res = await client().raw('POST', '/build', { query, ...(source.tar ? { stream: source.tar } : {}), headers });
  const display: BuildDisplay | undefined = mode === 'tty'
    ? new TtyDisplay(err, () => ({ columns: process.stderr.columns ?? 80, rows: process.stderr.rows ?? 24 }))
    : mode === 'plain' ? new PlainDisplay(err) : undefined;
  let failed: { message: string; code: number } | undefined;
  let imageId: string | undefined;
  const kept: string[] = [];
  for await (const m of jsonLines<{ id?: string; stream?: string; error?: string; errorDetail?: { message: string; code?: number }; aux?: unknown }>(res)) {
    if (mode === 'rawjson' && m.id === BUILD_EVENT_ID) err(`${JSON.stringify(m.aux)}\n`);
    if (m.error || m.errorDetail) failed = { message: m.errorDetail?.message ?? m.error ?? 'build failed', code: m.errorDetail?.code || 1 };
    else if (m.id === BUILD_EVENT_ID) display?.event(m.aux as BuildEvent);
    else if (m.aux && typeof (m.aux as { ID?: unknown }).ID === 'string') imageId = (m.aux as { ID: string }).ID;
    else if (m.stream && mode === 'classic') out(m.stream);
    else if (m.stream && mode === 'quiet' && /^sha256:/.test(m.stream)) out(m.stream);
    else if (m.stream && mode === 'quiet') kept.push(m.stream);
  }
  // `-q`: what the steps said comes only with a failure, on stderr (as the docker CLI shows it).
  if (failed && kept.length) err(kept.join(''));
  display?.finish(failed ? { message: failed.message, dockerfile: source.dockerfileText, dockerfileName: source.dockerfile.startsWith('.dockerfile.') ? 'Dockerfile' : source.dockerfile } : undefined);
  if (failed) {
    // The classic build exits with a failed RUN's code, as the docker CLI's classic build does; BuildKit's display exits 1.
    if (mode === 'classic' || mode === 'quiet') throw new CliError(failed.message, failed.code);
    return 1;
  }
  if (opts.iidfile && imageId) await fs.writeFile(String(opts.iidfile), imageId);
  return 0;
}

export async function builderPrune(_args: string[], opts: Opts): Promise<number> {
  if (!opts.force && !(await confirm('WARNING! This will remove all dangling build cache.'))) return 0;
  const r = await client().json<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/build/prune');
  if (r.CachesDeleted?.length) out(`Deleted build cache objects:\n${r.CachesDeleted.join('\n')}\n\n`);
  out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  return 0;
}

/** `IMAGE`, or buildx's `type=registry,ref=IMAGE`; other cache exporters' types are refused. */
export function cacheFromRef(spec: string): string {
  if (!spec.includes('=')) return spec;
  const fields = new Map(spec.split(',').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()] as [string, string];
  }));
  const type = fields.get('type') ?? 'registry';
  const ref = fields.get('ref');
  if (type !== 'registry' || !ref) throw new CliError(`--cache-from ${spec}: only images (IMAGE or type=registry,ref=IMAGE) can be cache sources`, 1);
  return ref;
}
