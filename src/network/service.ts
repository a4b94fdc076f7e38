// NetworkService: networks and the network side of containers. It owns the
// bridges, the firewall chains, address allocation, published ports and the
// embedded DNS server; ContainerService calls prepareSandbox() before a container
// starts and detach() after it exits.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { EventBus } from '../lib/event-bus.js';
import { ConflictError, InvalidParameterError, NotFoundError, SystemError } from '../lib/errors.js';
import { KeyedMutex } from '../lib/mutex.js';
import type { ContainerRecord } from '../container/record.js';
import { allocate, checkRequested, formatIp, macFor, parseIp } from './ipam.js';
import { Firewall, installDnsRedirect, type BridgeRules, type PublishedPort } from './firewall.js';
import { addInterface, createNetns, ensureBridge, deleteLink, hostRouteCidrs, linkExists, linkIpv4, listLinks, listNetns, netnsPath, removeSandbox, type Interface } from './iproute.js';
import { PortReservations } from './port-reservations.js';
import { EmbeddedDns, nameservers } from './dns-server.js';
import { splitPortKey, type PortBindings, type PortMapping } from './port-spec.js';
import { NetworkStore, ForbiddenError, bridgeOf, poolOf, isDefaultBridge, networkNotFound, type CreateNetworkRequest } from './store.js';
import {
  emptyEndpoint, ICC_OPTION, MASQUERADE_OPTION, PREDEFINED,
  type EndpointRequest, type EndpointSettings, type InstalledPort, type NetworkRecord, type NetworkSettings,
} from './types.js';

export interface NetworkServiceOptions {
  /** data-root/network */
  root: string;
  /** the default bridge's interface (dockerd's --bridge; berth0) */
  bridgeName: string;
  /** the default bridge's address and prefix (dockerd's --bip) */
  bip?: string;
  /** where published ports bind when -p names no address (dockerd's --ip) */
  defaultBindIp: string;
  /** names of this daemon's network namespaces start with it */
  netnsPrefix: string;
}

/** What a container directory offers the network side. */
export interface ContainerDirectory {
  list(): ContainerRecord[];
  tryGet(ref: string): ContainerRecord | undefined;
}

/** What the runtime needs to put a container into its network. */
export interface SandboxSpec {
  /** join this namespace; undefined with hostNetwork, or a fresh one never happens */
  netnsPath?: string;
  hostNetwork: boolean;
  sysctls: Record<string, string>;
}

/** A sandbox whose namespace and addresses exist, its devices not yet (see NetworkService.prepareSandbox). */
export interface PreparedSandbox {
  spec: SandboxSpec;
  /** Create the interfaces, the DNS redirect and the published ports. On failure, detach undoes it all. */
  plumb(): Promise<void>;
}

type Log = (level: string, msg: string, fields?: Record<string, unknown>) => void;

export class NetworkService {
  readonly store: NetworkStore;
  private readonly firewall = new Firewall();
  private readonly ports = new PortReservations();
  private readonly dns: EmbeddedDns;
  private readonly lock = new KeyedMutex();
  /** network id → address → container id, for running containers */
  private readonly allocations = new Map<string, Map<number, string>>();
  private containers: ContainerDirectory = { list: () => [], tryGet: () => undefined };
  private hostResolv = { at: 0, text: '' };

  constructor(private readonly opts: NetworkServiceOptions, private readonly events: EventBus, private readonly log: Log) {
    this.store = new NetworkStore(opts.root);
    this.dns = new EmbeddedDns((c, n) => this.lookupName(c, n), (c, ip) => this.lookupAddress(c, ip), (c) => this.upstreams(c), log);
  }

  setNetnsPrefix(prefix: string): void {
    this.opts.netnsPrefix = prefix;
  }

  bindContainers(dir: ContainerDirectory): void {
    this.containers = dir;
  }

  // ---- startup ----------------------------------------------------------------

  /** Records, the default networks, bridges and chains. Containers are restored after. */
  async load(): Promise<void> {
    await this.store.load();
    const inUse = [...await hostRouteCidrs(), ...this.subnetsInUse()];
    const existing = await linkIpv4(this.opts.bridgeName).catch(() => undefined);
    await this.store.ensurePredefined(this.opts.bridgeName, this.opts.bip, inUse, this.opts.defaultBindIp, existing);
    await this.firewall.ensureBase();
    for (const n of this.store.list()) {
      if (n.Driver !== 'bridge') continue;
      await this.bringUp(n).catch((err: unknown) => this.log('error', 'cannot set up network', { network: n.Name, err: String(err) }));
    }
  }

