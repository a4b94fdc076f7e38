// Links, addresses and network namespaces. Links and addresses through
// iproute2, each operation one `ip -batch` process, so a container's
// network costs two short execs; namespaces themselves (create, delete) are
// a few system calls made by the syscall server, as `ip netns` makes them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, promises as fs, rmSync, writeFileSync } from 'node:fs';
import { SystemError } from '../lib/errors.js';
import { forkServer } from '../lib/fork-server.js';
import { MNT_DETACH, SyscallError, syscallServer, type SyscallServer } from '../lib/syscall-server.js';

const execFileP = promisify(execFile);

/** Where `ip netns add` keeps its bind mounts; runc joins the namespace by this path. */
export const NETNS_DIR = '/run/netns';

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

/**
 * Run `ip [-n netns] -batch -` with the given lines (through the fork
 * server: on the path of every container start); rejects with ip's message.
 */
export async function ipBatch(lines: string[], netns?: string, force = false): Promise<void> {
  const args = [...(netns ? ['-n', netns] : []), ...(force ? ['-force'] : []), '-batch', '-'];
  const r = await forkServer().run(['ip', ...args], lines);
  if (r.code !== 0) throw new SystemError(r.stderr.replace(/^Command failed -:\d+\s*/m, '') || `ip exited with ${r.code}`);
}

// Checked at once: a stat of sysfs or nsfs takes microseconds, where queued
// behind the thread pool's other work (a teardown rm's many files) it waited
// milliseconds on the path of `run --rm`.
export async function linkExists(name: string): Promise<boolean> {
  return existsSync(`/sys/class/net/${name}`);
}

export async function listLinks(): Promise<string[]> {
  return fs.readdir('/sys/class/net').catch(() => []);
}

/** Create (or adopt) a bridge with the gateway address and bring it up. */
export async function ensureBridge(name: string, gatewayCidr: string): Promise<void> {
  if (!(await linkExists(name))) await ipBatch([`link add ${name} type bridge`]);
  // Replace rather than add: a daemon restart finds the address already there.
  await ipBatch([`addr replace ${gatewayCidr} dev ${name}`, `link set ${name} up`]);
  // Published ports reached on 127.0.0.1 are DNATed into the bridge: the
  // kernel drops loopback-sourced packets on other interfaces unless told.
  await writeSysctl(`net/ipv4/conf/${name}/route_localnet`, '1');
}

export async function deleteLink(name: string): Promise<void> {
  if (await linkExists(name)) await ipBatch([`link del ${name}`]).catch(() => undefined);
}

export async function writeSysctl(key: string, value: string): Promise<void> {
  await fs.writeFile(`/proc/sys/${key}`, value).catch((err: Error) => {
    throw new SystemError(`cannot set ${key.replaceAll('/', '.')}: ${err.message}`);
  });
}

export async function readSysctl(key: string): Promise<string> {
  return (await fs.readFile(`/proc/sys/${key}`, 'utf8')).trim();
}

export interface Interface {
  /** inside the namespace: eth0, eth1, … */
  name: string;
  /** the host end, attached to the bridge */
  hostName: string;
  bridge: string;
  address: string;
  prefix: number;
  mac: string;
  /** default route through this interface's gateway (the first network only) */
  gateway?: string;
}

/** Plug one veth pair into the bridge, its inner end into the (existing) namespace. */
export async function addInterface(ns: string, ifc: Interface): Promise<void> {
  await ipBatch([
    `link add ${ifc.hostName} type veth peer name ${ifc.name} netns ${ns}`,
    `link set ${ifc.hostName} master ${ifc.bridge} up`,
  ]);
  await ipBatch([
    `addr add ${ifc.address}/${ifc.prefix} dev ${ifc.name}`,
    `link set ${ifc.name} address ${ifc.mac} up`,
    ...(ifc.gateway ? [`route add default via ${ifc.gateway}`] : []),
  ], ns);
}

const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MS_SHARED = 0x100000;
let netnsDirReady: Promise<void> | undefined;

/**
 * /run/netns as `ip netns add` leaves it: a mount point of its own with
 * shared propagation, so that a namespace's bind mount (and its removal)
 * reaches every mount namespace that has a copy of the directory.
 */
