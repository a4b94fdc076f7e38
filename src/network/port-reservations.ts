// Host ports held open for published container ports. The kernel's DNAT rule
// carries the traffic; the socket held here only keeps anyone else (another
// container, a host service) from binding the same port and being silently
// shadowed, and gives Docker's errors when the port is taken.
import net from 'node:net';
import dgram from 'node:dgram';
import { EngineError } from '../lib/errors.js';
import type { Protocol } from './port-spec.js';

export class PortAllocatedError extends EngineError {
  constructor(message: string) { super(500, message); }
}

interface Held { key: string; owner: string; close: () => void }

function key(proto: Protocol, ip: string, port: number): string {
  return `${proto}/${ip}/${port}`;
}

export class PortReservations {
  private readonly held = new Map<string, Held>();

  /** Is this port (on this or the wildcard address) already ours? */
  private conflict(proto: Protocol, ip: string, port: number): Held | undefined {
    for (const h of this.held.values()) {
      const [p, hip, hport] = h.key.split('/');
      if (p !== proto || Number(hport) !== port) continue;
      if (hip === ip || hip === '0.0.0.0' || ip === '0.0.0.0') return h;
    }
    return undefined;
  }

  /**
   * Bind `ip:port` (port 0: let the kernel choose) and keep it. Resolves the
   * port actually bound.
   */
  async reserve(proto: Protocol, ip: string, port: number, owner: string): Promise<number> {
    if (port !== 0 && this.conflict(proto, ip, port)) {
      throw new PortAllocatedError(`Bind for ${ip}:${port} failed: port is already allocated`);
    }
    const bound = proto === 'udp' ? await bindUdp(ip, port) : await bindTcp(ip, port);
    const k = key(proto, ip, bound.port);
    if (this.held.has(k)) {
      bound.close();
      throw new PortAllocatedError(`Bind for ${ip}:${bound.port} failed: port is already allocated`);
    }
    this.held.set(k, { key: k, owner, close: bound.close });
    return bound.port;
  }

  /** The first port of [lo, hi] that can be bound. */
  async reserveInRange(proto: Protocol, ip: string, lo: number, hi: number, owner: string): Promise<number> {
    let last: Error | undefined;
    for (let p = lo; p <= hi; p++) {
      try {
        return await this.reserve(proto, ip, p, owner);
      } catch (err) {
        last = err as Error;
      }
    }
    throw lo === hi && last ? last : new PortAllocatedError(`Bind for ${ip}:${lo}-${hi} failed: no free port in the range`);
  }

  releaseOwner(owner: string): void {
    for (const [k, h] of this.held) {
      if (h.owner !== owner) continue;
      h.close();
      this.held.delete(k);
    }
  }

  closeAll(): void {
    for (const h of this.held.values()) h.close();
    this.held.clear();
  }
}

function bindError(err: NodeJS.ErrnoException, proto: string, ip: string, port: number): Error {
  // dockerd's wording when something outside Docker holds the port.
  const what = err.code === 'EADDRINUSE' ? 'bind: address already in use' : err.code === 'EADDRNOTAVAIL'
    ? 'bind: cannot assign requested address' : err.message;
  return new PortAllocatedError(`driver failed programming external connectivity: Error starting userland proxy: listen ${proto}4 ${ip}:${port}: ${what}`);
}

function bindTcp(ip: string, port: number): Promise<{ port: number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((sock) => sock.destroy());
    server.once('error', (err: NodeJS.ErrnoException) => reject(bindError(err, 'tcp', ip, port)));
    server.listen({ host: ip, port, exclusive: true, backlog: 1 }, () => {
      server.unref();
      resolve({ port: (server.address() as net.AddressInfo).port, close: () => server.close() });
    });
  });
}

function bindUdp(ip: string, port: number): Promise<{ port: number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    sock.once('error', (err: NodeJS.ErrnoException) => reject(bindError(err, 'udp', ip, port)));
    sock.bind({ address: ip, port, exclusive: true }, () => {
      sock.unref();
      // Datagrams that escape the DNAT (none should) are dropped.
      sock.on('message', () => undefined);
      resolve({ port: sock.address().port, close: () => sock.close() });
    });
  });
}
