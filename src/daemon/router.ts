// A small regex router. Docker's routes embed names that contain slashes
// (`/images/localhost:5000/team/app:1.2/json`), which path-segment routers
// cannot express; gorilla/mux in dockerd uses `{name:.*}` for the same reason.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface RequestContext {
  req: IncomingMessage;
  /** undefined when the request was an HTTP upgrade (hijack) */
  res?: ServerResponse;
  /** the raw socket of an upgraded request */
  upgradeSocket?: Duplex;
  upgradeHead?: Buffer;
  params: Record<string, string>;
  query: URLSearchParams;
  /** the API version the client asked for (or the default) */
  apiVersion: string;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route { method: string; pattern: RegExp; keys: string[]; handler: Handler }

export class Router {
  private readonly routes: Route[] = [];

  /** `path` uses `{name}` for one segment and `{name:.*}` for anything. */
  add(method: string, path: string, handler: Handler): this {
    const keys: string[] = [];
    const parts = path.split(/(\{\w+(?::\.\*)?\})/);
    const src = parts.map((part) => {
      const m = /^\{(\w+)(:\.\*)?\}$/.exec(part);
      if (!m) return part.replace(/[.*+?^$()[\]\\|{}]/g, '\\$&');
      keys.push(m[1]!);
      return m[2] ? '(.+)' : '([^/]+)';
    }).join('');
    this.routes.push({ method, pattern: new RegExp(`^${src}$`), keys, handler });
    return this;
  }

  /** Returns the handler and params, or 'method' when only the method is wrong. */
  find(method: string, path: string): { handler: Handler; params: Record<string, string> } | 'method' | undefined {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      const effective = method === 'HEAD' && r.method === 'GET' ? 'GET' : method;
      if (r.method !== effective) {
        pathMatched = true;
        continue;
      }
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => { params[k] = decodeURIComponent(m[i + 1]!); });
      return { handler: r.handler, params };
    }
    return pathMatched ? 'method' : undefined;
  }
}
