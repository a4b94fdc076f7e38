// Network commands (network create/ls/inspect/rm/prune/connect/disconnect)
// and `port`, with the docker CLI's output.
import { confirm, filtersQuery } from '../prompt.js';
import { client, CliError, out, err } from '../context.js';
import { EngineApiError, type JsonObject } from '../../client/client.js';
import { tabwrite } from '../tabwriter.js';
import { inspectEach, orMissing } from '../inspect.js';
import { formatRows } from '../format.js';

type Opts = Record<string, unknown>;
const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

interface NetworkSummary { Id: string; Name: string; Driver: string; Scope: string; Internal: boolean; Created: string; Labels: Record<string, string> }

function keyValues(values: string[], flag: string): Record<string, string> {
  const outMap: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0) throw new CliError(`invalid argument "${v}" for "${flag}" flag: bad format of key=value`, 125);
    outMap[v.slice(0, i)] = v.slice(i + 1);
  }
  return outMap;
}

export async function networkCreate(args: string[], opts: Opts): Promise<number> {
  const subnets = list(opts.subnet);
  const gateways = list(opts.gateway);
  const ranges = list(opts.ipRange);
  if (gateways.length > subnets.length || ranges.length > subnets.length) {
    throw new CliError('no matching subnet for gateway or ip-range', 125);
  }
  const body: JsonObject = {
    Name: args[0],
    Driver: (opts.driver as string) ?? 'bridge',
    Internal: Boolean(opts.internal),
    Attachable: Boolean(opts.attachable),
    EnableIPv6: Boolean(opts.ipv6),
    CheckDuplicate: true,
    IPAM: {
      Driver: 'default',
      Config: subnets.map((s, i) => ({ Subnet: s, ...(gateways[i] ? { Gateway: gateways[i] } : {}), ...(ranges[i] ? { IPRange: ranges[i] } : {}) })),
      Options: {},
    },
    Options: keyValues(list(opts.opt), '-o, --opt'),
    Labels: keyValues(list(opts.label).map((l) => (l.includes('=') ? l : `${l}=`)), '--label'),
  };
  const r = await client().json<{ Id: string }>('POST', '/networks/create', { body });
  out(r.Id + '\n');
  return 0;
}

export async function networkLs(_args: string[], opts: Opts): Promise<number> {
  const nets = await client().json<NetworkSummary[]>('GET', '/networks', { query: { filters: filtersQuery(list(opts.filter)) } });
  // The docker CLI sorts by name.
  nets.sort((a, b) => a.Name.localeCompare(b.Name));
  const id = (n: NetworkSummary): string => (opts.trunc === false ? n.Id : n.Id.slice(0, 12));
  if (opts.quiet) {
    out(nets.map((n) => id(n) + '\n').join(''));
    return 0;
  }
  if (typeof opts.format === 'string' && opts.format !== 'table') {
    out(formatRows(opts.format, nets.map((n) => ({
      ID: id(n), Name: n.Name, Driver: n.Driver, Scope: n.Scope, IPv4: 'true', IPv6: 'false', Internal: String(n.Internal),
      CreatedAt: goTime(n.Created), Labels: Object.entries(n.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
    })), { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', CreatedAt: 'CREATED AT', Labels: 'LABELS' }));
    return 0;
  }
  out(tabwrite([['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], ...nets.map((n) => [id(n), n.Name, n.Driver, n.Scope])]));
  return 0;
}

export async function networkInspect(args: string[], opts: Opts): Promise<number> {
  return inspectEach(args, (name) => orMissing(() => client().json<JsonObject>('GET', `/networks/${encodeURIComponent(name)}`)),
    (name) => `Error: No such network: ${name}`, opts.format as string | undefined);
}

export async function networkRm(args: string[]): Promise<number> {
  let failed = false;
  for (const name of args) {
    try {
      await client().raw('DELETE', `/networks/${encodeURIComponent(name)}`).then((r) => r.resume());
      out(name + '\n');
    } catch (e) {
      if (!(e instanceof EngineApiError)) throw e;
      err(`Error response from daemon: ${e.message}\n`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

export async function networkPrune(_args: string[], opts: Opts): Promise<number> {
  if (!opts.force && !(await confirm('WARNING! This will remove all custom networks not used by at least one container.'))) return 0;
  const r = await client().json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', { query: { filters: filtersQuery(list(opts.filter)) } });
  const deleted = r.NetworksDeleted ?? [];
  if (deleted.length) out(`Deleted Networks:\n${deleted.join('\n')}\n\n`);
  return 0;
}

export async function networkConnect(args: string[], opts: Opts): Promise<number> {
  const endpoint: JsonObject = {};
  if (list(opts.alias).length) endpoint.Aliases = list(opts.alias);
  if (opts.ip) endpoint.IPAMConfig = { IPv4Address: opts.ip };
  await client().raw('POST', `/networks/${encodeURIComponent(args[0]!)}/connect`, { body: { Container: args[1], EndpointConfig: endpoint } })
    .then((r) => r.resume());
  return 0;
}

export async function networkDisconnect(args: string[], opts: Opts): Promise<number> {
  await client().raw('POST', `/networks/${encodeURIComponent(args[0]!)}/disconnect`, { body: { Container: args[1], Force: Boolean(opts.force) } })
    .then((r) => r.resume());
  return 0;
}

type PortMap = Record<string, { HostIp: string; HostPort: string }[] | null>;

/** `port CONTAINER [PRIVATE_PORT[/PROTO]]` */
export async function port(args: string[]): Promise<number> {
  const info = await client().inspectContainer(args[0]!);
  const ports = ((info.NetworkSettings as { Ports?: PortMap } | undefined)?.Ports ?? {}) as PortMap;
  if (args[1]) {
    const [p, proto = 'tcp'] = args[1].split('/');
    if (!/^\d+$/.test(p ?? '')) throw new CliError(`Error: invalid port (${args[1]}): invalid containerPort: ${p}`, 1);
    const key = `${p}/${proto}`;
    const bindings = ports[key];
    if (!bindings?.length) throw new CliError(`Error: No public port '${key}' published for ${args[0]}`, 1);
    out(bindings.map((b) => `${b.HostIp}:${b.HostPort}\n`).join(''));
    return 0;
  }
  const keys = Object.keys(ports).sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
  for (const k of keys) for (const b of ports[k] ?? []) out(`${k} -> ${b.HostIp}:${b.HostPort}\n`);
  return 0;
}

/** An RFC 3339 time as Go's time.String() prints it (the docker CLI's CreatedAt column). */
export function goTime(rfc3339: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(rfc3339);
  if (!m) return rfc3339;
  const frac = (m[3] ?? '').replace(/0+$/, '');
  const zone = m[4] === 'Z' ? '+0000 UTC' : `${m[4]!.replace(':', '')} ${m[4]!.replace(':', '')}`;
  return `${m[1]} ${m[2]}${frac === '.' ? '' : frac} ${zone}`;
}
