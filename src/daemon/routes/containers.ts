import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { ServerResponse } from 'node:http';
import type { Router, RequestContext } from '../router.js';
import {
  sendJson, sendNoContent, readJsonBody, boolParam, intParam, parseFilters, checkFilterKeys, res,
  beginRawStream, frame, drained,
} from '../http-util.js';
import type { Engine } from '../engine.js';
import { InvalidParameterError, NotModifiedError } from '../../lib/errors.js';
import { validateCreateRequest } from '../../container/create-request.js';
import type { ContainerConfig, ContainerRecord } from '../../container/record.js';
import { commitContainer } from '../commit.js';
import { matchesLabels, createdBefore } from '../filters.js';
import type { WaitCondition } from '../../container/service.js';
import { containerStatusString } from '../../lib/units.js';
import { readLogs, formatDockerTimestamp } from '../../container/logs.js';
import { parseTimestamp } from '../../lib/timestamps.js';
import { compareVersions } from '../version.js';
import { dockerStats, type StatsSample } from '../../container/stats.js';
import { StatsCollector } from '../../container/stats-collector.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAttach, type AttachConnection } from '../../container/attach-socket.js';
import { portSummaries, inspectNetworkSettings } from '../../network/inspect.js';
import { inspectMounts } from '../../container/mounts.js';
import { tarTree } from '../../container/filesystem.js';
import { statPath, statHeader, tarPath, extractInto } from '../../container/archive.js';
import { parseDetachKeys, DetachKeyScanner, DEFAULT_DETACH_KEYS } from '../../lib/detach-keys.js';

function unixSeconds(rfc3339: string): number {
  return Math.floor(new Date(rfc3339).getTime() / 1000);
}

/** `ps`'s COMMAND as dockerd builds it: arguments with a space in single quotes (`sh -c 'echo hi'`). */
export function commandLine(rec: Pick<ContainerRecord, 'Path' | 'Args'>): string {
  return [rec.Path, ...rec.Args.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' ');
}

export function containerSummary(rec: ContainerRecord, status: string, sizes?: { rw: number; rootFs: number }): Record<string, unknown> {
  const out: Record<string, unknown> = {
    Id: rec.Id,
    Names: [rec.Name],
    Image: rec.Config.Image,
    ImageID: rec.Image,
    Command: commandLine(rec),
    Created: unixSeconds(rec.Created),
    Ports: portSummaries(rec.NetworkSettings),
    Labels: rec.Config.Labels ?? {},
    State: rec.State.Status,
    Status: status,
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode },
    NetworkSettings: { Networks: rec.NetworkSettings?.Networks ?? {} },
    Mounts: inspectMounts(rec),
  };
  if (sizes) {
    out.SizeRw = sizes.rw;
    out.SizeRootFs = sizes.rootFs;
  }
  return out;
}

export function containerInspect(rec: ContainerRecord, engine: Engine): Record<string, unknown> {
  const execIds = engine.execs.idsFor(rec.Id);
  const dir = join(engine.paths.containers, rec.Id);
  return {
    Id: rec.Id,
    Created: rec.Created,
    Path: rec.Path,
    Args: rec.Args,
    State: rec.State,
    Image: rec.Image,
    ResolvConfPath: join(dir, 'resolv.conf'),
    HostnamePath: join(dir, 'hostname'),
    HostsPath: join(dir, 'hosts'),
    LogPath: engine.containers.logPath(rec.Id),
    Name: rec.Name,
    RestartCount: rec.RestartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: execIds.length ? execIds : null,
    // The runtime a container runs with is the daemon's (--runtime); Docker shows it here.
    HostConfig: { ...rec.HostConfig, Runtime: engine.config.runtime },
    GraphDriver: {
      Name: 'overlay2',
      Data: {
        LowerDir: engine.images.layerDirsTopFirst(rec.Image)?.join(':'),
        MergedDir: join(engine.paths.run, rec.Id, 'rootfs'),
        UpperDir: join(dir, 'upper'),
        WorkDir: join(dir, 'work'),
      },
    },
    Mounts: inspectMounts(rec),
    Config: rec.Config,
    NetworkSettings: inspectNetworkSettings(rec.NetworkSettings, rec.Config.ExposedPorts),
  };
}

