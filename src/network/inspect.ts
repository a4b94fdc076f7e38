// The network parts of container inspect and list, in Docker's shapes.
import type { NetworkSettings, EndpointSettings } from './types.js';
import { splitPortKey } from './port-spec.js';

export interface PortSummary { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }

/** `Ports` of GET /containers/json: exposed-only ports without IP and PublicPort. */
export function portSummaries(s: NetworkSettings | undefined): PortSummary[] {
  const out: PortSummary[] = [];
  for (const [key, list] of Object.entries(s?.Ports ?? {})) {
    const [port, proto] = splitPortKey(key);
    if (!list || !list.length) out.push({ PrivatePort: port, Type: proto });
    else for (const b of list) out.push({ IP: b.HostIp, PrivatePort: port, PublicPort: Number(b.HostPort), Type: proto });
  }
  return out;
}

/**
 * NetworkSettings of container inspect. The top-level address fields describe
 * the default bridge only, as in Docker (they are deprecated there).
 */
export function inspectNetworkSettings(s: NetworkSettings | undefined, exposed: Record<string, object> | null | undefined): Record<string, unknown> {
  const bridge: EndpointSettings | undefined = s?.Networks.bridge;
  const ports: Record<string, unknown> = {};
  for (const k of Object.keys(exposed ?? {})) ports[k] = null;
  Object.assign(ports, s?.Ports ?? {});
  const running = !!s?.SandboxKey;
  return {
    Bridge: '',
    SandboxID: s?.SandboxKey ? s.SandboxKey.split('/').pop() : '',
    SandboxKey: s?.SandboxKey ?? '',
    HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
    Ports: running ? ports : {},
    SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    EndpointID: bridge?.EndpointID ?? '',
    Gateway: bridge?.Gateway ?? '',
    GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
    IPAddress: bridge?.IPAddress ?? '',
    IPPrefixLen: bridge?.IPPrefixLen ?? 0,
    IPv6Gateway: '',
    MacAddress: bridge?.MacAddress ?? '',
    Networks: s?.Networks ?? {},
  };
}
