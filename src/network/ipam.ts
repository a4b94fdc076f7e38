// IPv4 address management: subnets, gateways and address allocation.
// Pure functions over numbers, so every rule is unit-tested without a kernel.
import { InvalidParameterError } from '../lib/errors.js';

export interface Subnet {
  /** network address as an unsigned 32-bit number */
  base: number;
  prefix: number;
}

export function parseIp(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `10.1.0.0/16`; host bits set (`10.1.2.3/16`) are refused as Docker refuses them. */
export function parseSubnet(text: string, what = 'subnet'): Subnet {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  const ip = m ? parseIp(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(prefix >= 0 && prefix <= 32)) throw new InvalidParameterError(`invalid ${what} ${text}: invalid CIDR address: ${text}`);
  if (text.includes(':')) throw new InvalidParameterError(`IPv6 ${what}s are not supported: ${text}`);
  if (((ip & mask(prefix)) >>> 0) !== ip) {
    throw new InvalidParameterError(`invalid ${what} ${text}: it should be ${formatSubnet({ base: (ip & mask(prefix)) >>> 0, prefix })}`);
  }
  return { base: ip, prefix };
}

export function formatSubnet(s: Subnet): string {
  return `${formatIp(s.base)}/${s.prefix}`;
}

export function size(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

export function contains(s: Subnet, ip: number): boolean {
  return ((ip & mask(s.prefix)) >>> 0) === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return contains(a, b.base) || contains(b, a.base);
}

/** The addresses a subnet gives to hosts: without the network and broadcast addresses. */
function hostRange(s: Subnet): [number, number] {
  if (s.prefix >= 31) return [s.base, s.base + size(s) - 1];
  return [s.base + 1, s.base + size(s) - 2];
}

export function defaultGateway(s: Subnet): number {
  return hostRange(s)[0];
}

export interface PoolConfig {
  subnet: Subnet;
  gateway: number;
  /** allocate container addresses from this part of the subnet only */
  ipRange?: Subnet;
}

/**
 * Validate what `network create --subnet --gateway --ip-range` asked for and
 * fill in the gateway, as dockerd's default IPAM driver does.
 */
export function poolConfig(subnetText: string, gatewayText?: string, ipRangeText?: string): PoolConfig {
  const subnet = parseSubnet(subnetText);
  if (subnet.prefix > 30) throw new InvalidParameterError(`invalid subnet ${subnetText}: the prefix must be /30 or shorter to leave room for containers`);
  let gateway = defaultGateway(subnet);
  if (gatewayText) {
    const gw = parseIp(gatewayText);
    if (gw === undefined) throw new InvalidParameterError(`invalid gateway address ${gatewayText}`);
    if (!contains(subnet, gw)) throw new InvalidParameterError(`no matching subnet for gateway ${gatewayText}`);
    gateway = gw;
  }
  let ipRange: Subnet | undefined;
  if (ipRangeText) {
    ipRange = parseSubnet(ipRangeText, 'ip-range');
    if (!contains(subnet, ipRange.base) || ipRange.prefix < subnet.prefix) {
      throw new InvalidParameterError(`no matching subnet for range ${ipRangeText}`);
    }
  }
  return { subnet, gateway, ipRange };
}

/**
 * The lowest free address of the pool (Docker hands them out in order, and
 * users read `172.18.0.2` as "the first container").
 */
export function allocate(pool: PoolConfig, used: ReadonlySet<number>): number | undefined {
  const [lo, hi] = hostRange(pool.ipRange ?? pool.subnet);
  const [slo, shi] = hostRange(pool.subnet);
  for (let ip = Math.max(lo, slo); ip <= Math.min(hi, shi); ip++) {
    if (ip !== pool.gateway && !used.has(ip)) return ip;
  }
  return undefined;
}

/** Check an address the user asked for (`--ip`). */
export function checkRequested(pool: PoolConfig, ip: number, used: ReadonlySet<number>, text: string): void {
  const [lo, hi] = hostRange(pool.subnet);
  if (!contains(pool.subnet, ip) || ip < lo || ip > hi) {
    throw new InvalidParameterError(`Address ${text} does not belong to the network's subnet ${formatSubnet(pool.subnet)}`);
  }
  if (ip === pool.gateway || used.has(ip)) throw new InvalidParameterError(`Address already in use: ${text}`);
}

/**
 * Docker's default address pools: 172.17.0.0/16 … 172.31.0.0/16, then
 * 192.168.0.0/20 … 192.168.240.0/20.
 */
export function defaultPools(): Subnet[] {
  const out: Subnet[] = [];
  for (let b = 17; b <= 31; b++) out.push({ base: parseIp(`172.${b}.0.0`)!, prefix: 16 });
  for (let c = 0; c < 256; c += 16) out.push({ base: parseIp(`192.168.${c}.0`)!, prefix: 20 });
  return out;
}

/** The first pool subnet that overlaps nothing already in use (networks and host routes). */
export function chooseSubnet(pools: Subnet[], inUse: Subnet[]): Subnet | undefined {
  return pools.find((p) => !inUse.some((u) => overlaps(p, u)));
}

/** Docker derives a container's MAC from its address: 02:42 followed by the four bytes. */
export function macFor(ip: number): string {
  return ['02', '42', ...[ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
