import type { Router } from '../router.js';
import { sendJson, sendNoContent, readJsonBody, parseFilters, checkFilterKeys, res } from '../http-util.js';
import type { Engine } from '../engine.js';
import { InvalidParameterError } from '../../lib/errors.js';
import { PREDEFINED, type EndpointRequest, type NetworkRecord } from '../../network/types.js';
import type { CreateNetworkRequest } from '../../network/store.js';
import { parseTimestamp } from '../../lib/timestamps.js';

function labelsMatch(labels: Record<string, string>, specs: string[] | undefined): boolean {
  return (specs ?? []).every((spec) => {
    const i = spec.indexOf('=');
    const k = i < 0 ? spec : spec.slice(0, i);
    return labels[k] !== undefined && (i < 0 || labels[k] === spec.slice(i + 1));
  });
}

export function networkRoutes(r: Router, engine: Engine): void {
  const svc = engine.networks;

  const view = (n: NetworkRecord): Record<string, unknown> => ({ ...n, Containers: svc.containersOf(n) });

  r.add('GET', '/networks', (ctx) => {
    const f = parseFilters(ctx.query);
    checkFilterKeys(f, ['name', 'id', 'label', 'driver', 'type', 'scope', 'dangling']);
    const any = (k: string, pred: (v: string) => boolean): boolean => {
      const vs = f.get(k);
      return !vs || vs.length === 0 || vs.some(pred);
    };
    for (const t of f.get('type') ?? []) {
      if (t !== 'custom' && t !== 'builtin') throw new InvalidParameterError(`invalid filter: 'type'='${t}'`);
    }
    const list = svc.store.list().filter((n) => any('name', (v) => n.Name.includes(v))
      && any('id', (v) => n.Id.startsWith(v))
      && any('driver', (v) => n.Driver === v)
      && any('scope', (v) => v === 'local')
      && any('type', (v) => (v === 'builtin') === PREDEFINED.includes(n.Name))
      && any('dangling', (v) => (v === 'true' || v === '1') === (!PREDEFINED.includes(n.Name) && !svc.activeEndpoints(n).length))
      && labelsMatch(n.Labels, f.get('label')));
    sendJson(res(ctx), 200, list.map(view));
  });

  r.add('GET', '/networks/{id}', (ctx) => {
    sendJson(res(ctx), 200, view(svc.store.get(ctx.params.id!)));
  });

  r.add('POST', '/networks/create', async (ctx) => {
    const body = await readJsonBody<CreateNetworkRequest>(ctx.req);
    if (!body || typeof body !== 'object') throw new InvalidParameterError('network name is required');
    const n = await svc.create(body);
    sendJson(res(ctx), 201, { Id: n.Id, Warning: '' });
  });

  r.add('DELETE', '/networks/{id}', async (ctx) => {
    await svc.remove(ctx.params.id!);
    sendNoContent(res(ctx));
  });

  r.add('POST', '/networks/{id}/connect', async (ctx) => {
    const body = await readJsonBody<{ Container?: string; EndpointConfig?: EndpointRequest }>(ctx.req);
    if (!body?.Container) throw new InvalidParameterError('container is required');
    svc.store.get(ctx.params.id!);
    await engine.containers.connectNetwork(body.Container, ctx.params.id!, body.EndpointConfig ?? {});
    sendNoContent(res(ctx), 200);
  });

  r.add('POST', '/networks/{id}/disconnect', async (ctx) => {
    const body = await readJsonBody<{ Container?: string; Force?: boolean }>(ctx.req);
    if (!body?.Container) throw new InvalidParameterError('container is required');
    await engine.containers.disconnectNetwork(body.Container, ctx.params.id!);
    sendNoContent(res(ctx), 200);
  });

  r.add('POST', '/networks/prune', async (ctx) => {
    const f = parseFilters(ctx.query);
    checkFilterKeys(f, ['label', 'label!', 'until']);
    const until = f.get('until')?.[0];
    const cutoff = until ? parseTimestamp(until) : undefined;
    const removed = await svc.prune((n) => !labelsMatch(n.Labels, f.get('label'))
      || (f.get('label!') ?? []).some((l) => labelsMatch(n.Labels, [l]))
      || (cutoff !== undefined && BigInt(Date.parse(n.Created)) * 1_000_000n >= cutoff));
    sendJson(res(ctx), 200, { NetworksDeleted: removed });
  });
}
