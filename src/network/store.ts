// Network records on disk (data-root/network/<id>.json) and the rules for
// creating them: names, drivers, subnets, bridge names, options.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { newId } from '../lib/ids.js';
import { writeJsonAtomic, readJson } from '../lib/atomic.js';
import { ConflictError, EngineError, InvalidParameterError, NotFoundError } from '../lib/errors.js';
import { chooseSubnet, defaultPools, formatIp, formatSubnet, overlaps, parseIp, parseSubnet, poolConfig, type PoolConfig } from './ipam.js';
import {
  BRIDGE_NAME_OPTION, DEFAULT_BRIDGE_OPTION, HOST_BINDING_OPTION, ICC_OPTION, MASQUERADE_OPTION, MTU_OPTION,
  PREDEFINED, type NetworkRecord,
} from './types.js';

export interface CreateNetworkRequest {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  CheckDuplicate?: boolean;
  IPAM?: { Driver?: string; Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export class ForbiddenError extends EngineError {
  constructor(message: string) { super(403, message); }
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function networkNotFound(ref: string): NotFoundError {
  return new NotFoundError(`network ${ref} not found`);
}

function nowRfc3339(): string {
  return new Date().toISOString();
}

export class NetworkStore {
  private readonly records = new Map<string, NetworkRecord>();

  constructor(private readonly dir: string) {}

  async load(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    for (const f of await fs.readdir(this.dir)) {
      if (!f.endsWith('.json')) continue;
      try {
        const rec = await readJson<NetworkRecord>(join(this.dir, f));
        this.records.set(rec.Id, rec);
      } catch {
        // A create interrupted before the rename: never acknowledged.
        await fs.rm(join(this.dir, f), { force: true });
      }
    }
  }

  list(): NetworkRecord[] {
    return [...this.records.values()].sort((a, b) => a.Name.localeCompare(b.Name));
  }

  /** Docker's order: full id, exact name, then a unique id prefix. */
  get(ref: string): NetworkRecord {
    const r = this.tryGet(ref);
    if (!r) throw networkNotFound(ref);
    return r;
  }

  tryGet(ref: string): NetworkRecord | undefined {
    const byId = this.records.get(ref);
    if (byId) return byId;
    const byName = [...this.records.values()].find((n) => n.Name === ref);
    if (byName) return byName;
    if (/^[0-9a-f]+$/.test(ref)) {
      const m = [...this.records.values()].filter((n) => n.Id.startsWith(ref));
      if (m.length === 1) return m[0];
      if (m.length > 1) throw new NotFoundError(`network ${ref} is ambiguous (${m.length} matches found based on ID prefix)`);
    }
    return undefined;
  }

  byName(name: string): NetworkRecord | undefined {
    return [...this.records.values()].find((n) => n.Name === name);
  }

  async save(rec: NetworkRecord): Promise<void> {
    await writeJsonAtomic(join(this.dir, `${rec.Id}.json`), rec);
    this.records.set(rec.Id, rec);
  }

  async delete(rec: NetworkRecord): Promise<void> {
    await fs.rm(join(this.dir, `${rec.Id}.json`), { force: true });
    this.records.delete(rec.Id);
  }

  /** The bridge, host and none networks every daemon has. */
  /**
   * `existing`: the address the default bridge already has (a previous
   * daemon on this bridge name, another data root): taken as the subnet, as
   * dockerd takes docker0's, instead of adding an address from a new pool.
   */
  async ensurePredefined(bridgeName: string, bip: string | undefined, inUse: string[], bindIp: string, existing?: string): Promise<NetworkRecord> {
    for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
      if (!this.byName(name)) await this.save(baseRecord(name, driver, [], {}, {}));
    }
    let bridge = this.byName('bridge');
    let subnet: string;
    let gateway: string;
    // An existing address that could not be a --bip (a /31, a host route) is left alone.
    const usable = existing && /^[\d.]+\/(\d+)$/.test(existing) && Number(existing.split('/')[1]) >= 8 && Number(existing.split('/')[1]) <= 30 ? existing : undefined;
    const own = bip ?? (bridge?.IPAM.Config[0] ? undefined : usable);
    if (own) {
      // --bip (or the bridge's existing address) is the bridge's own address with the prefix, as dockerd takes it.
      const m = /^([\d.]+)\/(\d+)$/.exec(own);
      if (!m) throw new InvalidParameterError(`invalid --bip ${own}`);
      const ip = parseIp(m[1]!);
      const prefix = Number(m[2]);
      if (ip === undefined || prefix < 8 || prefix > 30) throw new InvalidParameterError(`invalid --bip ${own}`);
      subnet = formatSubnet({ base: (ip & (0xffffffff << (32 - prefix))) >>> 0, prefix });
      gateway = m[1]!;
    } else if (bridge?.IPAM.Config[0]) {
      ({ Subnet: subnet, Gateway: gateway } = bridge.IPAM.Config[0]);
    } else {
      const s = chooseSubnet(defaultPools(), inUse.map((c) => parseSubnet(c)));
      if (!s) throw new InvalidParameterError('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
      subnet = formatSubnet(s);
      gateway = formatIp(s.base + 1);
    }
    const options = {
      [DEFAULT_BRIDGE_OPTION]: 'true', [ICC_OPTION]: 'true', [MASQUERADE_OPTION]: 'true',
      [HOST_BINDING_OPTION]: bindIp, [BRIDGE_NAME_OPTION]: bridgeName, [MTU_OPTION]: '1500',
    };
    const want = { Subnet: subnet, Gateway: gateway };
    if (!bridge || JSON.stringify(bridge.IPAM.Config[0]) !== JSON.stringify(want) || JSON.stringify(bridge.Options) !== JSON.stringify(options)) {
      bridge = { ...(bridge ?? baseRecord('bridge', 'bridge', [], {}, {})), IPAM: { Driver: 'default', Options: null, Config: [want] }, Options: options };
      await this.save(bridge);
    }
    return bridge;
  }

  /** Validate and store a user-defined network. The caller brings the bridge up. */
  async create(req: CreateNetworkRequest, inUse: string[]): Promise<NetworkRecord> {
    const name = req.Name ?? '';
    if (!name) throw new InvalidParameterError('network name is required');
    if (!NAME_RE.test(name)) throw new InvalidParameterError(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (PREDEFINED.includes(name)) throw new ForbiddenError(`operation is not permitted on predefined ${name} network `);
    if (this.byName(name)) throw new ConflictError(`network with name ${name} already exists`);
    const driver = req.Driver || 'bridge';
    if (driver !== 'bridge') {
      if (driver === 'host' || driver === 'null') throw new ForbiddenError(`only one instance of "${driver}" network is allowed`);
      throw new NotFoundError(`plugin "${driver}" not found`);
    }
    if (req.EnableIPv6) throw new InvalidParameterError('IPv6 networks are not supported by Berth');
    if (req.IPAM?.Driver && req.IPAM.Driver !== 'default') throw new NotFoundError(`plugin "${req.IPAM.Driver}" not found`);
    const configs = req.IPAM?.Config ?? [];
    if (configs.length > 1) throw new InvalidParameterError('Berth networks take one IPv4 subnet');
    const options = { ...(req.Options ?? {}) };
    const bridgeName = options[BRIDGE_NAME_OPTION];
    if (bridgeName !== undefined && !/^[a-zA-Z0-9_.-]{1,15}$/.test(bridgeName)) {
      throw new InvalidParameterError(`invalid bridge name ${bridgeName}: at most 15 letters, digits, '_', '.' or '-'`);
    }
    for (const k of [ICC_OPTION, MASQUERADE_OPTION]) {
      if (options[k] !== undefined && !['true', 'false'].includes(options[k]!)) throw new InvalidParameterError(`invalid value for ${k}: ${options[k]}`);
    }
    let pool: PoolConfig;
    const c = configs[0];
    if (c?.Subnet) {
      pool = poolConfig(c.Subnet, c.Gateway || undefined, c.IPRange || undefined);
      if (inUse.some((u) => overlaps(parseSubnet(u), pool.subnet))) throw new ForbiddenError(`Pool overlaps with other one on this address space`);
    } else {
      if (c?.Gateway || c?.IPRange) throw new InvalidParameterError('a subnet is required with --gateway and --ip-range');
      const s = chooseSubnet(defaultPools(), inUse.map((u) => parseSubnet(u)));
      if (!s) throw new ForbiddenError('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
      pool = { subnet: s, gateway: s.base + 1 };
    }
    const id = newId();
    if (!bridgeName) options[BRIDGE_NAME_OPTION] = `br-${id.slice(0, 12)}`;
    else if (this.list().some((n) => n.Options[BRIDGE_NAME_OPTION] === bridgeName)) {
      throw new ConflictError(`bridge name ${bridgeName} is used by another network`);
    }
    const ipam = {
      Subnet: formatSubnet(pool.subnet), Gateway: formatIp(pool.gateway),
      ...(pool.ipRange ? { IPRange: formatSubnet(pool.ipRange) } : {}),
    };
    const rec: NetworkRecord = {
      ...baseRecord(name, 'bridge', [ipam], {}, req.Labels ?? {}),
      Id: id,
      Internal: req.Internal ?? false,
      Attachable: req.Attachable ?? false,
      Options: options,
      IPAM: { Driver: 'default', Options: req.IPAM?.Options ?? null, Config: [ipam] },
    };
    return rec;
  }
}

function baseRecord(name: string, driver: NetworkRecord['Driver'], config: NetworkRecord['IPAM']['Config'], options: Record<string, string>, labels: Record<string, string>): NetworkRecord {
  return {
    Name: name, Id: newId(), Created: nowRfc3339(), Scope: 'local', Driver: driver, EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: config }, Internal: false, Attachable: false, Ingress: false,
    ConfigFrom: { Network: '' }, ConfigOnly: false, Options: options, Labels: labels,
  };
}

export function bridgeOf(n: NetworkRecord): string | undefined {
  return n.Driver === 'bridge' ? n.Options[BRIDGE_NAME_OPTION] : undefined;
}

export function poolOf(n: NetworkRecord): PoolConfig | undefined {
  const c = n.IPAM.Config[0];
  return c ? poolConfig(c.Subnet, c.Gateway, c.IPRange) : undefined;
}

export function isDefaultBridge(n: NetworkRecord): boolean {
  return n.Options[DEFAULT_BRIDGE_OPTION] === 'true';
}