export function statusOf(rec: ContainerRecord): string {
  return containerStatusString({
    status: rec.State.Status,
    startedAt: rec.State.StartedAt,
    finishedAt: rec.State.FinishedAt,
    exitCode: rec.State.ExitCode,
    health: rec.State.Health?.Status,
  });
}

const PS_FILTERS = ['id', 'name', 'label', 'status', 'exited', 'ancestor', 'before', 'since', 'health', 'network', 'publish', 'expose', 'volume'];

export function containerRoutes(r: Router, engine: Engine): void {
  const svc = engine.containers;

  r.add('POST', '/containers/create', async (ctx) => {
    const body = validateCreateRequest(await readJsonBody(ctx.req));
    const name = ctx.query.get('name') ?? undefined;
    const result = await svc.create(body, name || undefined);
    sendJson(res(ctx), 201, result);
  });

  r.add('POST', '/commit', async (ctx) => {
    const q = ctx.query;
    const container = q.get('container');
    if (!container) throw new InvalidParameterError('container is required');
    const body = await readJsonBody<Partial<ContainerConfig>>(ctx.req);
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) throw new InvalidParameterError('invalid container config');
    const id = await commitContainer(engine, {
      container,
      repo: q.get('repo') || undefined,
      tag: q.get('tag') || undefined,
      comment: q.get('comment') || undefined,
      author: q.get('author') || undefined,
      pause: boolParam(q, 'pause', true),
      changes: q.getAll('changes').flatMap((c) => c.split('\n')).filter((c) => c.trim() !== ''),
      config: body,
    });
    sendJson(res(ctx), 201, { Id: id });
  });

  r.add('GET', '/containers/json', async (ctx) => {
    const q = ctx.query;
    const all = boolParam(q, 'all');
    const limit = intParam(q, 'limit') ?? -1;
    const size = boolParam(q, 'size');
    const filters = parseFilters(q);
    checkFilterKeys(filters, PS_FILTERS);
    let list = svc.list();
    const wantsStatus = filters.get('status') ?? [];
    for (const s of wantsStatus) {
      if (!['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'].includes(s)) {
        throw new InvalidParameterError(`invalid filter 'status=${s}'`);
      }
    }
    for (const h of filters.get('health') ?? []) {
      if (!['starting', 'healthy', 'unhealthy', 'none'].includes(h)) {
        throw new InvalidParameterError(`Unrecognised filter value for health: ${h}`);
      }
    }
    const showAll = all || limit > 0 || wantsStatus.length > 0 || filters.has('exited');
    if (!showAll) list = list.filter((c) => c.State.Running);
    list = list.filter((c) => psFilter(c, filters, engine));
    if (limit > 0) list = list.slice(0, limit);
    const out = [];
    for (const c of list) {
      const sizes = size ? { rw: await svc.sizeRw(c.Id), rootFs: engine.imageSize(c.Image) } : undefined;
      out.push(containerSummary(c, statusOf(c), sizes));
    }
    sendJson(res(ctx), 200, out);
  });

  r.add('GET', '/containers/{id}/json', async (ctx) => {
    const rec = svc.get(ctx.params.id!);
    const out = containerInspect(rec, engine);
    if (boolParam(ctx.query, 'size')) {
      out.SizeRw = await svc.sizeRw(rec.Id);
      out.SizeRootFs = engine.imageSize(rec.Image);
    }
    sendJson(res(ctx), 200, out);
  });

  r.add('POST', '/containers/{id}/start', async (ctx) => {
    await svc.start(ctx.params.id!);
    sendNoContent(res(ctx));
  });

  r.add('POST', '/containers/{id}/stop', async (ctx) => {
    const t = intParam(ctx.query, 't');
    const signal = ctx.query.get('signal') || undefined;
    await svc.stop(ctx.params.id!, { timeout: t, signal });
    sendNoContent(res(ctx));
  });

  r.add('POST', '/containers/{id}/restart', async (ctx) => {
    await svc.restart(ctx.params.id!, intParam(ctx.query, 't'));
    sendNoContent(res(ctx));
  });

  r.add('POST', '/containers/{id}/kill', async (ctx) => {
    await svc.kill(ctx.params.id!, ctx.query.get('signal') || 'SIGKILL');
    sendNoContent(res(ctx));
  });

  r.add('POST', '/containers/{id}/wait', async (ctx) => {
    const condition = (ctx.query.get('condition') || 'not-running') as WaitCondition;
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) {
      throw new InvalidParameterError(`invalid condition: "${condition}"`);
    }
    const p = svc.wait(ctx.params.id!, condition);
    const out = res(ctx);
    // Docker sends the headers at once so the client knows the wait is registered.
    out.writeHead(200, { 'Content-Type': 'application/json' });
    out.flushHeaders();
    const result = await p;
    out.end(JSON.stringify(result) + '\n');
  });

  r.add('POST', '/containers/{id}/rename', async (ctx) => {
    await svc.rename(ctx.params.id!, ctx.query.get('name') ?? '');
    sendNoContent(res(ctx));
  });

  r.add('DELETE', '/containers/{id}', async (ctx) => {
    await svc.remove(ctx.params.id!, { force: boolParam(ctx.query, 'force'), volumes: boolParam(ctx.query, 'v') });
    sendNoContent(res(ctx));
  });

  r.add('POST', '/containers/prune', async (ctx) => {
    const filters = parseFilters(ctx.query);
    checkFilterKeys(filters, ['label', 'label!', 'until']);
    const before = createdBefore(filters.get('until'));
    const result = await svc.prune((c) => labelFilter(c, filters.get('label'), filters.get('label!')) && before(Date.parse(c.Created)));
    sendJson(res(ctx), 200, result);
  });

  r.add('GET', '/containers/{id}/logs', async (ctx) => {
    const rec = svc.get(ctx.params.id!);
    const q = ctx.query;
    const stdout = boolParam(q, 'stdout');
    const stderr = boolParam(q, 'stderr');
    if (!stdout && !stderr) throw new InvalidParameterError('Bad parameters: you must choose at least one stream');
    if (rec.HostConfig.LogConfig.Type === 'none') {
      throw new InvalidParameterError(`configured logging driver does not support reading`);
    }
    const follow = boolParam(q, 'follow');
    const timestamps = boolParam(q, 'timestamps');
    const details = boolParam(q, 'details');
    const tailRaw = q.get('tail');
    const tail = !tailRaw || tailRaw === 'all' ? undefined : Number(tailRaw);
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new InvalidParameterError(`invalid value for "tail": ${tailRaw}`);
    const ts = (name: string): bigint | undefined => {
      const v = q.get(name);
      if (!v || v === '0') return undefined;
      try {
        return parseTimestamp(v);
      } catch (err) {
        throw new InvalidParameterError(`invalid value for "${name}": ${(err as Error).message}`);
      }
    };
    const sinceNs = ts('since');
    const untilNs = ts('until');
    const out = res(ctx);
    out.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
    out.flushHeaders();
    const abort = new AbortController();
    out.on('close', () => abort.abort());
    const detailText = details ? detailsPrefix(rec) : '';
    for await (const rec2 of readLogs(svc.logPath(rec.Id), {
      tail, sinceNs, untilNs, follow, signal: abort.signal, isDone: () => !svc.isRunning(rec.Id),
      wake: wakeOn(engine, rec.Id), lock: (fn) => svc.withLogLock(rec.Id, fn),
    })) {
      if ((rec2.stream === 'stdout' && !stdout) || (rec2.stream === 'stderr' && !stderr)) continue;
      let data = rec2.data;
      if (timestamps || detailText) {
        const prefix = (timestamps ? formatDockerTimestamp(rec2.timeNs) + ' ' : '') + detailText;
        data = Buffer.concat([Buffer.from(prefix), data]);
      }
      // A TTY merges the streams: Docker sends such logs unframed.
      if (!out.write(rec.Config.Tty ? data : frame(rec2.stream === 'stdout' ? 1 : 2, data))) {
        await drained(out);
      }
      if (abort.signal.aborted) break;
    }
    out.end();
  });

  r.add('POST', '/containers/{id}/attach', async (ctx) => attach(ctx, engine));

  r.add('POST', '/containers/{id}/update', async (ctx) => {
    const body = await readJsonBody(ctx.req);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidParameterError('json: cannot unmarshal request body into container update config');
    const warnings = await svc.update(ctx.params.id!, body as Record<string, unknown>);
    sendJson(res(ctx), 200, { Warnings: warnings });
  });

  r.add('POST', '/containers/{id}/pause', async (ctx) => {
    await svc.pause(ctx.params.id!);
    sendNoContent(res(ctx));
  });

  r.add('POST', '/containers/{id}/unpause', async (ctx) => {
    await svc.unpause(ctx.params.id!);
    sendNoContent(res(ctx));
  });

  r.add('GET', '/containers/{id}/archive', async (ctx) => {
    const path = ctx.query.get('path');
    if (!path) throw new InvalidParameterError('path is required');
    const out = res(ctx);
    await svc.withContainerRoot(ctx.params.id!, async (c, rec) => {
      const { stat, host } = await statPath(c, path, rec.Name.slice(1));
      const headers = { 'Content-Type': 'application/x-tar', 'X-Docker-Container-Path-Stat': statHeader(stat) };
      if (ctx.req.method === 'HEAD') {
        out.writeHead(200, headers);
        out.end();
        return;
      }
      out.writeHead(200, headers);
      try {
        await tarPath(host, out, stat.name === '/');
      } catch (err) {
        out.destroy(err as Error);
        return;
      }
      out.end();
    });
  });

  r.add('PUT', '/containers/{id}/archive', async (ctx) => {
    const path = ctx.query.get('path');
    if (!path) throw new InvalidParameterError('path is required');
    await svc.withContainerRoot(ctx.params.id!, (c, rec) => extractInto(c, path, ctx.req, {
      copyUidGid: boolParam(ctx.query, 'copyUIDGID'),
      noOverwriteDirNonDir: boolParam(ctx.query, 'noOverwriteDirNonDir'),
    }, rec.Name.slice(1)));
    sendNoContent(res(ctx), 200);
  });

  r.add('GET', '/containers/{id}/changes', async (ctx) => {
    const list = await svc.changes(ctx.params.id!);
    sendJson(res(ctx), 200, list.length ? list : null);
  });

  r.add('GET', '/containers/{id}/export', async (ctx) => {
    const out = res(ctx);
    await svc.withRootfs(ctx.params.id!, async (rootfs) => {
      out.writeHead(200, { 'Content-Type': 'application/x-tar' });
      try {
        await tarTree(rootfs, out);
      } catch (err) {
        // Headers are gone: cut the stream so the client sees a broken archive, not a short one.
        out.destroy(err as Error);
        return;
      }
      out.end();
    });
  });

  r.add('GET', '/containers/{id}/top', async (ctx) => {
    sendJson(res(ctx), 200, await svc.top(ctx.params.id!, ctx.query.get('ps_args') || '-ef'));
  });

  // The previous sample of watched containers (see stats-collector.ts).
  const takeSample = async (id: string): Promise<StatsSample | undefined> => (svc.isRunning(id) ? svc.statsSample(id).catch(() => undefined) : undefined);
  const collector = new StatsCollector(takeSample);

  r.add('GET', '/containers/{id}/stats', async (ctx) => {
    const rec = svc.get(ctx.params.id!);
    const stream = boolParam(ctx.query, 'stream', true);
    const oneShot = boolParam(ctx.query, 'one-shot');
    const out = res(ctx);
    const name = rec.Name.slice(1);
    // A stopped container has no cgroup: Docker answers with zeroed stats.
    // A one-shot reader wants one sample, not a container watched for the next ones.
    const sample = (): Promise<StatsSample | undefined> => (oneShot ? takeSample(rec.Id) : collector.now(rec.Id));
    const empty: StatsSample = { read: '0001-01-01T00:00:00Z', runtime: {}, systemCpu: 0 };
    if (!stream) {
      let pre: StatsSample | undefined;
      // Without one-shot, Docker's collector has a previous sample a second old: CPU % needs two.
      if (!oneShot) {
        pre = collector.recent(rec.Id);
        if (!pre) {
          pre = await sample();
          await sleep(1000);
        }
      }
      const cur = (await sample()) ?? empty;
      sendJson(out, 200, dockerStats(rec.Id, name, cur, pre));
      return;
    }
    out.writeHead(200, { 'Content-Type': 'application/json' });
    let closed = false;
    out.on('close', () => { closed = true; });
    let pre: StatsSample | undefined;
    while (!closed) {
      const cur = (await sample()) ?? empty;
      out.write(JSON.stringify(dockerStats(rec.Id, name, cur, pre)) + '\n');
      pre = cur;
      if (!svc.tryGet(rec.Id)) break;
      await sleep(1000);
    }
    out.end();
  });

  r.add('POST', '/containers/{id}/resize', async (ctx) => {
    const h = intParam(ctx.query, 'h') ?? 0;
    const w = intParam(ctx.query, 'w') ?? 0;
    if (h < 0 || w < 0) throw new InvalidParameterError('invalid resize dimensions');
    await svc.resize(ctx.params.id!, h, w);
    sendNoContent(res(ctx), 200);
  });
}

