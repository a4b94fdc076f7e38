// `berth stats`, `top`, `pause`, `unpause`.
import { client, CliError, out } from '../context.js';
import { EngineApiError } from '../../client/client.js';
import { tabwrite } from '../tabwriter.js';
import { bytesSize, humanSize } from '../../lib/units.js';
import { formatRows } from '../format.js';
import { statsRow } from '../../container/stats.js';
import type { Opts } from './containers.js';

const STATS_HEADER = ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'];

interface StatsView {
  ID: string;
  Container: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

function view(container: string, s: Record<string, unknown>, noTrunc: boolean): StatsView {
  const r = statsRow(s);
  const id = String(s.id ?? '');
  return {
    ID: noTrunc ? id : id.slice(0, 12),
    Container: container,
    Name: String(s.name ?? '').replace(/^\//, ''),
    CPUPerc: `${r.cpuPercent.toFixed(2)}%`,
    MemUsage: `${bytesSize(r.memUsage)} / ${bytesSize(r.memLimit)}`,
    MemPerc: `${r.memPercent.toFixed(2)}%`,
    NetIO: `${humanSize(r.netRx)} / ${humanSize(r.netTx)}`,
    BlockIO: `${humanSize(r.blockRead)} / ${humanSize(r.blockWrite)}`,
    PIDs: String(r.pids),
  };
}

function renderRows(views: StatsView[], format: string | undefined): string {
  if (format && format !== 'table') {
    return formatRows(format, views as unknown as Array<Record<string, unknown>>, {
      ID: 'CONTAINER ID', Container: 'CONTAINER', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT',
      MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
    });
  }
  return tabwrite([STATS_HEADER, ...views.map((v) => [v.ID, v.Name, v.CPUPerc, v.MemUsage, v.MemPerc, v.NetIO, v.BlockIO, v.PIDs])]);
}

export async function stats(args: string[], opts: Opts): Promise<number> {
  const c = client();
  const noTrunc = opts.trunc === false;
  const format = opts.format as string | undefined;
  // The CONTAINER column is the name or id as given, or the short id when listing all (as the docker CLI).
  const names = args.length
    ? args
    : (await c.listContainers({ all: Boolean(opts.all) })).map((x) => (noTrunc ? x.Id : x.Id.slice(0, 12)));
  const sampleAll = (): Promise<StatsView[]> => Promise.all(names.map(async (n) => {
    try {
      return view(n, await c.json<Record<string, unknown>>('GET', `/containers/${encodeURIComponent(n)}/stats`, { query: { stream: false } }), noTrunc);
    } catch (e) {
      if (e instanceof EngineApiError) throw new CliError(`Error response from daemon: ${e.message}`, 1);
      throw e;
    }
  }));
  if (opts.stream === false) {
    out(renderRows(await sampleAll(), format));
    return 0;
  }
  // Streaming: redraw the table in place every time a round of samples is in (about once a second).
  for (;;) {
    const rows = renderRows(await sampleAll(), format);
    out(`\x1b[2J\x1b[H${rows}`);
  }
}

export async function top(args: string[]): Promise<number> {
  const [container, ...psArgs] = args as [string, ...string[]];
  try {
    const r = await client().json<{ Titles: string[]; Processes: string[][] }>('GET', `/containers/${encodeURIComponent(container)}/top`, {
      query: { ps_args: psArgs.length ? psArgs.join(' ') : undefined },
    });
    // docker top pads columns to at least 20.
    out(tabwrite([r.Titles, ...r.Processes], 20, 3));
    return 0;
  } catch (e) {
    if (e instanceof EngineApiError) throw new CliError(`Error response from daemon: ${e.message}`, 1);
    throw e;
  }
}

async function eachContainer(args: string[], path: string): Promise<number> {
  const c = client();
  const errors: string[] = [];
  for (const id of args) {
    try {
      await c.json('POST', `/containers/${encodeURIComponent(id)}/${path}`);
      out(`${id}\n`);
    } catch (e) {
      if (!(e instanceof EngineApiError)) throw e;
      errors.push(`Error response from daemon: ${e.message}`);
    }
  }
  if (errors.length) throw new CliError(errors.join('\n'), 1);
  return 0;
}

export function pause(args: string[]): Promise<number> {
  return eachContainer(args, 'pause');
}

export function unpause(args: string[]): Promise<number> {
  return eachContainer(args, 'unpause');
}
