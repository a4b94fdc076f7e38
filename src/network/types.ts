// Records of networks and endpoints, in the shape Docker's API returns them,
// plus the private runtime facts berthd needs to tear a sandbox down later.
import type { PortBindings, PortMapping } from './port-spec.js';

export interface IpamConfig { Subnet: string; Gateway: string; IPRange?: string }

export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: 'bridge' | 'host' | 'null';
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: Record<string, string> | null; Config: IpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export interface EndpointSettings {
  IPAMConfig: { IPv4Address?: string } | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
}

/** What the API's EndpointsConfig may carry for one network. */
export interface EndpointRequest {
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
  Aliases?: string[] | null;
  Links?: string[] | null;
  MacAddress?: string;
  DriverOpts?: Record<string, string> | null;
}

export interface NetworkSettings {
  Networks: Record<string, EndpointSettings>;
  Ports: PortBindings;
  SandboxKey: string;
}

/** A published port as installed: enough to remove its rule after a daemon restart. */
export interface InstalledPort extends PortMapping {
  bridge: string;
  containerIp: string;
}

/** Kernel objects of a running container's network, for teardown. */
export interface SandboxRuntime {
  /** name under /run/netns, when Berth created the namespace */
  netns?: string;
  /** host ends of veth pairs, by network id */
  veths: Record<string, string>;
  ports: InstalledPort[];
}

export const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';
export const ICC_OPTION = 'com.docker.network.bridge.enable_icc';
export const MASQUERADE_OPTION = 'com.docker.network.bridge.enable_ip_masquerade';
export const HOST_BINDING_OPTION = 'com.docker.network.bridge.host_binding_ipv4';
export const DEFAULT_BRIDGE_OPTION = 'com.docker.network.bridge.default_bridge';
export const MTU_OPTION = 'com.docker.network.driver.mtu';

export const PREDEFINED = ['bridge', 'host', 'none'];

export function emptyEndpoint(networkId: string, req: EndpointRequest = {}): EndpointSettings {
  return {
    IPAMConfig: req.IPAMConfig?.IPv4Address ? { IPv4Address: req.IPAMConfig.IPv4Address } : null,
    Links: req.Links ?? null,
    Aliases: req.Aliases?.length ? [...req.Aliases] : null,
    MacAddress: '',
    DriverOpts: req.DriverOpts ?? null,
    NetworkID: networkId,
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
  };
}
