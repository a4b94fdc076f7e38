// The /etc/hosts and /etc/resolv.conf a container gets, as Docker writes them.
import { InvalidParameterError } from '../lib/errors.js';
import { parseIp } from './ipam.js';

const HOSTS_HEADER = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n'
  + 'ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

/** `--add-host name:ip` (and `name=ip`); `host-gateway` is the default bridge's gateway. */
export function parseExtraHost(entry: string, hostGateway: string): [string, string] {
  const i = entry.search(/[:=]/);
  if (i <= 0) throw new InvalidParameterError(`invalid IP address in add-host: "${entry}"`);
  const name = entry.slice(0, i);
  let ip = entry.slice(i + 1).replace(/^\[(.*)\]$/, '$1');
  if (ip === 'host-gateway') ip = hostGateway;
  if (parseIp(ip) === undefined && !/^[0-9a-fA-F:]+$/.test(ip)) {
    throw new InvalidParameterError(`invalid IP address in add-host: "${ip}"`);
  }
  return [name, ip];
}

export function validateExtraHosts(entries: string[] | null | undefined): void {
  for (const e of entries ?? []) parseExtraHost(e, '0.0.0.0');
}

export interface HostsOptions {
  hostname: string;
  domainname?: string;
  /** the container's addresses, first network first */
  addresses: string[];
  extraHosts: string[];
  hostGateway: string;
}

export function hostsFile(o: HostsOptions): string {
  const names = o.domainname ? `${o.hostname}.${o.domainname}\t${o.hostname}` : o.hostname;
  const extra = o.extraHosts.map((e) => parseExtraHost(e, o.hostGateway)).map(([n, ip]) => `${ip}\t${n}\n`).join('');
  const own = o.addresses.map((a) => `${a}\t${names}\n`).join('');
  return HOSTS_HEADER + extra + own;
}

export interface ResolvOptions {
  /** the host's resolv.conf text */
  host: string;
  /** point the container at the embedded DNS server (user-defined networks) */
  embedded: boolean;
  dns: string[];
  search: string[];
  options: string[];
}

function isLoopback(ns: string): boolean {
  return /^127\./.test(ns) || ns === '::1';
}

/**
 * Docker's rules: the user's --dns/--dns-search/--dns-option replace the
 * host's; the default bridge cannot reach a loopback resolver of the host,
 * so those lines go (Google's resolvers when nothing is left, as Docker).
 */
export function resolvConf(o: ResolvOptions): string {
  const lines = o.host.split('\n');
  const hostNs = lines.map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((s): s is string => !!s);
  const hostSearch = lines.map((l) => /^\s*(?:search|domain)\s+(.+)$/.exec(l)?.[1]).filter((s): s is string => !!s)
    .flatMap((s) => s.trim().split(/\s+/));
  const hostOptions = lines.map((l) => /^\s*options\s+(.+)$/.exec(l)?.[1]).filter((s): s is string => !!s)
    .flatMap((s) => s.trim().split(/\s+/));
  const search = o.search.length ? o.search.filter((s) => s !== '.') : hostSearch;
  let options = o.options.length ? o.options : hostOptions;
  let servers: string[];
  if (o.embedded) {
    servers = ['127.0.0.11'];
    // Names like "db" must be tried as they are before any search domain.
    if (!options.some((x) => x.startsWith('ndots:'))) options = [...options, 'ndots:0'];
  } else {
    servers = o.dns.length ? o.dns : hostNs.filter((ns) => !isLoopback(ns));
    if (!servers.length) servers = ['8.8.8.8', '8.8.4.4'];
  }
  return [
    ...servers.map((s) => `nameserver ${s}`),
    ...(search.length ? [`search ${search.join(' ')}`] : []),
    ...(options.length ? [`options ${options.join(' ')}`] : []),
  ].join('\n') + '\n';
}
