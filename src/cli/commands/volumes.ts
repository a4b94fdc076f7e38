// Volume commands: volume create/ls/inspect/rm/prune, with the docker CLI's output.
import { confirm, filtersQuery } from '../prompt.js';
import { client, CliError, out, err } from '../context.js';
import { EngineApiError, type JsonObject } from '../../client/client.js';
import { tabwrite } from '../tabwriter.js';
import { inspectEach, orMissing } from '../inspect.js';
import { formatRows } from '../format.js';
import { humanSize } from '../../lib/units.js';

type Opts = Record<string, unknown>;
const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

interface Volume { Name: string; Driver: string; Mountpoint: string; Labels: Record<string, string> | null; Scope: string; CreatedAt: string }

function keyValues(values: string[], flag: string): Record<string, string> {
  const o: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0 && flag !== '--label') throw new CliError(`invalid argument "${v}" for "${flag}" flag: bad format of key=value`, 125);
    if (i < 0) o[v] = '';
    else o[v.slice(0, i)] = v.slice(i + 1);
  }
  return o;
}

export async function volumeCreate(args: string[], opts: Opts): Promise<number> {
  if (args[0] && opts.name) throw new CliError('conflicting options: either specify --name or provide positional arg, not both', 1);
  const v = await client().json<Volume>('POST', '/volumes/create', {
    body: {
      Name: args[0] ?? opts.name ?? '', Driver: (opts.driver as string) ?? 'local',
      DriverOpts: keyValues(list(opts.opt), '-o, --opt'), Labels: keyValues(list(opts.label), '--label'),
    },
  });
  out(v.Name + '\n');
  return 0;
}

export async function volumeLs(_args: string[], opts: Opts): Promise<number> {
  const r = await client().json<{ Volumes: Volume[] | null }>('GET', '/volumes', { query: { filters: filtersQuery(list(opts.filter)) } });
  const vols = (r.Volumes ?? []).sort((a, b) => a.Name.localeCompare(b.Name));
  if (opts.quiet) {
    out(vols.map((v) => v.Name + '\n').join(''));
    return 0;
  }
  if (typeof opts.format === 'string' && opts.format !== 'table') {
    out(formatRows(opts.format, vols.map((v) => ({
      Name: v.Name, Driver: v.Driver, Scope: v.Scope, Mountpoint: v.Mountpoint,
      Labels: Object.entries(v.Labels ?? {}).map(([k, val]) => `${k}=${val}`).join(','), CreatedAt: v.CreatedAt,
      // Cluster-volume and usage columns, N/A for local volumes as in the docker CLI.
      Links: 'N/A', Size: 'N/A', Group: 'N/A', Availability: 'N/A', Status: 'N/A',
    })), { Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', CreatedAt: 'CREATED AT' }));
    return 0;
  }
  out(tabwrite([['DRIVER', 'VOLUME NAME'], ...vols.map((v) => [v.Driver, v.Name])]));
  return 0;
}

export async function volumeInspect(args: string[], opts: Opts): Promise<number> {
  return inspectEach(args, (name) => orMissing(() => client().json<JsonObject>('GET', `/volumes/${encodeURIComponent(name)}`)),
    (name) => `Error: No such volume: ${name}`, opts.format as string | undefined);
}

export async function volumeRm(args: string[], opts: Opts): Promise<number> {
  let failed = false;
  for (const name of args) {
    try {
      await client().raw('DELETE', `/volumes/${encodeURIComponent(name)}`, { query: { force: opts.force ? '1' : undefined } }).then((r) => r.resume());
      out(name + '\n');
    } catch (e) {
      if (!(e instanceof EngineApiError)) throw e;
      err(`Error response from daemon: ${e.message}\n`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

export async function volumePrune(_args: string[], opts: Opts): Promise<number> {
  if (!opts.force && !(await confirm('WARNING! This will remove all local volumes not used by at least one container.'))) return 0;
  const filters = list(opts.filter);
  if (opts.all) filters.push('all=true');
  const r = await client().json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/volumes/prune', { query: { filters: filtersQuery(filters) } });
  const deleted = r.VolumesDeleted ?? [];
  if (deleted.length) out(`Deleted Volumes:\n${deleted.join('\n')}\n\n`);
  out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  return 0;
}