function detailsPrefix(rec: ContainerRecord): string {
  const labels = Object.entries(rec.Config.Labels ?? {});
  // Docker prints the log-opt `labels`/`env` attributes; without them it prints an empty detail and a space.
  const wanted = (rec.HostConfig.LogConfig.Config.labels ?? '').split(',').filter(Boolean);
  const parts = labels.filter(([k]) => wanted.includes(k)).map(([k, v]) => `${k}=${v}`);
  return parts.join(',') + ' ';
}

/**
 * Attach: output comes from following the container's log from this moment
 * (conmon writes every byte there), so an attach never loses output that a
 * slow client did not read and costs conmon nothing. Stdin goes to conmon's
 * attach socket once the container runs (`docker run -i` attaches first,
 * then starts), with the detach keys watched for on the way.
 */
async function attach(ctx: RequestContext, engine: Engine): Promise<void> {
  const svc = engine.containers;
  const rec = svc.get(ctx.params.id!);
  const q = ctx.query;
  const stream = boolParam(q, 'stream');
  const wantStdout = boolParam(q, 'stdout');
  const wantStderr = boolParam(q, 'stderr');
  const wantStdin = boolParam(q, 'stdin') && rec.Config.OpenStdin && ctx.upgradeSocket !== undefined;
  const logs = boolParam(q, 'logs');
  const keys = parseDetachKeys(q.get('detachKeys') || DEFAULT_DETACH_KEYS);
  const tty = rec.Config.Tty;
  const out = beginRawStream(ctx, !tty && compareVersions(ctx.apiVersion, '1.42') >= 0
    ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream');
  const abort = new AbortController();
  const closeEv = (out as Duplex).on ? out : undefined;
  closeEv?.on('close', () => abort.abort());
  const write = async (buf: Buffer): Promise<void> => {
    if (!(out as ServerResponse | Duplex).write(buf)) await drained(out as Duplex);
  };
  // A container that has not started yet (docker run attaches first) must not end the stream.
  const startedAt = rec.State.Running ? undefined : rec.State.StartedAt;
  const sinceNs = logs ? undefined : BigInt(Date.now()) * 1_000_000n - 1_000_000n;
  const isDone = (): boolean => {
    const cur = engine.containers.tryGet(rec.Id);
    if (!cur) return true;
    if (cur.State.Running) return false;
    // Not running: done once it has run since we attached (or if we only wanted logs).
    return !stream || cur.State.StartedAt !== startedAt || cur.State.Error !== '';
  };
  if (wantStdin && stream) {
    void forwardStdin(ctx.upgradeSocket!, ctx.upgradeHead, engine, rec.Id, keys, abort);
  }
  if (stream || logs) {
    for await (const r of readLogs(svc.logPath(rec.Id), {
      sinceNs, follow: stream, signal: abort.signal, isDone, wake: wakeOn(engine, rec.Id),
      lock: (fn) => svc.withLogLock(rec.Id, fn),
    })) {
      if ((r.stream === 'stdout' && !wantStdout) || (r.stream === 'stderr' && !wantStderr)) continue;
      await write(tty ? r.data : frame(r.stream === 'stdout' ? 1 : 2, r.data));
      if (abort.signal.aborted) break;
    }
  }
  (out as Duplex).end();
}

/**
 * Client → container stdin. Waits for the container to run (the socket is
 * conmon's), passes bytes on until the client half-closes (the container's
 * EOF) or types the detach keys (the attach ends, the container runs on).
 */
async function forwardStdin(sock: Duplex, head: Buffer | undefined, engine: Engine, id: string, keys: number[], abort: AbortController): Promise<void> {
  const svc = engine.containers;
  sock.pause();
  if (head?.length) sock.unshift(head);
  const running = await new Promise<boolean>((resolve) => {
    const check = (): boolean => {
      const cur = svc.tryGet(id);
      if (!cur || abort.signal.aborted) {
        resolve(false);
        return true;
      }
      if (cur.State.Running) {
        resolve(true);
        return true;
      }
      return false;
    };
    if (check()) return;
    const unsubscribe = engine.events.subscribe((e) => {
      if (e.Type === 'container' && e.Actor.ID === id && ['start', 'destroy'].includes(e.Action) && check()) unsubscribe();
    });
    abort.signal.addEventListener('abort', () => { unsubscribe(); resolve(false); });
  });
  if (!running) return;
  let conn: AttachConnection;
  try {
    conn = await connectAttach(svc.attachSocketPath(id));
  } catch {
    return; // exited before we got there: nothing to feed
  }
  const scanner = new DetachKeyScanner(keys);
  const onAbort = (): void => conn.close();
  abort.signal.addEventListener('abort', onAbort);
  sock.on('data', (chunk: Buffer) => {
    const { pass, detach } = scanner.push(chunk);
    sock.pause();
    void conn.write(pass).then(() => {
      if (detach) {
        conn.close();
        abort.abort();
        return;
      }
      sock.resume();
    });
  });
  sock.on('end', () => conn.end());
  sock.resume();
  await conn.closed;
  abort.signal.removeEventListener('abort', onAbort);
}

/** Wake a log follower when the container starts, dies or goes away. */
export function wakeOn(engine: Engine, id: string): (fn: () => void) => () => void {
  return (fn) => engine.events.subscribe((e) => {
    if (e.Type === 'container' && e.Actor.ID === id && ['start', 'die', 'destroy'].includes(e.Action)) fn();
  });
}

function labelFilter(c: ContainerRecord, labels?: string[], notLabels?: string[]): boolean {
  return matchesLabels(c.Config.Labels, labels, notLabels);
}

/** `80`, `80/udp`, `8000-8080/tcp` against port keys such as `80/tcp`. */
function portMatches(spec: string, keys: string[]): boolean {
  const m = /^(\d+)(?:-(\d+))?(?:\/(\w+))?$/.exec(spec);
  if (!m) throw new InvalidParameterError(`invalid filter value: ${spec}`);
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  const proto = m[3] ?? 'tcp';
  return keys.some((k) => {
    const [p = '', pr = 'tcp'] = k.split('/');
    return Number(p) >= lo && Number(p) <= hi && pr === proto;
  });
}

function psFilter(c: ContainerRecord, f: Map<string, string[]>, engine: Engine): boolean {
  const any = (k: string, pred: (v: string) => boolean): boolean => {
    const vs = f.get(k);
    return !vs || vs.length === 0 || vs.some(pred);
  };
  if (!any('id', (v) => c.Id.startsWith(v))) return false;
  if (!any('name', (v) => new RegExp(v).test(c.Name.slice(1)) || c.Name === v)) return false;
  if (!any('status', (v) => c.State.Status === v)) return false;
  if (!any('health', (v) => (c.State.Health?.Status ?? 'none') === v)) return false;
  if (!any('exited', (v) => !c.State.Running && c.State.Status === 'exited' && String(c.State.ExitCode) === v)) return false;
  if (!any('ancestor', (v) => c.Config.Image === v || engine.imageMatches(v, { imageId: c.Image }))) return false;
  if (!labelFilter(c, f.get('label'))) return false;
  const networks = Object.entries(c.NetworkSettings?.Networks ?? {});
  if (!any('network', (v) => networks.some(([name, ep]) => name === v || ep.NetworkID.startsWith(v)))) return false;
  // `publish` is the host side of a binding (`-p 8080:80` is publish=8080), as dockerd has matched it since 20.10
  // (moby#40405); `expose` is the container side.
  const published = Object.entries(c.NetworkSettings?.Ports ?? {})
    .flatMap(([key, bindings]) => (bindings ?? []).map((b) => `${b.HostPort}/${key.split('/')[1] ?? 'tcp'}`));
  if (!any('publish', (v) => portMatches(v, published))) return false;
  if (!any('expose', (v) => portMatches(v, Object.keys(c.Config.ExposedPorts ?? {})))) return false;
  if (!any('volume', (v) => (c.Mounts ?? []).some((m) => m.Name === v || m.Destination === v || (m.Type === 'bind' && m.Source === v)))) return false;
  const before = f.get('before');
  if (before && before.length) {
    const ref = engine.containers.get(before[0]!);
    if (!(Date.parse(c.Created) < Date.parse(ref.Created))) return false;
  }
  const since = f.get('since');
  if (since && since.length) {
    const ref = engine.containers.get(since[0]!);
    if (!(Date.parse(c.Created) > Date.parse(ref.Created))) return false;
  }
  return true;
}

export { NotModifiedError };

