import os from 'node:os';
import { statfsSync, readFileSync } from 'node:fs';
import type { Router } from '../router.js';
import { sendJson, parseFilters, checkFilterKeys, res } from '../http-util.js';
import { DEFAULT_API_VERSION, MIN_API_VERSION, BERTH_VERSION } from '../version.js';
import type { Engine } from '../engine.js';
import { diskUsage } from '../disk-usage.js';
import type { EngineEvent } from '../../lib/event-bus.js';
import { parseTimestamp } from '../../lib/timestamps.js';
import { InvalidParameterError } from '../../lib/errors.js';

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

export function systemRoutes(r: Router, engine: Engine): void {
  const ping = (ctx: Parameters<Parameters<Router['add']>[2]>[0]): void => {
    const out = res(ctx);
    out.writeHead(200, {
      'Api-Version': DEFAULT_API_VERSION,
      'Builder-Version': '1',
      'Docker-Experimental': 'false',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': ctx.req.method === 'HEAD' ? '0' : '2',
    });
    out.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
  };
  r.add('GET', '/_ping', ping);
  r.add('HEAD', '/_ping', ping);

  r.add('GET', '/version', (ctx) => {
    const v = {
      Platform: { Name: 'Berth Engine' },
      Components: [{
        Name: 'Engine',
        Version: BERTH_VERSION,
        Details: {
          ApiVersion: DEFAULT_API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: 'berth', GoVersion: `node${process.versions.node}`,
          Os: 'linux', Arch: GOARCH[process.arch] ?? process.arch, KernelVersion: os.release(), BuildTime: '', Experimental: 'false',
        },
      }],
      Version: BERTH_VERSION,
      ApiVersion: DEFAULT_API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'berth',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: GOARCH[process.arch] ?? process.arch,
      KernelVersion: os.release(),
      BuildTime: '',
    };
    sendJson(res(ctx), 200, v);
  });

  r.add('GET', '/system/df', async (ctx) => {
    sendJson(res(ctx), 200, await diskUsage(engine));
  });

  r.add('GET', '/info', (ctx) => {
    const containers = engine.containers.list();
    const running = containers.filter((c) => c.State.Running && !c.State.Paused).length;
    const paused = containers.filter((c) => c.State.Paused).length;
    let cgroupVersion = '1';
    try {
      statfsSync('/sys/fs/cgroup/cgroup.controllers');
      cgroupVersion = '2';
    } catch { /* v1 or hybrid */ }
    sendJson(res(ctx), 200, {
      ID: engine.daemonId,
      Containers: containers.length,
      ContainersRunning: running,
      ContainersPaused: paused,
      ContainersStopped: containers.length - running - paused,
      Images: engine.images.list().length,
      Driver: 'overlay2',
      DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true'], ['Using metacopy', 'false'], ['Native Overlay Diff', 'true']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file', 'local', 'k8s-file', 'none'] },
      MemoryLimit: true,
      SwapLimit: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      Debug: engine.config.logLevel === 'debug',
      NFd: 0,
      OomKillDisable: cgroupVersion === '1',
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: cgroupVersion,
      NEventsListener: 0,
      KernelVersion: os.release(),
      OperatingSystem: osName(),
      OSVersion: '',
      OSType: 'linux',
      Architecture: os.machine(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: registryConfig(engine.config.insecureRegistries),
      NCPU: os.cpus().length,
      MemTotal: os.totalmem(),
      DockerRootDir: engine.config.dataRoot,
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: os.hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: BERTH_VERSION,
      Runtimes: { runc: { path: 'runc' }, crun: { path: 'crun' } },
      DefaultRuntime: engine.config.runtime,
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: 'docker-init',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: '' },
      InitCommit: { ID: '' },
      SecurityOptions: ['name=seccomp,profile=builtin', `name=cgroupns`].slice(0, cgroupVersion === '2' ? 2 : 1),
      Warnings: [],
    });
  });

  r.add('GET', '/events', async (ctx) => {
    const q = ctx.query;
    const filters = parseFilters(q);
    checkFilterKeys(filters, ['container', 'event', 'image', 'label', 'type', 'daemon', 'network', 'volume', 'scope']);
    const now = Date.now();
    const parse = (name: string): number | undefined => {
      const v = q.get(name);
      if (!v) return undefined;
      try {
        return Number(parseTimestamp(v, now));
      } catch (err) {
        throw new InvalidParameterError(`invalid value for "${name}": ${(err as Error).message}`);
      }
    };
    const since = parse('since');
    const until = parse('until');
    const out = res(ctx);
    out.writeHead(200, { 'Content-Type': 'application/json' });
    out.flushHeaders();
    const match = (e: EngineEvent): boolean => eventMatches(e, filters, engine);
    const write = (e: EngineEvent): void => { if (match(e)) out.write(JSON.stringify(e) + '\n'); };
    if (since !== undefined) {
      for (const e of engine.events.since(since)) {
        if (until !== undefined && e.timeNano > until) break;
        write(e);
      }
    }
    if (until !== undefined && until <= Date.now() * 1e6) {
      out.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const unsubscribe = engine.events.subscribe((e) => {
        if (until !== undefined && e.timeNano > until) return finish();
        write(e);
      });
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        unsubscribe();
        if (timer) clearTimeout(timer);
        out.end();
        resolve();
      };
      if (until !== undefined) timer = setTimeout(finish, Math.max(0, until / 1e6 - Date.now()));
      ctx.req.socket.on('close', finish);
    });
  });
}

function eventMatches(e: EngineEvent, f: Map<string, string[]>, engine: Engine): boolean {
  const has = (k: string, pred: (v: string) => boolean): boolean => {
    const vs = f.get(k);
    return !vs || vs.length === 0 || vs.some(pred);
  };
  if (!has('type', (v) => v === e.Type)) return false;
  if (!has('event', (v) => v === e.Action || e.Action.startsWith(v + ':'))) return false;
  if (!has('container', (v) => e.Type === 'container' && (e.Actor.ID === v || e.Actor.ID.startsWith(v) || e.Actor.Attributes.name === v))) return false;
  if (!has('image', (v) => (e.Type === 'image' && (e.Actor.ID === v || e.Actor.Attributes.name === v)) ||
    (e.Type === 'container' && e.Actor.Attributes.image === v) || engine.imageMatches(v, e))) return false;
  if (!has('label', (v) => {
    const [k, val] = v.split('=', 2) as [string, string | undefined];
    const a = e.Actor.Attributes[k];
    return a !== undefined && (val === undefined || a === val);
  })) return false;
  return true;
}

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text);
    if (m) return m[1]!;
  } catch { /* not Linux-like */ }
  return os.type();
}

/**
 * `info`'s RegistryConfig as dockerd fills it: Docker Hub's index, each
 * insecure registry named by host, and the insecure CIDRs (loopback always).
 */
export function registryConfig(insecure: string[]): Record<string, unknown> {
  const index = (name: string, secure: boolean, official: boolean): Record<string, unknown> => ({ Name: name, Mirrors: [], Secure: secure, Official: official });
  const cidrs = ['127.0.0.0/8', ...insecure.filter((e) => /^[0-9.]+\/\d+$/.test(e) && e !== '127.0.0.0/8')];
  const IndexConfigs: Record<string, unknown> = { 'docker.io': index('docker.io', true, true) };
  for (const name of insecure.filter((e) => !/\/\d+$/.test(e))) IndexConfigs[name] = index(name, false, false);
  return { InsecureRegistryCIDRs: cidrs, IndexConfigs, Mirrors: [] };
}
