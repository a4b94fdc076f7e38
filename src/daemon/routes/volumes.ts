import type { Router } from '../router.js';
import { sendJson, sendNoContent, readJsonBody, parseFilters, checkFilterKeys, boolParam, res } from '../http-util.js';
import type { Engine } from '../engine.js';
import { InvalidParameterError } from '../../lib/errors.js';
import { ANONYMOUS_LABEL, type CreateVolumeRequest, type VolumeRecord } from '../../volume/service.js';
import { compareVersions } from '../version.js';

function labelsMatch(labels: Record<string, string>, specs: string[] | undefined): boolean {
  return (specs ?? []).every((spec) => {
    const i = spec.indexOf('=');
    const k = i < 0 ? spec : spec.slice(0, i);
    return labels[k] !== undefined && (i < 0 || labels[k] === spec.slice(i + 1));
  });
}

export function volumeRoutes(r: Router, engine: Engine): void {
  const svc = engine.volumes;
  const inUse = (v: VolumeRecord): boolean => engine.containers.list().some((c) => c.Mounts?.some((m) => m.Type === 'volume' && m.Name === v.Name));

  r.add('GET', '/volumes', (ctx) => {
    const f = parseFilters(ctx.query);
    checkFilterKeys(f, ['name', 'label', 'driver', 'dangling']);
    const any = (k: string, pred: (v: string) => boolean): boolean => {
      const vs = f.get(k);
      return !vs || vs.length === 0 || vs.some(pred);
    };
    for (const v of f.get('dangling') ?? []) {
      if (!['true', 'false', '1', '0'].includes(v)) throw new InvalidParameterError(`invalid filter 'dangling=${v}'`);
    }
    const list = svc.list().filter((v) => any('name', (n) => v.Name.includes(n))
      && any('driver', (d) => v.Driver === d)
      && any('dangling', (d) => (d === 'true' || d === '1') === !inUse(v))
      && labelsMatch(v.Labels, f.get('label')));
    sendJson(res(ctx), 200, { Volumes: list, Warnings: null });
  });

  r.add('POST', '/volumes/create', async (ctx) => {
    const body = (await readJsonBody<CreateVolumeRequest>(ctx.req)) ?? {};
    if (typeof body !== 'object') throw new InvalidParameterError('json: cannot unmarshal volume create body');
    sendJson(res(ctx), 201, await svc.create(body));
  });

  r.add('GET', '/volumes/{name}', (ctx) => {
    sendJson(res(ctx), 200, svc.get(ctx.params.name!));
  });

  r.add('DELETE', '/volumes/{name}', async (ctx) => {
    await svc.remove(ctx.params.name!, boolParam(ctx.query, 'force'));
    sendNoContent(res(ctx));
  });

  r.add('POST', '/volumes/prune', async (ctx) => {
    const f = parseFilters(ctx.query);
    checkFilterKeys(f, ['label', 'label!', 'all']);
    // API 1.42 made prune spare named volumes unless all=true; older clients prune them all.
    const all = compareVersions(ctx.apiVersion, '1.42') < 0 || (f.get('all') ?? []).some((v) => v === 'true' || v === '1');
    const result = await svc.prune((v) => (!all && v.Labels[ANONYMOUS_LABEL] === undefined)
      || !labelsMatch(v.Labels, f.get('label'))
      || (f.get('label!') ?? []).some((l) => labelsMatch(v.Labels, [l])));
    sendJson(res(ctx), 200, result);
  });
}
