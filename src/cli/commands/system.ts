// version, info, events, and the type-agnostic inspect.
import { parseFilterFlags } from '../prompt.js';
import { client, CliError, out, err } from '../context.js';
import { jsonLines, type JsonObject } from '../../client/client.js';
import { inspectEach, orMissing } from '../inspect.js';
import { compileFormat, formatOne } from '../format.js';
import { humanSize } from '../../lib/units.js';

type Opts = Record<string, unknown>;
const CLI_VERSION = '0.1.0';
const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

export async function version(_a: string[], opts: Opts): Promise<number> {
  const clientInfo = {
    Version: CLI_VERSION, ApiVersion: '1.41', Os: 'linux', Arch: GOARCH[process.arch] ?? process.arch, GoVersion: `node${process.versions.node}`,
  };
  let server: JsonObject | undefined;
  let serverErr: Error | undefined;
  try {
    server = await client().version();
  } catch (e) {
    serverErr = e as Error;
  }
  if (opts.format) {
    out(formatOne(opts.format as string, { Client: clientInfo, Server: server ?? null }) + '\n');
  } else {
    out(`Client:\n Version:           ${CLI_VERSION}\n API version:       ${clientInfo.ApiVersion}\n Node version:      ${process.versions.node}\n OS/Arch:           linux/${clientInfo.Arch}\n`);
    if (server) {
      out(`\nServer: Berth Engine\n Engine:\n  Version:          ${server.Version}\n  API version:      ${server.ApiVersion} (minimum version ${server.MinAPIVersion})\n  OS/Arch:          ${server.Os}/${server.Arch}\n  Kernel version:   ${server.KernelVersion}\n`);
    }
  }
  if (serverErr) {
    err(`${serverErr.message}\n`);
    return 1;
  }
  return 0;
}

export async function info(_a: string[], opts: Opts): Promise<number> {
  const i = await client().info();
  if (opts.format) {
    out(formatOne(opts.format as string, i) + '\n');
    return 0;
  }
  out(`Client:\n Version:    ${CLI_VERSION}\n Context:    default\n\nServer:\n` +
    ` Containers: ${i.Containers}\n  Running: ${i.ContainersRunning}\n  Paused: ${i.ContainersPaused}\n  Stopped: ${i.ContainersStopped}\n` +
    ` Images: ${i.Images}\n Server Version: ${i.ServerVersion}\n Storage Driver: ${i.Driver}\n Logging Driver: ${i.LoggingDriver}\n` +
    ` Cgroup Driver: ${i.CgroupDriver}\n Cgroup Version: ${i.CgroupVersion}\n Default Runtime: ${i.DefaultRuntime}\n` +
    ` Kernel Version: ${i.KernelVersion}\n Operating System: ${i.OperatingSystem}\n OSType: ${i.OSType}\n Architecture: ${i.Architecture}\n` +
    ` CPUs: ${i.NCPU}\n Total Memory: ${humanSize(Number(i.MemTotal))}\n Name: ${i.Name}\n ID: ${i.ID}\n Berth Root Dir: ${i.DockerRootDir}\n` +
    ` Live Restore Enabled: ${i.LiveRestoreEnabled}\n`);
  return 0;
}

function attrs(a: Record<string, string>): string {
  const keys = Object.keys(a).sort();
  return keys.length ? ` (${keys.map((k) => `${k}=${a[k]}`).join(', ')})` : '';
}

function eventTime(ns: number): string {
  const big = BigInt(Math.round(ns));
  const d = new Date(Number(big / 1_000_000n));
  return `${d.toISOString().slice(0, 19)}.${(big % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

export async function events(_a: string[], opts: Opts): Promise<number> {
  const filters: Record<string, string[]> = parseFilterFlags((opts.filter as string[] | undefined) ?? []) ?? {};
  const res = await client().events({ since: opts.since as string | undefined, until: opts.until as string | undefined, filters: Object.keys(filters).length ? filters : undefined });
  const format = opts.format ? compileFormat(opts.format as string) : undefined;
  for await (const e of jsonLines<{ Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> }; timeNano: number }>(res)) {
    if (format) out(format(e) + '\n');
    else out(`${eventTime(e.timeNano)} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs(e.Actor.Attributes)}\n`);
  }
  return 0;
}

export async function inspect(args: string[], opts: Opts): Promise<number> {
  const type = opts.type as string | undefined;
  if (type && !['container', 'image', 'network', 'volume'].includes(type)) throw new CliError(`"${type}" is not a valid value for --type`, 1);
  const lookup = async (name: string): Promise<JsonObject | undefined> => {
    let found: JsonObject | undefined;
    if (!type || type === 'container') {
      found = await orMissing(() => client().json('GET', `/containers/${encodeURIComponent(name)}/json`, { query: { size: opts.size ? '1' : undefined } }));
    }
    if (!found && (!type || type === 'image')) found = await orMissing(() => client().inspectImage(name));
    if (!found && (!type || type === 'network')) found = await orMissing(() => client().json('GET', `/networks/${encodeURIComponent(name)}`));
    if (!found && (!type || type === 'volume')) found = await orMissing(() => client().json('GET', `/volumes/${encodeURIComponent(name)}`));
    return found;
  };
  return inspectEach(args, lookup, (name) => `Error: No such object: ${name}`, opts.format as string | undefined);
}
