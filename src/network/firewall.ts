// Berth's packet filter and NAT rules. Everything Berth adds lives in chains
// whose names start with BERTH, hooked into the built-in chains by one jump
// each; BERTH-USER comes first in FORWARD and is never touched by Berth, so a
// host's own rules there see (and may refuse) traffic to published ports
// before Berth accepts it. See docs/networking.md.
import { ensureChain, ensureRule, deleteRule, deleteChain, restore, listRules, type Table } from './iptables.js';
import { writeSysctl } from './iproute.js';
import type { PortMapping } from './port-spec.js';

export const USER_CHAIN = 'BERTH-USER';
export const FORWARD_CHAIN = 'BERTH-FORWARD';
export const DNAT_CHAIN = 'BERTH';
export const POSTROUTING_CHAIN = 'BERTH-POSTROUTING';

/** Per-network chains, named after the bridge (unique on the host). */
export function networkChains(bridge: string): { filter: string; dnat: string; snat: string } {
  return { filter: `BERTH-F-${bridge}`, dnat: `BERTH-D-${bridge}`, snat: `BERTH-S-${bridge}` };
}

export interface BridgeRules {
  bridge: string;
  subnet: string;
  /** no traffic in or out of the subnet except between its containers */
  internal: boolean;
  /** containers may talk to each other on this bridge (dockerd's enable_icc) */
  icc: boolean;
  /** outbound traffic leaves with the host's address (enable_ip_masquerade) */
  masquerade: boolean;
}

/**
 * The filter chain of one bridge. FORWARD reaches it for `-o bridge` before
 * any `-i bridge` of any network (see ensureBase), so traffic from another
 * bridge meets this bridge's DROP before its own network's ACCEPT.
 */
export function filterRules(n: BridgeRules): string[] {
  const c = networkChains(n.bridge).filter;
  const b = n.bridge;
  return [
    `-A ${c} -o ${b} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A ${c} -i ${b} -o ${b} -j ${n.icc ? 'ACCEPT' : 'DROP'}`,
    ...(n.internal ? [] : [`-A ${c} -o ${b} -m conntrack --ctstate DNAT -j ACCEPT`]),
    `-A ${c} -o ${b} -j DROP`,
    `-A ${c} -i ${b} -j ${n.internal ? 'DROP' : 'ACCEPT'}`,
  ];
}

export function snatRules(n: BridgeRules): string[] {
  const c = networkChains(n.bridge).snat;
  const b = n.bridge;
  if (n.internal) return [];
  return [
    ...(n.masquerade ? [`-A ${c} -s ${n.subnet} ! -o ${b} -j MASQUERADE`] : []),
    // Published ports reached through 127.0.0.1 (route_localnet on the bridge).
    `-A ${c} -s 127.0.0.0/8 -o ${b} -j MASQUERADE`,
    // A container reaching a published port of its neighbour through the host's address.
    `-A ${c} -s ${n.subnet} -o ${b} -m conntrack --ctstate DNAT -j MASQUERADE`,
  ];
}

export interface PublishedPort { mapping: PortMapping; containerIp: string; containerId: string }

export function dnatRule(bridge: string, p: PublishedPort): string {
  const m = p.mapping;
  const dst = m.hostIp && m.hostIp !== '0.0.0.0' ? ` -d ${m.hostIp}/32` : '';
  return `-A ${networkChains(bridge).dnat} -p ${m.proto}${dst} -m ${m.proto} --dport ${m.hostPort}`
    + ` -m comment --comment berth:${p.containerId.slice(0, 12)} -j DNAT --to-destination ${p.containerIp}:${m.containerPort}`;
}

/**
 * Rules inside a container's namespace: the embedded DNS server answers on
 * 127.0.0.11 as Docker's does, though it really listens on the gateway.
 */
export function dnsRedirectRules(gateway: string, containerIp: string): string[] {
  return ['udp', 'tcp'].flatMap((p) => [
    `-A OUTPUT -d 127.0.0.11/32 -p ${p} -m ${p} --dport 53 -j DNAT --to-destination ${gateway}:53`,
    `-A POSTROUTING -s 127.0.0.0/8 -d ${gateway}/32 -p ${p} -m ${p} --dport 53 -j SNAT --to-source ${containerIp}`,
  ]);
}