  private async bringUp(n: NetworkRecord): Promise<void> {
    const bridge = bridgeOf(n)!;
    const c = n.IPAM.Config[0]!;
    await ensureBridge(bridge, `${c.Gateway}/${c.Subnet.split('/')[1]}`);
    await this.firewall.installNetwork(this.rulesFor(n), []);
    if (!isDefaultBridge(n)) {
      await this.dns.listen(c.Gateway).catch((err: unknown) => {
        this.log('warn', 'embedded DNS cannot listen; container names will not resolve', { network: n.Name, err: String(err) });
      });
    }
  }

  private rulesFor(n: NetworkRecord): BridgeRules {
    return {
      bridge: bridgeOf(n)!, subnet: n.IPAM.Config[0]!.Subnet, internal: n.Internal,
      icc: n.Options[ICC_OPTION] !== 'false', masquerade: n.Options[MASQUERADE_OPTION] !== 'false',
    };
  }

  /** A container that kept running while berthd was down: take its addresses and ports back. */
  async restore(rec: ContainerRecord): Promise<void> {
    const sb = rec.Sandbox;
    if (!sb) return;
    for (const [netName, ep] of Object.entries(rec.NetworkSettings?.Networks ?? {})) {
      const ip = parseIp(ep.IPAddress);
      const n = this.store.tryGet(ep.NetworkID) ?? this.store.byName(netName);
      if (ip !== undefined && n) this.allocs(n.Id).set(ip, rec.Id);
    }
    for (const p of sb.ports) {
      await this.ports.reserve(p.proto, p.hostIp, p.hostPort, rec.Id).catch((err: unknown) => {
        this.log('warn', 'cannot hold published port again', { id: rec.Id, port: p.hostPort, err: String(err) });
      });
    }
    const byBridge = new Map<string, PublishedPort[]>();
    for (const p of sb.ports) {
      const list = byBridge.get(p.bridge) ?? [];
      list.push({ mapping: p, containerIp: p.containerIp, containerId: rec.Id });
      byBridge.set(p.bridge, list);
    }
    for (const [bridge, list] of byBridge) await this.firewall.publish(bridge, list).catch(() => undefined);
  }

  /**
   * Remove what a crash left behind: this daemon's namespaces and veths of
   * containers that are not running, and Berth chains whose bridge is gone.
   */
  async sweep(): Promise<void> {
    const running = this.containers.list().filter((c) => c.State.Running && c.Sandbox);
    const liveNs = new Set(running.map((c) => c.Sandbox!.netns).filter((n): n is string => !!n));
    const liveVeths = new Set(running.flatMap((c) => Object.values(c.Sandbox!.veths)));
    for (const ns of await listNetns()) {
      if (ns.startsWith(this.opts.netnsPrefix) && !liveNs.has(ns)) await removeSandbox(ns, []);
    }
    const ours = new Set(this.store.list().map(bridgeOf).filter((b): b is string => !!b));
    for (const link of await listLinks()) {
      if (!link.startsWith('vb') || liveVeths.has(link)) continue;
      let master = '';
      try {
        master = basename(readlinkSync(`/sys/class/net/${link}/master`));
      } catch { /* not enslaved */ }
      if (ours.has(master)) await deleteLink(link);
    }
    for (const bridge of await this.firewall.bridgesWithChains()) {
      if (!ours.has(bridge) && !(await linkExists(bridge))) await this.firewall.removeNetwork(bridge);
    }
  }

  close(): void {
    this.dns.closeAll();
    this.ports.closeAll();
  }

  // ---- networks -----------------------------------------------------------------

  private subnetsInUse(): string[] {
    return this.store.list().flatMap((n) => n.IPAM.Config.map((c) => c.Subnet));
  }

