// Image commands: images, rmi, tag, import, save, load, image inspect.
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { confirm, parseFilterFlags } from '../prompt.js';
import { client, CliError, out, err } from '../context.js';
import { EngineApiError, jsonLines, type ImageSummary } from '../../client/client.js';
import { tabwrite } from '../tabwriter.js';
import { humanDuration, humanSize } from '../../lib/units.js';
import { inspectEach, orMissing } from '../inspect.js';
import { ellipsis, formatRows } from '../format.js';

type Opts = Record<string, unknown>;
const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

function splitRepoTag(t: string): [string, string] {
  const at = t.indexOf('@');
  const base = at < 0 ? t : t.slice(0, at);
  const i = base.lastIndexOf(':');
  if (i > base.lastIndexOf('/')) return [base.slice(0, i), base.slice(i + 1)];
  return [base, '<none>'];
}

export function imageRows(images: ImageSummary[], o: { noTrunc?: boolean; digests?: boolean }, now = Date.now()): string[][] {
  const header = o.digests ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE'] : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
  const rows = [header];
  for (const img of images) {
    const id = o.noTrunc ? img.Id : img.Id.replace(/^sha256:/, '').slice(0, 12);
    const created = `${humanDuration(now - img.Created * 1000)} ago`;
    const tags = img.RepoTags && img.RepoTags.length ? img.RepoTags : ['<none>:<none>'];
    for (const t of tags) {
      const [repo, tag] = t === '<none>:<none>' ? ['<none>', '<none>'] : splitRepoTag(t);
      const digest = (img.RepoDigests ?? []).find((d) => d.startsWith(repo + '@'))?.split('@')[1] ?? '<none>';
      rows.push(o.digests ? [repo, tag, digest, id, created, humanSize(img.Size)] : [repo, tag, id, created, humanSize(img.Size)]);
    }
  }
  return rows;
}

export async function images(args: string[], opts: Opts): Promise<number> {
  const filters: Record<string, string[]> = parseFilterFlags(list(opts.filter)) ?? {};
  if (args[0]) (filters.reference ??= []).push(args[0]);
  const imgs = await client().listImages({ all: Boolean(opts.all), filters: Object.keys(filters).length ? filters : undefined });
  if (opts.quiet) {
    const ids = [...new Set(imgs.map((i) => (opts.trunc === false ? i.Id : i.Id.slice(7, 19))))];
    out(ids.map((i) => i + '\n').join(''));
    return 0;
  }
  if (typeof opts.format === 'string' && opts.format !== 'table') {
    const rows = imageRows(imgs, { noTrunc: opts.trunc === false, digests: true }).slice(1);
    const byId = new Map(imgs.map((img) => [opts.trunc === false ? img.Id : img.Id.replace(/^sha256:/, '').slice(0, 12), img]));
    out(formatRows(opts.format, rows.map(([Repository, Tag, Digest, ID, CreatedSince, Size]) => ({
      Repository, Tag, Digest, ID, CreatedSince, Size,
      // go-units HumanSize (4 digits), where Size has 3, as the docker CLI prints them.
      VirtualSize: humanSize(byId.get(ID!)?.Size ?? 0, 4),
      // Not computed by `images` without flags in the docker CLI either.
      Containers: 'N/A', SharedSize: 'N/A', UniqueSize: 'N/A',
      CreatedAt: `${new Date((byId.get(ID!)?.Created ?? 0) * 1000).toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`,
    })), { Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', ID: 'IMAGE ID', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', Size: 'SIZE' }));
    return 0;
  }
  out(tabwrite(imageRows(imgs, { noTrunc: opts.trunc === false, digests: Boolean(opts.digests) })));
  return 0;
}

export async function rmi(args: string[], opts: Opts): Promise<number> {
  const errors: string[] = [];
  for (const name of args) {
    try {
      const r = await client().removeImage(name, { force: Boolean(opts.force), noprune: opts.prune === false });
      for (const item of r) {
        if (item.Untagged) out(`Untagged: ${item.Untagged}\n`);
        if (item.Deleted) out(`Deleted: ${item.Deleted}\n`);
      }
    } catch (e) {
      if (e instanceof EngineApiError) errors.push(`Error response from daemon: ${e.message}`);
      else throw e;
    }
  }
  if (errors.length) {
    err(errors.join('\n') + '\n');
    return 1;
  }
  return 0;
}

export async function tag(args: string[]): Promise<number> {
  const [source, target] = args as [string, string];
  const [repo, t] = splitRepoTag(target);
  await client().tagImage(source, repo, t === '<none>' ? undefined : t);
  return 0;
}

/**
 * An archive to send (`load -i`, `import`), opened before any request so
 * that a missing file or a directory fails with Go's wording, as the docker
 * CLI does. Big reads: a 300 MB archive in 64 KiB chunks is ~5,000 writes on
 * each side of the socket.
 */
async function openInputFile(path: string): Promise<Readable> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`open ${path}: ${code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`, 1);
  }
  if (isDir) throw new CliError(`read ${path}: is a directory`, 1);
  const input = createReadStream(path, { highWaterMark: 1 << 20 });
  await new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', (e: NodeJS.ErrnoException) => reject(new CliError(`open ${path}: ${e.code === 'EACCES' ? 'permission denied' : e.message}`, 1)));
  });
  return input;
}