export class Firewall {
  /** Shared chains and their jumps from the built-in chains; idempotent. */
  async ensureBase(): Promise<void> {
    await writeSysctl('net/ipv4/ip_forward', '1');
    await ensureChain('filter', USER_CHAIN);
    await ensureChain('filter', FORWARD_CHAIN);
    // BERTH-USER first, then Berth's own decisions.
    await ensureRule('filter', 'FORWARD', ['-j', FORWARD_CHAIN], 1);
    await ensureRule('filter', 'FORWARD', ['-j', USER_CHAIN], 1);
    await ensureRule('filter', USER_CHAIN, ['-j', 'RETURN']);
    await ensureChain('nat', DNAT_CHAIN);
    await ensureChain('nat', POSTROUTING_CHAIN);
    await ensureRule('nat', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', DNAT_CHAIN]);
    await ensureRule('nat', 'OUTPUT', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', DNAT_CHAIN]);
    await ensureRule('nat', 'POSTROUTING', ['-j', POSTROUTING_CHAIN]);
  }

  /** (Re)write a bridge's chains from scratch, with the ports published on it now. */
  async installNetwork(n: BridgeRules, ports: PublishedPort[]): Promise<void> {
    const c = networkChains(n.bridge);
    await restore('nat', [c.dnat, c.snat], [...ports.map((p) => dnatRule(n.bridge, p)), ...snatRules(n)]);
    await restore('filter', [c.filter], filterRules(n));
    await ensureRule('nat', DNAT_CHAIN, ['-j', c.dnat]);
    await ensureRule('nat', POSTROUTING_CHAIN, ['-j', c.snat]);
    // Every `-o` jump goes to the top, every `-i` jump to the bottom.
    await ensureRule('filter', FORWARD_CHAIN, ['-o', n.bridge, '-j', c.filter], 1);
    await ensureRule('filter', FORWARD_CHAIN, ['-i', n.bridge, '-j', c.filter]);
  }

  async removeNetwork(bridge: string): Promise<void> {
    const c = networkChains(bridge);
    await deleteRule('nat', DNAT_CHAIN, ['-j', c.dnat]);
    await deleteRule('nat', POSTROUTING_CHAIN, ['-j', c.snat]);
    await deleteRule('filter', FORWARD_CHAIN, ['-o', bridge, '-j', c.filter]);
    await deleteRule('filter', FORWARD_CHAIN, ['-i', bridge, '-j', c.filter]);
    await deleteChain('nat', c.dnat);
    await deleteChain('nat', c.snat);
    await deleteChain('filter', c.filter);
  }

  async publish(bridge: string, ports: PublishedPort[]): Promise<void> {
    if (ports.length) await restore('nat', [], ports.map((p) => dnatRule(bridge, p)));
  }

  async unpublish(bridge: string, ports: PublishedPort[]): Promise<void> {
    if (!ports.length) return;
    await restore('nat', [], ports.map((p) => dnatRule(bridge, p).replace(/^-A /, '-D '))).catch(async () => {
      // One rule already gone fails the whole batch: fall back to one by one.
      for (const p of ports) await restore('nat', [], [dnatRule(bridge, p).replace(/^-A /, '-D ')]).catch(() => undefined);
    });
  }

  /** The bridges that have Berth chains, in either table. */
  async bridgesWithChains(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const table of ['nat', 'filter'] as Table[]) {
      for (const line of await listRules(table)) {
        const m = /^-N BERTH-[FDS]-(\S+)$/.exec(line);
        if (m) out.add(m[1]!);
      }
    }
    return out;
  }
}

/** Install the DNS redirect in a fresh container namespace. */
export async function installDnsRedirect(netnsFile: string, gateway: string, containerIp: string): Promise<void> {
  await restore('nat', [], dnsRedirectRules(gateway, containerIp), { netns: netnsFile, flush: true });
}