  async create(req: CreateNetworkRequest): Promise<NetworkRecord> {
    return this.lock.run('networks', async () => {
      const inUse = [...await hostRouteCidrs(), ...this.subnetsInUse()];
      const rec = await this.store.create(req, inUse);
      try {
        await this.bringUp(rec);
        await this.store.save(rec);
      } catch (err) {
        await this.tearDownNetwork(rec);
        throw err instanceof SystemError || err instanceof InvalidParameterError ? err : new SystemError(String(err));
      }
      this.events.publish('network', 'create', rec.Id, { name: rec.Name, type: rec.Driver });
      return rec;
    });
  }

  private async tearDownNetwork(n: NetworkRecord): Promise<void> {
    const bridge = bridgeOf(n);
    if (!bridge) return;
    const gw = n.IPAM.Config[0]?.Gateway;
    if (gw) this.dns.close(gw);
    await this.firewall.removeNetwork(bridge).catch(() => undefined);
    await deleteLink(bridge);
  }

  /** Running containers with an endpoint on the network. */
  activeEndpoints(n: NetworkRecord): ContainerRecord[] {
    return this.containers.list().filter((c) => c.State.Running && Object.values(c.NetworkSettings?.Networks ?? {}).some((e) => e.NetworkID === n.Id && e.IPAddress));
  }

