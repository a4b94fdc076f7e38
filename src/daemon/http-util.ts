import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { InvalidParameterError } from '../lib/errors.js';
import type { RequestContext } from './router.js';

const MAX_JSON_BODY = 16 * 1024 * 1024;

export async function readJsonBody<T = unknown>(req: IncomingMessage): Promise<T | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BODY) throw new InvalidParameterError('request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new InvalidParameterError(`invalid JSON: ${(err as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status);
  res.end();
}

export function res(ctx: RequestContext): ServerResponse {
  if (!ctx.res) throw new InvalidParameterError('this endpoint cannot be upgraded');
  return ctx.res;
}

/** Docker's boolean query parameters: 1/true/True are true; 0/false/empty are false. */
export function boolParam(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null) return dflt;
  return !['', '0', 'false', 'False', 'FALSE', 'no'].includes(v);
}

export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidParameterError(`invalid value for ${name}: ${v}`);
  return n;
}

/** `filters={"label":["a=b"],"status":{"exited":true}}` → map of key → values. */
export function parseFilters(q: URLSearchParams): Map<string, string[]> {
  const raw = q.get('filters');
  const out = new Map<string, string[]>();
  if (!raw) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidParameterError(`invalid filter: ${raw}`);
  }
  if (!parsed || typeof parsed !== 'object') throw new InvalidParameterError(`invalid filter: ${raw}`);
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(v)) out.set(k, v.map(String));
    else if (v && typeof v === 'object') out.set(k, Object.keys(v).filter((x) => (v as Record<string, unknown>)[x]));
    else throw new InvalidParameterError(`invalid filter: ${raw}`);
  }
  return out;
}

export function checkFilterKeys(filters: Map<string, string[]>, allowed: string[]): void {
  for (const k of filters.keys()) {
    if (!allowed.includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
  }
}

/**
 * Begin a raw stream (attach/exec): answer an upgraded request with 101 and
 * return the socket; a plain request gets a 200 and its response is the stream.
 */
export function beginRawStream(ctx: RequestContext, contentType: string): Duplex | ServerResponse {
  if (ctx.upgradeSocket) {
    ctx.upgradeSocket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
    );
    return ctx.upgradeSocket;
  }
  const r = res(ctx);
  r.writeHead(200, { 'Content-Type': contentType });
  r.flushHeaders();
  return r;
}

/** Docker's stdcopy framing: [stream, 0, 0, 0, len32be] + payload. */
export function frame(stream: 1 | 2, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(data.length, 4);
  return Buffer.concat([h, data]);
}

/** Resolves when a full stream drains, or when it closes (the client left): never hangs on a gone client. */
export function drained(out: Duplex | ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    if (out.destroyed) {
      resolve();
      return;
    }
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
