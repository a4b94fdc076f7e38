// EngineClient: a typed Docker Engine API client over a Unix socket. Used by
// the berth CLI, and usable on its own as a library.
import http, { type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Socket } from 'node:net';

/**
 * Requests go to a unix socket: no TLS server name to work out. Without
 * this, Node's agent checks whether "localhost" is an IP address, and the
 * first such check compiles the IPv6 pattern — 6 to 8 ms of every CLI run.
 */
const UNIX_SOCKET = { servername: '' } as unknown as http.RequestOptions;

export const DEFAULT_SOCKET = '/run/berth/berth.sock';

export class EngineApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'EngineApiError';
  }
}

export class ConnectionError extends Error {}

/** -H/--host, then BERTH_HOST, then a unix:// DOCKER_HOST, then the default. */
export function socketFromEnv(host?: string): string {
  const h = host ?? process.env.BERTH_HOST ?? (process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST : undefined);
  if (!h) return DEFAULT_SOCKET;
  if (h.startsWith('unix://')) return h.slice(7);
  if (h.startsWith('/')) return h;
  throw new ConnectionError(`unsupported host ${h}: only unix:// sockets are supported`);
}

type Query = Record<string, string | number | boolean | undefined | string[]>;

function qs(q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x));
    else p.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  State: string;
  Status: string;
  Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
  Labels: Record<string, string>;
  SizeRw?: number;
  SizeRootFs?: number;
  NetworkSettings?: { Networks?: Record<string, unknown> };
  Mounts?: Array<{ Type?: string; Name?: string; Source?: string; Driver?: string }>;
}

export interface ImageSummary {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
}

export type JsonObject = Record<string, unknown>;

export class EngineClient {
  readonly socketPath: string;
  readonly versionPrefix: string;

  constructor(opts: { socketPath?: string; apiVersion?: string } = {}) {
    this.socketPath = opts.socketPath ?? socketFromEnv();
    this.versionPrefix = opts.apiVersion ? `/v${opts.apiVersion}` : '';
  }

