// The embedded DNS server of user-defined networks. It listens on each
// network's gateway (UDP and TCP port 53); inside a container 127.0.0.11 is
// redirected to it (firewall.ts). Names of containers on the asker's networks
// are answered here; everything else goes unchanged to the container's --dns
// servers, or the host's resolvers.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Packet, type Answer } from 'dns-packet';

/** Addresses for `name` as seen by the container at `clientIp`; undefined: not a container name. */
export type NameLookup = (clientIp: string, name: string) => string[] | undefined;
/** The container name for a reverse (PTR) query of `ip`, as seen from `clientIp`. */
export type AddressLookup = (clientIp: string, ip: string) => string | undefined;

const TTL = 600;
const FORWARD_TIMEOUT_MS = 3000;

interface Listener { udp: dgram.Socket; tcp: net.Server }

export class EmbeddedDns {
  private readonly listeners = new Map<string, Listener>();

  constructor(
    private readonly lookup: NameLookup,
    private readonly reverse: AddressLookup,
    /** the resolvers for the container at `clientIp`: `ip` or `ip:port` */
    private readonly upstreams: (clientIp: string) => string[],
    private readonly log: (level: string, msg: string, fields?: Record<string, unknown>) => void = () => undefined,
  ) {}

  async listen(address: string): Promise<void> {
    if (this.listeners.has(address)) return;
    const udp = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    udp.on('message', (msg, rinfo) => {
      void this.answer(msg, rinfo.address, 'udp').then((reply) => {
        if (reply) udp.send(reply, rinfo.port, rinfo.address);
      });
    });
    udp.on('error', (err) => this.log('warn', 'dns socket error', { address, err: String(err) }));
    const tcp = net.createServer((sock) => this.serveTcp(sock));
    tcp.on('error', (err) => this.log('warn', 'dns socket error', { address, err: String(err) }));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(53, address, () => { udp.off('error', reject); resolve(); });
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen({ host: address, port: 53 }, () => { tcp.off('error', reject); resolve(); });
    }).catch((err: unknown) => {
      udp.close();
      throw err;
    });
    udp.unref();
    tcp.unref();
    this.listeners.set(address, { udp, tcp });
  }

  close(address: string): void {
    const l = this.listeners.get(address);
    if (!l) return;
    l.udp.close();
    l.tcp.close();
    this.listeners.delete(address);
  }

  closeAll(): void {
    for (const a of [...this.listeners.keys()]) this.close(a);
  }

  private serveTcp(sock: net.Socket): void {
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void this.answer(msg, sock.remoteAddress?.replace(/^::ffff:/, '') ?? '', 'tcp').then((reply) => {
          if (reply && !sock.destroyed) sock.write(Buffer.concat([u16(reply.length), reply]));
        });
      }
    });
    sock.on('error', () => sock.destroy());
    sock.setTimeout(10_000, () => sock.destroy());
  }

  /** Build the reply to one query message; undefined drops it. */
  async answer(msg: Buffer, clientIp: string, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let query: Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    const q = query.questions?.[0];
    if (!q || query.type !== 'query') return undefined;
    const name = q.name.replace(/\.$/, '').toLowerCase();
    const local = this.localAnswer(clientIp, name, q.type);
    if (local) {
      return dnsPacket.encode({
        id: query.id, type: 'response', flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHORITATIVE_ANSWER,
        questions: [q], answers: local,
      });
    }
    try {
      return await forward(msg, this.upstreams(clientIp), transport);
    } catch (err) {
      this.log('debug', 'dns forward failed', { name, err: String(err) });
      return dnsPacket.encode({ id: query.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | 2, questions: [q] });
    }
  }

  /** Answers for a container name (possibly none, for AAAA), or undefined to forward. */
  private localAnswer(clientIp: string, name: string, type: string): Answer[] | undefined {
    if (type === 'PTR') {
      const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(name);
      const target = m ? this.reverse(clientIp, `${m[4]}.${m[3]}.${m[2]}.${m[1]}`) : undefined;
      return target ? [{ type: 'PTR', name, ttl: TTL, class: 'IN', data: target }] : undefined;
    }
    const ips = this.lookup(clientIp, name);
    if (!ips) return undefined;
    if (type !== 'A' && type !== 'ANY') return [];
    return ips.map((ip) => ({ type: 'A', name, ttl: TTL, class: 'IN', data: ip }) as Answer);
  }
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function splitHostPort(s: string): [string, number] {
  const m = /^(.*):(\d+)$/.exec(s);
  return m && !m[1]!.includes(':') ? [m[1]!, Number(m[2])] : [s, 53];
}

/** Ask the upstreams in turn; the first answer wins. */
async function forward(msg: Buffer, upstreams: string[], transport: 'udp' | 'tcp'): Promise<Buffer> {
  let last: Error = new Error('no upstream resolver');
  for (const u of upstreams) {
    const [host, port] = splitHostPort(u);
    try {
      return transport === 'udp' ? await forwardUdp(msg, host, port) : await forwardTcp(msg, host, port);
    } catch (err) {
      last = err as Error;
    }
  }
  throw last;
}

function forwardUdp(msg: Buffer, host: string, port: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => { sock.close(); reject(new Error(`timeout asking ${host}`)); }, FORWARD_TIMEOUT_MS);
    sock.on('message', (reply) => {
      // Only the answer to this query's id: a late answer to another is ignored.
      if (reply.length >= 2 && reply.readUInt16BE(0) === msg.readUInt16BE(0)) {
        clearTimeout(timer);
        sock.close();
        resolve(reply);
      }
    });
    sock.on('error', (err) => { clearTimeout(timer); sock.close(); reject(err); });
    sock.send(msg, port, host);
  });
}

function forwardTcp(msg: Buffer, host: string, port: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    sock.setTimeout(FORWARD_TIMEOUT_MS, () => { sock.destroy(); reject(new Error(`timeout asking ${host}`)); });
    sock.on('connect', () => sock.write(Buffer.concat([u16(msg.length), msg])));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        sock.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    sock.on('error', reject);
  });
}

/** `nameserver` lines of a resolv.conf. */
export function nameservers(resolvConf: string): string[] {
  return resolvConf.split('\n').map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((s): s is string => !!s);
}