  async remove(ref: string): Promise<void> {
    const n = this.store.get(ref);
    if (PREDEFINED.includes(n.Name)) throw new ForbiddenError(`${n.Name} is a pre-defined network and cannot be removed`);
    await this.lock.run('networks', async () => {
      if (this.activeEndpoints(n).length) {
        throw new ForbiddenError(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`);
      }
      // Record first: a crash after this leaves a bridge the sweep removes, never a record without a bridge.
      await this.store.delete(n);
      await this.tearDownNetwork(n);
      this.allocations.delete(n.Id);
      this.events.publish('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
    });
  }

  async prune(keep: (n: NetworkRecord) => boolean): Promise<string[]> {
    const removed: string[] = [];
    for (const n of this.store.list()) {
      if (PREDEFINED.includes(n.Name) || keep(n) || this.activeEndpoints(n).length) continue;
      const inUse = this.containers.list().some((c) => Object.values(c.NetworkSettings?.Networks ?? {}).some((e) => e.NetworkID === n.Id));
      if (inUse) continue;
      await this.remove(n.Id).then(() => removed.push(n.Name), () => undefined);
    }
    this.events.publish('network', 'prune', '', { reclaimed: '0' });
    return removed;
  }

  /** `Containers` of network inspect: running containers with their endpoint. */
  containersOf(n: NetworkRecord): Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }> {
    const out: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }> = {};
    for (const c of this.activeEndpoints(n)) {
      const ep = Object.values(c.NetworkSettings!.Networks).find((e) => e.NetworkID === n.Id)!;
      out[c.Id] = {
        Name: c.Name.slice(1), EndpointID: ep.EndpointID, MacAddress: ep.MacAddress,
        IPv4Address: `${ep.IPAddress}/${ep.IPPrefixLen}`, IPv6Address: '',
      };
    }
    return out;
  }

  /** The default bridge's gateway: `host-gateway` in --add-host. */
  hostGateway(): string {
    return this.store.byName('bridge')?.IPAM.Config[0]?.Gateway ?? '127.0.0.1';
  }

  // ---- container create ----------------------------------------------------------

  /**
   * Check a create request's network mode and endpoints; returns the
   * NetworkSettings to store (addresses come at start).
   */
  prepare(mode: string, endpoints: Record<string, EndpointRequest>, ports: PortBindings): NetworkSettings {
    const settings: NetworkSettings = { Networks: {}, Ports: {}, SandboxKey: '' };
    if (mode.startsWith('container:')) {
      const other = mode.slice('container:'.length);
      if (!this.containers.tryGet(other)) throw new NotFoundError(`No such container: ${other}`);
      if (Object.keys(ports).length) throw new ConflictError('conflicting options: port publishing and the container type network mode');
      return settings;
    }
    const name = mode === 'default' ? 'bridge' : mode;
    // The docker CLI names the default network "default" in EndpointsConfig too.
    endpoints = Object.fromEntries(Object.entries(endpoints).map(([k, v]) => [k === 'default' ? 'bridge' : k, v]));
    const n = this.store.tryGet(name);
    // 400, not 404: the docker CLI reads a 404 from create as "image missing" and tries to pull.
    if (!n) throw new InvalidParameterError(`network ${name} not found`);
    const req = endpoints[n.Name] ?? endpoints[name] ?? Object.values(endpoints)[0] ?? {};
    this.checkEndpoint(n, req);
    settings.Networks[n.Name] = emptyEndpoint(n.Id, req);
    // API 1.44 clients may ask for several networks at create.
    for (const [other, r] of Object.entries(endpoints)) {
      const o = this.store.tryGet(other);
      if (!o) throw new InvalidParameterError(`network ${other} not found`);
      if (o.Id === n.Id) continue;
      if (o.Driver !== 'bridge' || n.Driver !== 'bridge') throw new InvalidParameterError('Container cannot be connected to network endpoints');
      this.checkEndpoint(o, r);
      settings.Networks[o.Name] = emptyEndpoint(o.Id, r);
    }
    return settings;
  }

  private checkEndpoint(n: NetworkRecord, req: EndpointRequest): void {
    if (n.Driver !== 'bridge' || isDefaultBridge(n)) {
      if (req.IPAMConfig?.IPv4Address) throw new InvalidParameterError('user specified IP address is supported on user defined networks only');
      if (req.Aliases?.length) throw new InvalidParameterError('network-scoped alias is supported only for containers in user defined networks');
    }
    const ip = req.IPAMConfig?.IPv4Address;
    if (ip) {
      const addr = parseIp(ip);
      if (addr === undefined) throw new InvalidParameterError(`invalid IPv4 address: ${ip}`);
      checkRequested(poolOf(n)!, addr, new Set(), ip);
    }
    if (req.IPAMConfig?.IPv6Address) throw new InvalidParameterError('IPv6 addresses are not supported by Berth');
  }

  // ---- container start and exit --------------------------------------------------

  private allocs(networkId: string): Map<number, string> {
    let m = this.allocations.get(networkId);
    if (!m) this.allocations.set(networkId, m = new Map());
    return m;
  }

  /**
   * A host veth name of its own for each attach: a removed sandbox's veths
   * go away with its namespace, asynchronously (see removeSandbox), and the
   * next start of the same container must not collide with them.
   */
  private vethName(containerId: string, networkId: string): string {
    return 'vb' + createHash('sha256').update(`${containerId}/${networkId}/${randomBytes(8).toString('hex')}`).digest('hex').slice(0, 11);
  }

  /**
   * The first half of building the container's network: its namespace
   * (loopback up) and an address on each network, recorded in
   * rec.NetworkSettings and rec.Sandbox, but no device yet. `plumb` does
   * the rest. The runtime only needs the namespace to exist (it joins it by
   * path, and nothing runs in it before start), so the container's start
   * creates it while the veths are plumbed: two `ip` processes off the
   * path of every start. Undoes what it did when a step fails.
   */
  async prepareSandbox(rec: ContainerRecord): Promise<PreparedSandbox> {
    const mode = rec.HostConfig.NetworkMode;
    const settings = rec.NetworkSettings ?? { Networks: {}, Ports: {}, SandboxKey: '' };
    rec.NetworkSettings = settings;
    const ready = (spec: SandboxSpec): PreparedSandbox => ({ spec, plumb: async () => undefined });
    if (mode === 'host') return ready({ hostNetwork: true, sysctls: {} });
    if (mode.startsWith('container:')) {
      const other = this.containers.tryGet(mode.slice('container:'.length));
      if (!other || !other.State.Running) throw new ConflictError(`cannot join network of a non running container: ${mode.slice('container:'.length)}`);
      if (other.HostConfig.NetworkMode === 'host') return ready({ hostNetwork: true, sysctls: {} });
      const ns = other.Sandbox?.netns;
      if (!ns) throw new ConflictError(`cannot join network of container ${other.Id}: it has no network namespace`);
      rec.Sandbox = { veths: {}, ports: [] };
      settings.SandboxKey = netnsPath(ns);
      return ready({ hostNetwork: false, netnsPath: netnsPath(ns), sysctls: {} });
    }
    const ns = `${this.opts.netnsPrefix}${rec.Id.slice(0, 12)}`;
    rec.Sandbox = { netns: ns, veths: {}, ports: [] };
    settings.SandboxKey = netnsPath(ns);
    const sysctls: Record<string, string> = {};
    try {
      await createNetns(ns);
      if (mode === 'none') return ready({ hostNetwork: false, netnsPath: netnsPath(ns), sysctls });
      const steps: (() => Promise<void>)[] = [];
      let first = true;
      for (const [netName, ep] of Object.entries(settings.Networks)) {
        const n = this.store.tryGet(ep.NetworkID) ?? this.store.tryGet(netName);
        if (!n) throw new NotFoundError(`network ${netName} not found`);
        const ifname = `eth${Object.keys(rec.Sandbox.veths).length}`;
        const ifc = this.address(rec, n, ep, ifname, first);
        const isFirst = first;
        steps.push(async () => {
          await addInterface(ns, ifc);
          if (isFirst && !isDefaultBridge(n)) await installDnsRedirect(netnsPath(ns), ep.Gateway, ep.IPAddress);
          if (isFirst) await this.publishPorts(rec, n, ep);
        });
        if (first && !isDefaultBridge(n)) sysctls[`net.ipv4.conf.${ifname}.route_localnet`] = '1';
        first = false;
      }
      return {
        spec: { hostNetwork: false, netnsPath: netnsPath(ns), sysctls },
        plumb: async () => { for (const step of steps) await step(); },
      };
    } catch (err) {
      await this.detach(rec);
      throw err;
    }
  }

  /** An address from network n's pool for the container's interface `ifname`, recorded in its endpoint. */
  private address(rec: ContainerRecord, n: NetworkRecord, ep: EndpointSettings, ifname: string, withGateway: boolean): Interface {
    const pool = poolOf(n)!;
    const used = this.allocs(n.Id);
    let ip: number;
    if (ep.IPAMConfig?.IPv4Address) {
      ip = parseIp(ep.IPAMConfig.IPv4Address)!;
      checkRequested(pool, ip, new Set(used.keys()), ep.IPAMConfig.IPv4Address);
    } else {
      const free = allocate(pool, new Set(used.keys()));
      if (free === undefined) throw new SystemError(`no available IPv4 addresses on this network's address pools: ${n.Name} (${n.Id})`);
      ip = free;
    }
    used.set(ip, rec.Id);
    const veth = this.vethName(rec.Id, n.Id);
    rec.Sandbox!.veths[n.Id] = veth;
    Object.assign(ep, {
      IPAddress: formatIp(ip), IPPrefixLen: pool.subnet.prefix, Gateway: formatIp(pool.gateway), MacAddress: macFor(ip),
      EndpointID: createHash('sha256').update(`${rec.Id}/${n.Id}/${Date.now()}`).digest('hex'),
      DNSNames: isDefaultBridge(n) ? null : [rec.Name.slice(1), ...(ep.Aliases ?? []), rec.Id.slice(0, 12)],
    });
    return {
      name: ifname, hostName: veth, bridge: bridgeOf(n)!, address: formatIp(ip), prefix: pool.subnet.prefix,
      mac: macFor(ip), gateway: withGateway ? formatIp(pool.gateway) : undefined,
    };
  }

  private async publishPorts(rec: ContainerRecord, n: NetworkRecord, ep: EndpointSettings): Promise<void> {
    const bindings = rec.HostConfig.PortBindings as PortBindings | null ?? {};
    const wanted: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const [k, list] of Object.entries(bindings)) if (list?.length) wanted[k] = list;
    // -P: every exposed port without a binding gets a random one.
    if (rec.HostConfig.PublishAllPorts) {
      for (const k of Object.keys(rec.Config.ExposedPorts ?? {})) wanted[k] ??= [{ HostIp: '', HostPort: '' }];
    }
    const out: PortBindings = {};
    for (const k of Object.keys(rec.Config.ExposedPorts ?? {})) out[k] = null;
    const installed: InstalledPort[] = [];
    for (const [key, list] of Object.entries(wanted)) {
      const [containerPort, proto] = splitPortKey(key);
      for (const b of list) {
        const hostIp = b.HostIp || this.opts.defaultBindIp;
        let hostPort: number;
        if (!b.HostPort) hostPort = await this.ports.reserve(proto, hostIp, 0, rec.Id);
        else {
          const [lo, hi = lo] = b.HostPort.split('-').map(Number) as [number, number?];
          hostPort = await this.ports.reserveInRange(proto, hostIp, lo, hi, rec.Id);
        }
        const m: PortMapping = { proto, containerPort, hostIp, hostPort };
        installed.push({ ...m, bridge: bridgeOf(n)!, containerIp: ep.IPAddress });
        rec.Sandbox!.ports = installed;
        (out[`${containerPort}/${proto}`] ??= []);
        out[`${containerPort}/${proto}`]!.push({ HostIp: hostIp, HostPort: String(hostPort) });
      }
    }
    await this.firewall.publish(bridgeOf(n)!, installed.map((p) => ({ mapping: p, containerIp: p.containerIp, containerId: rec.Id })));
    rec.NetworkSettings!.Ports = out;
  }

  /** Undo attach: ports, rules, interfaces, namespace, addresses. Safe to call twice. */
  async detach(rec: ContainerRecord): Promise<void> {
    const sb = rec.Sandbox;
    this.ports.releaseOwner(rec.Id);
    if (sb) {
      const byBridge = new Map<string, InstalledPort[]>();
      for (const p of sb.ports) byBridge.set(p.bridge, [...(byBridge.get(p.bridge) ?? []), p]);
      for (const [bridge, list] of byBridge) {
        await this.firewall.unpublish(bridge, list.map((p) => ({ mapping: p, containerIp: p.containerIp, containerId: rec.Id })));
      }
      await removeSandbox(sb.netns, Object.values(sb.veths));
    }
    for (const m of this.allocations.values()) for (const [ip, owner] of m) if (owner === rec.Id) m.delete(ip);
    for (const ep of Object.values(rec.NetworkSettings?.Networks ?? {})) {
      Object.assign(ep, { IPAddress: '', IPPrefixLen: 0, Gateway: '', MacAddress: '', EndpointID: '', DNSNames: null });
    }
    if (rec.NetworkSettings) {
      rec.NetworkSettings.Ports = {};
      rec.NetworkSettings.SandboxKey = '';
    }
    delete rec.Sandbox;
  }

  /** The container's addresses for its /etc/hosts, first network first. */
  addressesOf(rec: ContainerRecord): string[] {
    return Object.values(rec.NetworkSettings?.Networks ?? {}).map((e) => e.IPAddress).filter(Boolean);
  }

  /** Does the container resolve names through the embedded server? */
  usesEmbeddedDns(rec: ContainerRecord): boolean {
    const first = Object.values(rec.NetworkSettings?.Networks ?? {})[0];
    const n = first && this.store.tryGet(first.NetworkID);
    return !!n && n.Driver === 'bridge' && !isDefaultBridge(n);
  }

  // ---- connect / disconnect ------------------------------------------------------

  /** Add a network to a container; plugs it in at once when it runs. */
  async connect(rec: ContainerRecord, ref: string, req: EndpointRequest): Promise<void> {
    const n = this.store.get(ref);
    const settings = rec.NetworkSettings ??= { Networks: {}, Ports: {}, SandboxKey: '' };
    const mode = rec.HostConfig.NetworkMode;
    if (mode === 'host' || mode === 'none' || mode.startsWith('container:') || n.Driver !== 'bridge') {
      throw new InvalidParameterError(`container cannot be disconnected from host network or connected to host network`);
    }
    if (Object.values(settings.Networks).some((e) => e.NetworkID === n.Id)) {
      throw new ForbiddenError(`endpoint with name ${rec.Name.slice(1)} already exists in network ${n.Name}`);
    }
    this.checkEndpoint(n, req);
    const ep = emptyEndpoint(n.Id, req);
    if (rec.State.Running && rec.Sandbox?.netns) {
      const ifname = `eth${Object.keys(rec.Sandbox.veths).length}`;
      try {
        await addInterface(rec.Sandbox.netns, this.address(rec, n, ep, ifname, false));
      } catch (err) {
        for (const [ip, owner] of this.allocs(n.Id)) if (owner === rec.Id) this.allocs(n.Id).delete(ip);
        const veth = rec.Sandbox.veths[n.Id];
        delete rec.Sandbox.veths[n.Id];
        if (veth) await deleteLink(veth);
        throw err;
      }
    }
    settings.Networks[n.Name] = ep;
    this.events.publish('network', 'connect', n.Id, { container: rec.Id, name: n.Name, type: n.Driver });
  }

  async disconnect(rec: ContainerRecord, ref: string): Promise<void> {
    const n = this.store.tryGet(ref);
    const settings = rec.NetworkSettings;
    const entry = Object.entries(settings?.Networks ?? {}).find(([name, e]) => (n ? e.NetworkID === n.Id : name === ref));
    if (!entry) {
      if (!n) throw networkNotFound(ref);
      // dockerd's two wordings: from a running container's sandbox, and from a stopped one's record.
      throw new ForbiddenError(`container ${rec.Id} is not connected to ${rec.State.Running ? '' : 'the '}network ${n.Name}`);
    }
    const [name, ep] = entry;
    if (rec.State.Running && rec.Sandbox) {
      const veth = rec.Sandbox.veths[ep.NetworkID];
      if (veth) await deleteLink(veth);
      delete rec.Sandbox.veths[ep.NetworkID];
      const m = this.allocations.get(ep.NetworkID);
      if (m) for (const [ip, owner] of m) if (owner === rec.Id) m.delete(ip);
    }
    delete settings!.Networks[name];
    this.events.publish('network', 'disconnect', ep.NetworkID, { container: rec.Id, name, type: n?.Driver ?? 'bridge' });
  }

  // ---- embedded DNS ---------------------------------------------------------------

  private containerAt(ip: string): ContainerRecord | undefined {
    const addr = parseIp(ip);
    if (addr === undefined) return undefined;
    for (const m of this.allocations.values()) {
      const id = m.get(addr);
      if (id) return this.containers.tryGet(id);
    }
    return undefined;
  }

  /** Containers on the asker's user-defined networks answer to name, alias and short id. */
  lookupName(clientIp: string, name: string): string[] | undefined {
    const client = this.containerAt(clientIp);
    if (!client) return undefined;
    const out: string[] = [];
    for (const ep of Object.values(client.NetworkSettings?.Networks ?? {})) {
      const n = this.store.tryGet(ep.NetworkID);
      if (!n || isDefaultBridge(n) || n.Driver !== 'bridge') continue;
      // `name.network` is the same name, qualified.
      const bare = name.endsWith(`.${n.Name.toLowerCase()}`) ? name.slice(0, -n.Name.length - 1) : name;
      for (const c of this.activeEndpoints(n)) {
        const cep = Object.values(c.NetworkSettings!.Networks).find((e) => e.NetworkID === n.Id)!;
        const names = [c.Name.slice(1), ...(cep.Aliases ?? []), c.Id.slice(0, 12)].map((s) => s.toLowerCase());
        if ((names.includes(bare) || c.Id === bare) && cep.IPAddress && !out.includes(cep.IPAddress)) out.push(cep.IPAddress);
      }
    }
    return out.length ? out : undefined;
  }

  lookupAddress(clientIp: string, ip: string): string | undefined {
    const client = this.containerAt(clientIp);
    const target = this.containerAt(ip);
    if (!client || !target) return undefined;
    const shared = Object.values(target.NetworkSettings?.Networks ?? {}).find((e) => e.IPAddress === ip);
    const n = shared && this.store.tryGet(shared.NetworkID);
    if (!n || isDefaultBridge(n)) return undefined;
    return `${target.Name.slice(1)}.${n.Name}`;
  }

  /**
   * Where names that are not containers go: the asking container's `--dns`
   * servers when it has any (as Docker's embedded DNS), else the host's.
   */
  private upstreams(clientIp: string): string[] {
    const own = (this.containerAt(clientIp)?.HostConfig as { Dns?: string[] | null } | undefined)?.Dns ?? [];
    if (own.length) return own;
    if (Date.now() - this.hostResolv.at > 5000) {
      let text = '';
      try {
        text = readFileSync('/etc/resolv.conf', 'utf8');
      } catch { /* none */ }
      this.hostResolv = { at: Date.now(), text };
    }
    return nameservers(this.hostResolv.text);
  }

  /** Host resolv.conf text, for containers' files. */
  async hostResolvConf(): Promise<string> {
    return fs.readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  }
}