async function prepareNetnsDir(server: SyscallServer): Promise<void> {
  mkdirSync(NETNS_DIR, { recursive: true, mode: 0o755 });
  try {
    await server.mount('', NETNS_DIR, 'none', MS_SHARED | MS_REC, '');
  } catch (err) {
    // EINVAL: not a mount point yet. Make it one (a bind of itself), then share it.
    if (!(err instanceof SyscallError && err.code === 'EINVAL')) throw err;
    await server.mount(NETNS_DIR, NETNS_DIR, 'none', MS_BIND | MS_REC, '');
    await server.mount('', NETNS_DIR, 'none', MS_SHARED | MS_REC, '');
  }
}

/**
 * A namespace with loopback only (`--network none`, and the start of every
 * sandbox): by the syscall server in ~1 ms, where `ip netns add` and `ip
 * link set lo up` were two processes on the path of every container start.
 */
export async function createNetns(ns: string): Promise<void> {
  const server = syscallServer();
  if (!server) {
    await ipBatch([`netns add ${ns}`]);
    await ipBatch(['link set lo up'], ns);
    return;
  }
  netnsDirReady ??= prepareNetnsDir(server).catch((err: Error) => {
    netnsDirReady = undefined;
    throw new SystemError(`cannot prepare ${NETNS_DIR}: ${err.message}`);
  });
  await netnsDirReady;
  const path = netnsPath(ns);
  try {
    writeFileSync(path, '', { flag: 'wx', mode: 0 });
  } catch (err) {
    throw new SystemError(`Cannot create namespace file "${path}": ${(err as Error).message}`);
  }
  await server.createNetns(path).catch((err: Error) => {
    rmSync(path, { force: true });
    throw new SystemError(`cannot create network namespace ${ns}: ${err.message}`);
  });
}

/**
 * Remove the namespace, and with it the veth pairs plugged into it: the
 * kernel destroys a dead namespace's devices (and their host ends) on its own
 * workqueue, so this returns at once where `link del` of each host end waits
 * ~25 ms for the kernel's RCU grace periods — on the path of every `run --rm`,
 * `rm -f` and build step. Host veth names are unique per attach (see
 * NetworkService.vethName), so a container started again at once never meets
 * its previous, still dying, veth. Without a namespace, the host ends go one
 * by one.
 */
export async function removeSandbox(ns: string | undefined, hostVeths: string[]): Promise<void> {
  if (ns && existsSync(netnsPath(ns))) {
    const server = syscallServer();
    if (server) {
      // What `ip netns del` does: detach the bind mount, remove the file.
      await server.unmount(netnsPath(ns), MNT_DETACH).catch(() => undefined);
      rmSync(netnsPath(ns), { force: true });
      return;
    }
  }
  const lines: string[] = [];
  if (ns && existsSync(netnsPath(ns))) lines.push(`netns del ${ns}`);
  else for (const v of hostVeths) if (await linkExists(v)) lines.push(`link del ${v}`);
  // -force: one missing link must not keep the others from going.
  if (lines.length) await ipBatch(lines, undefined, true).catch(() => undefined);
}

export async function listNetns(): Promise<string[]> {
  return fs.readdir(NETNS_DIR).catch(() => []);
}

/** IPv4 routes of the host, as CIDR strings: new subnets must not shadow them. */
export async function hostRouteCidrs(): Promise<string[]> {
  const { stdout } = await execFileP('ip', ['-j', '-4', 'route', 'show', 'table', 'all']);
  const routes = JSON.parse(stdout) as { dst: string; type?: string }[];
  return routes
    .filter((r) => r.dst !== 'default' && (r.type === undefined || r.type === 'unicast'))
    .map((r) => (r.dst.includes('/') ? r.dst : `${r.dst}/32`));
}

/**
 * The first IPv4 address of an existing link as `address/prefix`, or
 * undefined when there is no such link or it has none.
 */
export async function linkIpv4(name: string): Promise<string | undefined> {
  if (!(await linkExists(name))) return undefined;
  const { stdout } = await execFileP('ip', ['-j', '-4', 'addr', 'show', 'dev', name]);
  const links = JSON.parse(stdout || '[]') as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>;
  const a = links[0]?.addr_info?.find((x) => x.local && x.prefixlen !== undefined);
  return a ? `${a.local}/${a.prefixlen}` : undefined;
}
