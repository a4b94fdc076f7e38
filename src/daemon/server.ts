// The Engine API server: HTTP/1.1 on a Unix socket, versioned paths, Docker's
// JSON errors, and hijacked (upgraded) connections for attach.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { EngineError, NotModifiedError } from '../lib/errors.js';
import { Router, type RequestContext } from './router.js';
import { DEFAULT_API_VERSION, MIN_API_VERSION, compareVersions } from './version.js';
import type { Logger } from './log.js';

const VERSIONED = /^\/v(\d+\.\d+)(\/.*)$/;

export function createApiServer(router: Router, log: Logger): http.Server {
  // Room for build secrets, which travel in a header (X-Berth-Build-Secrets, at most 48 KiB).
  const server = http.createServer({ maxHeaderSize: 64 * 1024 });
  server.keepAliveTimeout = 0;

  const dispatch = async (req: IncomingMessage, res: ServerResponse | undefined, socket?: Duplex, head?: Buffer): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://berth');
    let path = url.pathname;
    let apiVersion = DEFAULT_API_VERSION;
    const m = VERSIONED.exec(path);
    if (m) {
      apiVersion = m[1]!;
      path = m[2]!;
    }
    const ctx: RequestContext = {
      req, res, upgradeSocket: socket, upgradeHead: head, params: {}, query: url.searchParams, apiVersion,
    };
    try {
      if (compareVersions(apiVersion, DEFAULT_API_VERSION) > 0) {
        throw new EngineError(400, `client version ${apiVersion} is too new. Maximum supported API version is ${DEFAULT_API_VERSION}`);
      }
      if (compareVersions(apiVersion, MIN_API_VERSION) < 0) {
        throw new EngineError(400, `client version ${apiVersion} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      }
      const found = router.find(req.method ?? 'GET', path);
      if (found === 'method') throw new EngineError(405, 'method not allowed');
      if (!found) throw new EngineError(404, 'page not found');
      ctx.params = found.params;
      await found.handler(ctx);
    } catch (err) {
      sendError(ctx, err, log);
    }
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Api-Version', DEFAULT_API_VERSION);
    res.setHeader('Server', `Berth/${process.env.npm_package_version ?? '0.1.0'} (linux)`);
    res.setHeader('Ostype', 'linux');
    void dispatch(req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void dispatch(req, undefined, socket, head);
  });
  server.on('clientError', (_err, socket: Duplex) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  });
  return server;
}

function sendError(ctx: RequestContext, err: unknown, log: Logger): void {
  const status = err instanceof EngineError ? err.status : 500;
  const message = err instanceof Error ? err.message : String(err);
  if (status >= 500) log.error('request failed', { method: ctx.req.method, url: ctx.req.url, err: message });
  if (ctx.upgradeSocket) {
    const body = JSON.stringify({ message }) + '\n';
    ctx.upgradeSocket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nApi-Version: ${DEFAULT_API_VERSION}\r\n\r\n${body}`,
    );
    return;
  }
  const res = ctx.res!;
  if (res.headersSent) {
    // Mid-stream: the status is gone; close so the client sees the end.
    res.destroy();
    return;
  }
  if (err instanceof NotModifiedError) {
    res.writeHead(304);
    res.end();
    return;
  }
  const body = JSON.stringify({ message }) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