  private connErr(err: NodeJS.ErrnoException): Error {
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'EACCES') {
      const why = err.code === 'EACCES' ? ' (permission denied)' : '';
      return new ConnectionError(`Cannot connect to the Berth daemon at unix://${this.socketPath}${why}. Is the berth daemon running?`);
    }
    return err;
  }

  /** Send a request; resolves with the response once headers arrive. */
  raw(method: string, path: string, opts: { query?: Query; body?: unknown; stream?: Readable; headers?: Record<string, string> } = {}): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...opts.headers };
      let data: string | undefined;
      if (opts.body !== undefined) {
        data = JSON.stringify(opts.body);
        headers['Content-Type'] = 'application/json';
      }
      const req = http.request({ ...UNIX_SOCKET, socketPath: this.socketPath, method, path: this.versionPrefix + path + qs(opts.query), headers }, (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          let text = '';
          res.on('data', (d: Buffer) => { text += d.toString(); });
          res.on('end', () => {
            let msg = text.trim();
            try {
              msg = (JSON.parse(text) as { message?: string }).message ?? msg;
            } catch { /* plain text */ }
            reject(new EngineApiError(res.statusCode ?? 500, msg));
          });
          return;
        }
        resolve(res);
      });
      req.on('error', (err) => reject(this.connErr(err as NodeJS.ErrnoException)));
      if (opts.stream) {
        opts.stream.on('error', (err) => req.destroy(err));
        opts.stream.pipe(req);
      } else {
        req.end(data);
      }
    });
  }

  async json<T = unknown>(method: string, path: string, opts: { query?: Query; body?: unknown; headers?: Record<string, string> } = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    const text = await readAll(res);
    return (text.trim() ? JSON.parse(text) : undefined) as T;
  }

  ping(): Promise<unknown> {
    return this.raw('GET', '/_ping').then(readAll);
  }

  version(): Promise<JsonObject> {
    return this.json('GET', '/version');
  }

  info(): Promise<JsonObject> {
    return this.json('GET', '/info');
  }

  listContainers(q: { all?: boolean; limit?: number; size?: boolean; filters?: Record<string, string[]> }): Promise<ContainerSummary[]> {
    return this.json('GET', '/containers/json', {
      query: { all: q.all || undefined, limit: q.limit, size: q.size || undefined, filters: q.filters ? JSON.stringify(q.filters) : undefined },
    });
  }

  createContainer(body: JsonObject, name?: string): Promise<{ Id: string; Warnings: string[] | null }> {
    return this.json('POST', '/containers/create', { query: { name }, body });
  }

  inspectContainer(id: string): Promise<JsonObject> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/json`);
  }

  async startContainer(id: string): Promise<void> {
    await this.json('POST', `/containers/${encodeURIComponent(id)}/start`);
  }

  async stopContainer(id: string, q: { t?: number; signal?: string }): Promise<void> {
    await this.json('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: q });
  }

  async restartContainer(id: string, q: { t?: number; signal?: string }): Promise<void> {
    await this.json('POST', `/containers/${encodeURIComponent(id)}/restart`, { query: q });
  }

  async killContainer(id: string, signal?: string): Promise<void> {
    await this.json('POST', `/containers/${encodeURIComponent(id)}/kill`, { query: { signal } });
  }

  async removeContainer(id: string, q: { force?: boolean; v?: boolean }): Promise<void> {
    await this.json('DELETE', `/containers/${encodeURIComponent(id)}`, { query: { force: q.force || undefined, v: q.v || undefined } });
  }

  async renameContainer(id: string, name: string): Promise<void> {
    await this.json('POST', `/containers/${encodeURIComponent(id)}/rename`, { query: { name } });
  }

  /** Resolves when the response headers arrive (the wait is registered); `.result` when it ends. */
  /** `cancel` drops the wait (e.g. the user detached and the container runs on). */
  async waitContainer(id: string, condition?: string): Promise<{ result: Promise<{ StatusCode: number; Error?: { Message: string } | null }>; cancel: () => void }> {
    const res = await this.raw('POST', `/containers/${encodeURIComponent(id)}/wait`, { query: { condition } });
    return { result: readAll(res).then((t) => JSON.parse(t) as { StatusCode: number }), cancel: () => res.destroy() };
  }

  pruneContainers(filters?: Record<string, string[]>): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    return this.json('POST', '/containers/prune', { query: { filters: filters ? JSON.stringify(filters) : undefined } });
  }

  logs(id: string, q: Query): Promise<IncomingMessage> {
    return this.raw('GET', `/containers/${encodeURIComponent(id)}/logs`, { query: q });
  }

  /** Hijacked attach: the socket carries the container's (multiplexed) output. */
  attach(id: string, q: { stdout?: boolean; stderr?: boolean; stdin?: boolean; logs?: boolean; detachKeys?: string }): Promise<Socket> {
    return this.hijack(`/containers/${encodeURIComponent(id)}/attach${qs({ stream: true, ...q })}`);
  }

  async resizeContainer(id: string, h: number, w: number): Promise<void> {
    await this.json('POST', `/containers/${encodeURIComponent(id)}/resize`, { query: { h, w } });
  }

  async resizeExec(id: string, h: number, w: number): Promise<void> {
    await this.json('POST', `/exec/${encodeURIComponent(id)}/resize`, { query: { h, w } });
  }

  createExec(container: string, body: JsonObject): Promise<{ Id: string }> {
    return this.json('POST', `/containers/${encodeURIComponent(container)}/exec`, { body });
  }

  /** Start an exec; without detach the socket carries its output and takes its stdin. */
  startExec(execId: string, body: { Detach: boolean; Tty: boolean }): Promise<Socket> {
    return this.hijack(`/exec/${encodeURIComponent(execId)}/start`, body);
  }

  async startExecDetached(execId: string): Promise<void> {
    await this.json('POST', `/exec/${encodeURIComponent(execId)}/start`, { body: { Detach: true, Tty: false } });
  }

  inspectExec(execId: string): Promise<{ ExitCode: number | null; Running: boolean }> {
    return this.json('GET', `/exec/${encodeURIComponent(execId)}/json`);
  }

  /** POST with `Upgrade: tcp`: resolves with the raw socket once the daemon answers 101. */
  private hijack(path: string, body?: unknown): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request({
        ...UNIX_SOCKET,
        socketPath: this.socketPath,
        method: 'POST',
        path: this.versionPrefix + path,
        headers: { Connection: 'Upgrade', Upgrade: 'tcp', ...(data ? { 'Content-Type': 'application/json' } : {}) },
      });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        readAll(res).then((text) => {
          let msg = text.trim();
          try {
            msg = (JSON.parse(text) as { message?: string }).message ?? msg;
          } catch { /* plain */ }
          reject(new EngineApiError(res.statusCode ?? 500, msg));
        }, reject);
      });
      req.on('error', (err) => reject(this.connErr(err as NodeJS.ErrnoException)));
      req.end(data);
    });
  }

  listImages(q: { all?: boolean; filters?: Record<string, string[]>; digests?: boolean }): Promise<ImageSummary[]> {
    return this.json('GET', '/images/json', { query: { all: q.all || undefined, digests: q.digests || undefined, filters: q.filters ? JSON.stringify(q.filters) : undefined } });
  }

  inspectImage(name: string): Promise<JsonObject> {
    return this.json('GET', `/images/${name}/json`);
  }

  removeImage(name: string, q: { force?: boolean; noprune?: boolean }): Promise<({ Untagged?: string; Deleted?: string })[]> {
    return this.json('DELETE', `/images/${name}`, { query: { force: q.force || undefined, noprune: q.noprune || undefined } });
  }

  async tagImage(source: string, repo: string, tag?: string): Promise<void> {
    await this.json('POST', `/images/${source}/tag`, { query: { repo, tag } });
  }

  /** POST /images/create?fromSrc=-: the progress stream (JSON lines). */
  importImage(input: Readable, q: { repo?: string; tag?: string; changes?: string[]; message?: string }): Promise<IncomingMessage> {
    return this.raw('POST', '/images/create', {
      query: { fromSrc: '-', repo: q.repo, tag: q.tag, message: q.message, changes: q.changes },
      stream: input,
      headers: { 'Content-Type': 'application/x-tar' },
    });
  }

  pullImage(fromImage: string, tag?: string): Promise<IncomingMessage> {
    return this.raw('POST', '/images/create', { query: { fromImage, tag } });
  }

  events(q: { since?: string; until?: string; filters?: Record<string, string[]> }): Promise<IncomingMessage> {
    return this.raw('GET', '/events', { query: { since: q.since, until: q.until, filters: q.filters ? JSON.stringify(q.filters) : undefined } });
  }
}

export function readAll(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

/** Split newline-delimited JSON as it streams. */
export async function* jsonLines<T = JsonObject>(stream: Readable): AsyncGenerator<T> {
  let buf = '';
  for await (const chunk of stream) {
    buf += (chunk as Buffer).toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) yield JSON.parse(line) as T;
    }
  }
  if (buf.trim()) yield JSON.parse(buf) as T;
}
