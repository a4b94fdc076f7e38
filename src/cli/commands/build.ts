// `berth build`: the context directory as a tar (minus what .dockerignore
// excludes; the Dockerfile and .dockerignore always go), sent to POST /build;
// the daemon's build stream shown as it comes.
import { promises as fs, createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, posix, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { client, CliError, out } from '../context.js';
import { jsonLines } from '../../client/client.js';
import { DockerIgnore } from '../../build/dockerignore.js';
import { confirm } from '../prompt.js';
import { humanSize } from '../../lib/units.js';

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

/** The context as a tar stream: entries in sorted order, owned by root as the docker CLI sends them. */
export function contextTar(dir: string, ignore: DockerIgnore, always: Set<string>, extra?: { name: string; content: Buffer }): Readable {
  const pack = tarStream.pack();
  const add = (header: Parameters<typeof pack.entry>[0], body?: Buffer | Readable): Promise<void> => new Promise((res, rej) => {
    if (body === undefined || Buffer.isBuffer(body)) {
      pack.entry(header, body ?? Buffer.alloc(0), (e) => (e ? rej(e) : res()));
      return;
    }
    const sink = pack.entry(header, (e) => (e ? rej(e) : res()));
    body.on('error', rej);
    body.pipe(sink as unknown as NodeJS.WritableStream);
  });
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await fs.readdir(join(dir, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(dir, path);
      const st = await fs.lstat(full);
      const excluded = !always.has(path) && ignore.excludes(path);
      if (excluded && !(st.isDirectory() && ignore.hasExceptions)) continue;
      const base = { name: path, mode: st.mode & 0o7777, mtime: st.mtime, uid: 0, gid: 0 };
      if (st.isDirectory()) {
        if (!excluded) await add({ ...base, type: 'directory' });
        await walk(path);
      } else if (st.isSymbolicLink()) {
        await add({ ...base, type: 'symlink', linkname: await fs.readlink(full) });
      } else if (st.isFile()) {
        await add({ ...base, type: 'file', size: st.size }, createReadStream(full));
      }
    }
  };
  void (async () => {
    await walk('');
    if (extra) await add({ name: extra.name, mode: 0o644, type: 'file', size: extra.content.length }, extra.content);
    pack.finalize();
  })().catch((e: Error) => pack.destroy(e));
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

export async function build(args: string[], opts: Opts): Promise<number> {
  const contextArg = args[0]!;
  if (contextArg === '-' || /^(https?|git):\/\//.test(contextArg) || contextArg.startsWith('git@')) {
    throw new CliError('building from stdin or a URL is not supported yet: give a context directory', 1);
  }
  const dir = resolve(contextArg);
  const st = await fs.stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new CliError(`unable to prepare context: path "${contextArg}" not found`, 1);
  const ignoreText = await fs.readFile(join(dir, '.dockerignore'), 'utf8').catch(() => '');
  const ignore = new DockerIgnore(ignoreText);
  // The Dockerfile: inside the context it travels with it; outside, it is added under a private name.
  const dfPath = resolve(opts.file ? String(opts.file) : join(dir, 'Dockerfile'));
  let dockerfile = relative(dir, dfPath).split('\\').join('/');
  let extra: { name: string; content: Buffer } | undefined;
  const dfContent = await fs.readFile(dfPath).catch(() => undefined);
  if (!dfContent) throw new CliError(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${dfPath}: no such file or directory`, 1);
  if (dockerfile.startsWith('..') || posix.isAbsolute(dockerfile)) {
    dockerfile = `.dockerfile.${randomBytes(10).toString('hex')}`;
    extra = { name: dockerfile, content: dfContent };
  }
  const tar = contextTar(dir, ignore, new Set([dockerfile, '.dockerignore']), extra);
  const query: Record<string, string | string[] | undefined> = {
    t: list(opts.tag),
    dockerfile,
    buildargs: JSON.stringify(pairs(list(opts.buildArg), 'build-arg')),
    labels: JSON.stringify(pairs(list(opts.label), 'label')),
    target: opts.target as string | undefined,
    nocache: opts.cache === false ? '1' : undefined,
    q: opts.quiet ? '1' : undefined,
  };
  const res = await client().raw('POST', '/build', { query, stream: tar, headers: { 'Content-Type': 'application/x-tar' } });
  let failed: { message: string; code: number } | undefined;
  for await (const m of jsonLines<{ stream?: string; error?: string; errorDetail?: { message: string; code?: number }; aux?: { ID?: string } }>(res)) {
    if (m.error || m.errorDetail) failed = { message: m.errorDetail?.message ?? m.error ?? 'build failed', code: m.errorDetail?.code || 1 };
    else if (m.stream) out(m.stream);
  }
  // As the docker CLI's classic build: a failed RUN's exit code is the build's.
  if (failed) throw new CliError(failed.message, failed.code);
  return 0;
}

export async function builderPrune(_args: string[], opts: Opts): Promise<number> {
  if (!opts.force && !(await confirm('WARNING! This will remove all dangling build cache.'))) return 0;
  const r = await client().json<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/build/prune');
  if (r.CachesDeleted?.length) out(`Deleted build cache objects:\n${r.CachesDeleted.join('\n')}\n\n`);
  out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  return 0;
}
