// /etc/hostname, /etc/hosts and /etc/resolv.conf of a container, written into
// its data directory at each start (addresses change between runs) and
// bind-mounted over the image's.
import { promises as fs, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRecord } from './record.js';
import type { NetworkService } from '../network/service.js';
import { hostsFile, resolvConf } from '../network/etc-files.js';

export const NETWORK_FILES = ['hostname', 'hosts', 'resolv.conf'] as const;

export async function writeNetworkFiles(dir: string, rec: ContainerRecord, network: NetworkService): Promise<void> {
  const hc = rec.HostConfig as Record<string, unknown>;
  const list = (k: string): string[] => (Array.isArray(hc[k]) ? (hc[k] as unknown[]).map(String) : []);
  // Small files written at once: on the path of every start, where a trip
  // through the busy thread pool for each cost more than the write.
  const write = (name: string, text: string): void => writeFileSync(join(dir, name), text);
  const hostResolv = await network.hostResolvConf();
  write('hostname', rec.Config.Hostname + '\n');
  if (rec.HostConfig.NetworkMode === 'host') {
    // The host's own files: its resolvers, loopback ones included, are reachable.
    const hosts = await fs.readFile('/etc/hosts', 'utf8').catch(() => '127.0.0.1\tlocalhost\n');
    const extra = hostsFile({ hostname: '', addresses: [], extraHosts: list('ExtraHosts'), hostGateway: network.hostGateway() })
      .split('\n').slice(6).join('\n');
    write('hosts', hosts.replace(/\n?$/, '\n') + extra);
    const dns = list('Dns');
    write('resolv.conf', dns.length || list('DnsSearch').length || list('DnsOptions').length
      ? resolvConf({ host: hostResolv, embedded: false, dns, search: list('DnsSearch'), options: list('DnsOptions') })
      : hostResolv);
    return;
  }
  write('hosts', hostsFile({
    hostname: rec.Config.Hostname,
    domainname: rec.Config.Domainname || undefined,
    addresses: network.addressesOf(rec),
    extraHosts: list('ExtraHosts'),
    hostGateway: network.hostGateway(),
  }));
  write('resolv.conf', resolvConf({
    host: hostResolv,
    embedded: network.usesEmbeddedDns(rec),
    dns: list('Dns'),
    search: list('DnsSearch'),
    options: list('DnsOptions'),
  }));
}