export async function importImage(args: string[], opts: Opts): Promise<number> {
  const [source, repository] = args as [string, string | undefined];
  if (/^https?:\/\//.test(source)) throw new CliError('importing from a URL is not supported yet', 1);
  const input = source === '-' ? process.stdin : await openInputFile(source);
  const res = await client().importImage(input, { repo: repository, changes: list(opts.change), message: opts.message as string | undefined });
  for await (const msg of jsonLines<{ status?: string; error?: string; errorDetail?: { message: string } }>(res)) {
    if (msg.error || msg.errorDetail) throw new CliError(`Error response from daemon: ${msg.errorDetail?.message ?? msg.error}`, 1);
    if (msg.status) out(`${msg.status}\n`);
  }
  return 0;
}

export async function inspectImages(args: string[], opts: Opts): Promise<number> {
  return inspectEach(args, (name) => orMissing(() => client().inspectImage(name)), (name) => `Error: No such image: ${name}`, opts.format as string | undefined);
}

export async function save(args: string[], opts: Opts): Promise<number> {
  const file = opts.output as string | undefined;
  if (!file && process.stdout.isTTY) {
    throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
  }
  const res = await client().raw('GET', '/images/get', { query: { names: args, platform: opts.platform as string | undefined } });

  // Into a temporary name first: a failed save must not leave a truncated archive under the real name.
  const tmp = file ? `${file}.${process.pid}.tmp` : undefined;
  try {
    await pipeline(res, tmp ? createWriteStream(tmp) : process.stdout);
    if (tmp) await rename(tmp, file!);
  } catch (e) {
    if (tmp) await rm(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') return 0;
    throw new CliError(`Error response from daemon: ${(e as Error).message}`, 1);
  }
  return 0;
}

export async function load(_args: string[], opts: Opts): Promise<number> {
  const file = opts.input as string | undefined;
  if (!file && process.stdin.isTTY) {
    throw new CliError('requested load from stdin, but stdin is empty', 1);
  }
  const input = file ? await openInputFile(file) : process.stdin;
  const res = await client().raw('POST', '/images/load', { query: { quiet: opts.quiet ? '1' : undefined, platform: opts.platform as string | undefined }, stream: input, headers: { 'Content-Type': 'application/x-tar' } });
  for await (const msg of jsonLines<{ stream?: string; error?: string; errorDetail?: { message: string } }>(res)) {
    if (msg.error || msg.errorDetail) throw new CliError(`Error response from daemon: ${msg.errorDetail?.message ?? msg.error}`, 1);
    if (msg.stream) out(msg.stream);
  }
  return 0;
}

interface HistoryItem { Id: string; Created: number; CreatedBy: string; Tags: string[] | null; Size: number; Comment: string }

export async function history(args: string[], opts: Opts): Promise<number> {
  const items = await client().json<HistoryItem[]>('GET', `/images/${encodeURIComponent(args[0]!)}/history`);
  const noTrunc = opts.trunc === false;
  const human = opts.human !== false;
  const id = (i: HistoryItem): string => (i.Id === '<missing>' || noTrunc ? i.Id : i.Id.replace(/^sha256:/, '').slice(0, 12));
  if (opts.quiet) {
    out(items.map((i) => `${id(i)}\n`).join(''));
    return 0;
  }
  const rows = items.map((i) => {
    const by = i.CreatedBy.replace(/\t/g, ' ');
    return {
      ID: id(i),
      CreatedSince: human ? `${humanDuration(Date.now() - i.Created * 1000)} ago` : new Date(i.Created * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      CreatedAt: new Date(i.Created * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      CreatedBy: noTrunc ? by : ellipsis(by, 45),
      Size: human ? humanSize(i.Size) : String(i.Size),
      Comment: i.Comment,
    };
  });
  const headers = { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' };
  if (typeof opts.format === 'string' && opts.format !== 'table') {
    out(formatRows(opts.format, rows, headers));
    return 0;
  }
  out(tabwrite([['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], ...rows.map((r) => [r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment])]));
  return 0;
}

export async function imagePrune(_args: string[], opts: Opts): Promise<number> {
  const warning = opts.all ? 'WARNING! This will remove all images without at least one container associated to them.' : 'WARNING! This will remove all dangling images.';
  if (!opts.force && !(await confirm(warning))) return 0;
  const filters = parseFilterFlags(list(opts.filter)) ?? {};
  if (opts.all) filters.dangling = ['false'];
  const r = await client().json<{ ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed: number }>('POST', '/images/prune', {
    query: { filters: Object.keys(filters).length ? JSON.stringify(filters) : undefined },
  });
  const deleted = r.ImagesDeleted ?? [];
  if (deleted.length) {
    out(`Deleted Images:\n${deleted.map((d) => (d.Untagged ? `untagged: ${d.Untagged}\n` : `deleted: ${d.Deleted}\n`)).join('')}\n`);
  }
  out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  return 0;
}
