// /etc/hostname, /etc/hosts and /etc/resolv.conf of a container, written into
// its data directory at each start (addresses change between runs) and
// bind-mounted over the image's.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { ContainerRecord } from './record.js';
import type { NetworkService } from '../network/service.js';
import { hostsFile, resolvConf } from '../network/etc-files.js';

export const NETWORK_FILES = ['hostname', 'hosts', 'resolv.conf'] as const;

export async function writeNetworkFiles(dir: string, rec: ContainerRecord, network: NetworkService): Promise<void> {
  const hc = rec.HostConfig as Record<string, unknown>;
  const list = (k: string): string[] => (Array.isArray(hc[k]) ? (hc[k] as unknown[]).map(String) : []);
  const [hostResolv] = await Promise.all([network.hostResolvConf(), fs.writeFile(join(dir, 'hostname'), rec.Config.Hostname + '\n')]);
  if (rec.HostConfig.NetworkMode === 'host') {
    // The host's own files: its resolvers, loopback ones included, are reachable.
    const hosts = await fs.readFile('/etc/hosts', 'utf8').catch(() => '127.0.0.1\tlocalhost\n');
    const extra = hostsFile({ hostname: '', addresses: [], extraHosts: list('ExtraHosts'), hostGateway: network.hostGateway() })
      .split('\n').slice(6).join('\n');
    await fs.writeFile(join(dir, 'hosts'), hosts.replace(/\n?$/, '\n') + extra);
    const dns = list('Dns');
    await fs.writeFile(join(dir, 'resolv.conf'), dns.length || list('DnsSearch').length || list('DnsOptions').length
      ? resolvConf({ host: hostResolv, embedded: false, dns, search: list('DnsSearch'), options: list('DnsOptions') })
      : hostResolv);
    return;
  }
  await Promise.all([
    fs.writeFile(join(dir, 'hosts'), hostsFile({
      hostname: rec.Config.Hostname,
      domainname: rec.Config.Domainname || undefined,
      addresses: network.addressesOf(rec),
      extraHosts: list('ExtraHosts'),
      hostGateway: network.hostGateway(),
    })),
    fs.writeFile(join(dir, 'resolv.conf'), resolvConf({
      host: hostResolv,
      embedded: network.usesEmbeddedDns(rec),
      dns: list('Dns'),
      search: list('DnsSearch'),
      options: list('DnsOptions'),
    })),
  ]);
}
