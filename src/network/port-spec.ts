// Published ports: the `-p` syntax the CLIs parse into ExposedPorts and
// PortBindings, and the daemon's view of one binding. Pure, unit-tested.
import { InvalidParameterError } from '../lib/errors.js';
import { parseIp } from './ipam.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface PortBinding { HostIp: string; HostPort: string }
export type PortBindings = Record<string, PortBinding[] | null>;

/** One published port once the daemon has chosen the host port. */
export interface PortMapping {
  proto: Protocol;
  containerPort: number;
  hostIp: string;
  hostPort: number;
}

function parseRange(text: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
  if (!m || lo < 1 || hi > 65535 || hi < lo) throw new InvalidParameterError(`Invalid ${what}: ${text}`);
  return [lo, hi];
}

export function parseProto(text: string): Protocol {
  const p = text.toLowerCase();
  if (p !== 'tcp' && p !== 'udp' && p !== 'sctp') throw new InvalidParameterError(`Invalid proto: ${text}`);
  return p;
}

/** `80`, `80/udp`, `8000-8010/tcp` as EXPOSE and `--expose` write them. */
export function parseExposed(text: string): string[] {
  const [port = '', proto = 'tcp'] = text.split('/');
  const [lo, hi] = parseRange(port, 'containerPort');
  const p = parseProto(proto);
  const out: string[] = [];
  for (let i = lo; i <= hi; i++) out.push(`${i}/${p}`);
  return out;
}

/**
 * One `-p` value: `[ip:][hostPort:]containerPort[/proto]`, with ranges on
 * both sides and `[v6]` addresses in brackets.
 */
export function parsePortSpec(spec: string): { exposed: string[]; bindings: PortBindings } {
  let rest = spec;
  let proto: Protocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    proto = parseProto(rest.slice(slash + 1));
    rest = rest.slice(0, slash);
  }
  let ip = '';
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) throw new InvalidParameterError(`Invalid ip address: ${rest}`);
    ip = rest.slice(1, end);
    rest = rest.slice(end + 1).replace(/^:/, '');
  }
  const parts = rest.split(':');
  let hostPort = '';
  let containerPort: string;
  if (parts.length === 1) {
    containerPort = parts[0]!;
  } else if (parts.length === 2) {
    [hostPort, containerPort] = parts as [string, string];
  } else if (parts.length === 3 && !ip) {
    [ip, hostPort, containerPort] = parts as [string, string, string];
  } else {
    throw new InvalidParameterError(`Invalid port specification: "${spec}"`);
  }
  if (ip && parseIp(ip) === undefined) {
    if (ip.includes(':')) throw new InvalidParameterError(`IPv6 host addresses are not supported: ${ip}`);
    throw new InvalidParameterError(`Invalid ip address: ${ip}`);
  }
  if (!containerPort) throw new InvalidParameterError(`No port specified: ${spec}<empty>`);
  const [clo, chi] = parseRange(containerPort, 'containerPort');
  const exposed: string[] = [];
  const bindings: PortBindings = {};
  if (hostPort) {
    const [hlo, hhi] = parseRange(hostPort, 'hostPort');
    const cn = chi - clo + 1;
    const hn = hhi - hlo + 1;
    // A host range for one container port means "any free one of these".
    if (cn > 1 && hn !== cn) {
      throw new InvalidParameterError(`Invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
    for (let i = 0; i < cn; i++) {
      const key = `${clo + i}/${proto}`;
      exposed.push(key);
      const hp = cn === 1 ? hostPort : String(hlo + i);
      (bindings[key] ??= []).push({ HostIp: ip, HostPort: hp });
    }
  } else {
    for (let p = clo; p <= chi; p++) {
      const key = `${p}/${proto}`;
      exposed.push(key);
      (bindings[key] ??= []).push({ HostIp: ip, HostPort: '' });
    }
  }
  return { exposed, bindings };
}

/** Merge several `-p` values (the same container port may be published twice). */
export function parsePortSpecs(specs: string[]): { exposed: Record<string, object>; bindings: PortBindings } {
  const exposed: Record<string, object> = {};
  const bindings: PortBindings = {};
  for (const s of specs) {
    const r = parsePortSpec(s);
    for (const e of r.exposed) exposed[e] = {};
    for (const [k, v] of Object.entries(r.bindings)) (bindings[k] ??= []).push(...(v ?? []));
  }
  return { exposed, bindings };
}

/** `80/tcp` → [80, 'tcp']; a key without a protocol is tcp. */
export function splitPortKey(key: string): [number, Protocol] {
  const [port = '', proto = 'tcp'] = key.split('/');
  const [lo] = parseRange(port, 'containerPort');
  return [lo, parseProto(proto)];
}

/** Validate PortBindings as an API client sent them, before anything is created. */
export function validatePortBindings(b: PortBindings | null | undefined): void {
  for (const [key, list] of Object.entries(b ?? {})) {
    splitPortKey(key);
    for (const pb of list ?? []) {
      if (pb.HostIp && parseIp(pb.HostIp) === undefined) {
        if (pb.HostIp.includes(':')) throw new InvalidParameterError(`IPv6 host addresses are not supported: ${pb.HostIp}`);
        throw new InvalidParameterError(`invalid IP address: ${pb.HostIp}`);
      }
      if (pb.HostPort) parseRange(pb.HostPort, 'hostPort');
    }
  }
}

/** `0.0.0.0:8000->80/tcp`, the form of ps's PORTS column and `port`. */
export function formatMapping(m: PortMapping): string {
  return `${m.hostIp}:${m.hostPort}->${m.containerPort}/${m.proto}`;
}
