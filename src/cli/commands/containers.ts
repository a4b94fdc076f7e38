// Container commands: run, create, start, ps, logs, stop, restart, kill, rm,
// wait, rename, inspect, prune — with the docker CLI's output and exit codes.
import { readFileSync, promises as fsp } from 'node:fs';
import type { Command } from 'commander';
import { confirm, parseFilterFlags } from '../prompt.js';
import { pullWithProgress } from './registry.js';
import { client, CliError, out, err } from '../context.js';
import { EngineApiError, type ContainerSummary, type JsonObject } from '../../client/client.js';
import { attachSession } from '../attach-session.js';
import { demuxTo } from '../../client/stdcopy.js';
import { tabwrite } from '../tabwriter.js';
import { inspectEach, orMissing } from '../inspect.js';
import { humanDuration, humanSize, ramInBytes, parseGoDuration } from '../../lib/units.js';
import { ellipsis, formatRows } from '../format.js';
import { parseExposed, parsePortSpecs, type PortBindings } from '../../network/port-spec.js';
import { parseMountFlag } from '../../volume/mount-spec.js';

export type Opts = Record<string, unknown>;
const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

/** `--env-file`: KEY=VALUE lines; `KEY` alone takes the value from our environment. */
export function parseEnvFile(text: string): string[] {
  const outEnv: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf('=');
    const key = i < 0 ? line.trimEnd() : line.slice(0, i);
    if (/\s/.test(key)) throw new CliError(`variable '${key}' contains whitespaces`, 125);
    if (i < 0) {
      if (process.env[key] !== undefined) outEnv.push(`${key}=${process.env[key]}`);
    } else {
      outEnv.push(line);
    }
  }
  return outEnv;
}

export function envList(opts: Opts): string[] {
  const env: string[] = [];
  for (const f of list(opts.envFile)) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw new CliError(`open ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`, 125);
    }
    env.push(...parseEnvFile(text));
  }
  // `-e NAME` takes NAME's value from our environment; unset here, the bare
  // name goes along (as the docker CLI sends it) and unsets NAME in the
  // container. An --env-file line without a value is dropped instead.
  for (const e of list(opts.env)) {
    if (e.includes('=')) env.push(e);
    else env.push(process.env[e] !== undefined ? `${e}=${process.env[e]}` : e);
  }
  return env;
}

function labels(opts: Opts): Record<string, string> {
  const outL: Record<string, string> = {};
  const add = (l: string): void => {
    const i = l.indexOf('=');
    if (i < 0) outL[l] = '';
    else outL[l.slice(0, i)] = l.slice(i + 1);
  };
  for (const f of list(opts.labelFile)) {
    for (const line of readFileSync(f, 'utf8').split('\n')) if (line.trim() && !line.startsWith('#')) add(line.trim());
  }
  list(opts.label).forEach(add);
  return outL;
}

function restartPolicy(s: string): { Name: string; MaximumRetryCount: number } {
  const [name = 'no', count] = s.split(':');
  if (count !== undefined && name !== 'on-failure') throw new CliError(`invalid restart policy format: maximum retry count can only be used with 'on-failure'`, 125);
  return { Name: name, MaximumRetryCount: count ? Number(count) : 0 };
}

/** A size flag as the docker CLI reads it (binary units), with its error text. */
function sizeFlag(opts: Opts, key: string, flag: string, allowMinusOne = false): number | undefined {
  const v = opts[key] as string | undefined;
  if (v === undefined) return undefined;
  if (allowMinusOne && v.trim() === '-1') return -1;
  try {
    return ramInBytes(v);
  } catch (e) {
    throw new CliError(`invalid argument "${v}" for "${flag}" flag: ${(e as Error).message}`, 125);
  }
}

/** The --health-* flags as the docker CLI sends them (durations in ns). */
function healthFlags(opts: Opts): JsonObject | undefined {
  const dur = (key: string, flag: string): number | undefined => {
    const v = opts[key] as string | undefined;
    if (v === undefined) return undefined;
    let ms: number;
    try {
      ms = parseGoDuration(v);
    } catch {
      throw new CliError(`invalid argument "${v}" for "${flag}" flag: time: invalid duration "${v}"`, 125);
    }
    if (ms < 0) throw new CliError(`${flag} cannot be negative`, 125);
    return Math.round(ms * 1e6);
  };
  const h: JsonObject = {};
  const set = (k: string, v: unknown): void => { if (v !== undefined) h[k] = v; };
  if (opts.healthCmd !== undefined) h.Test = ['CMD-SHELL', opts.healthCmd as string];
  set('Interval', dur('healthInterval', '--health-interval'));
  set('Timeout', dur('healthTimeout', '--health-timeout'));
  set('StartPeriod', dur('healthStartPeriod', '--health-start-period'));
  set('StartInterval', dur('healthStartInterval', '--health-start-interval'));
  if (opts.healthRetries !== undefined) {
    if ((opts.healthRetries as number) < 0) throw new CliError('--health-retries cannot be negative', 125);
    h.Retries = opts.healthRetries;
  }
  // commander turns --no-healthcheck into healthcheck === false.
  if (opts.healthcheck === false) {
    if (Object.keys(h).length) throw new CliError('--no-healthcheck conflicts with --health-* options', 125);
    return { Test: ['NONE'] };
  }
  return Object.keys(h).length ? h : undefined;
}

/** --sysctl, --ulimit, --device, --group-add, and the seccomp file of --security-opt, as the docker CLI sends them. */
function securityFlags(opts: Opts): JsonObject {
  const out: JsonObject = {};
  const sysctls: Record<string, string> = {};
  for (const kv of list(opts.sysctl)) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new CliError(`invalid argument "${kv}" for "--sysctl" flag: sysctl '${kv}' is not allowed`, 125);
    sysctls[kv.slice(0, i)] = kv.slice(i + 1);
  }
  if (Object.keys(sysctls).length) out.Sysctls = sysctls;
  const ulimits = list(opts.ulimit).map((u) => {
    const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(u);
    if (!m) throw new CliError(`invalid argument "${u}" for "--ulimit" flag: invalid ulimit argument: ${u}`, 125);
    const soft = Number(m[2]);
    return { Name: m[1]!, Soft: soft, Hard: m[3] === undefined ? soft : Number(m[3]) };
  });
  if (ulimits.length) out.Ulimits = ulimits;
  const devices = list(opts.device).map((d) => {
    const [host = '', cont, perms] = d.split(':');
    // `--device /dev/x:rw` names permissions, not a container path.
    if (cont !== undefined && perms === undefined && /^[rwm]+$/.test(cont)) return { PathOnHost: host, PathInContainer: host, CgroupPermissions: cont };
    return { PathOnHost: host, PathInContainer: cont || host, CgroupPermissions: perms || 'rwm' };
  });
  if (devices.length) out.Devices = devices;
  if (list(opts.groupAdd).length) out.GroupAdd = list(opts.groupAdd);
  // The docker CLI reads a seccomp profile file and sends its contents.
  const sec = list(opts.securityOpt).map((o) => {
    const m = /^seccomp[=:](.+)$/.exec(o);
    if (!m || m[1] === 'unconfined') return o;
    try {
      return `seccomp=${JSON.stringify(JSON.parse(readFileSync(m[1]!, 'utf8')))}`;
    } catch (e) {
      throw new CliError(`opening seccomp profile (${m[1]}) failed: ${(e as Error).message}`, 125);
    }
  });
  if (sec.length) out.SecurityOpt = sec;
  return out;
}

function resourceFlags(opts: Opts): JsonObject {
  const out: JsonObject = {};
  const set = (k: string, v: unknown): void => { if (v !== undefined) out[k] = v; };
  set('Memory', sizeFlag(opts, 'memory', '-m, --memory'));
  set('MemorySwap', sizeFlag(opts, 'memorySwap', '--memory-swap', true));
  set('MemoryReservation', sizeFlag(opts, 'memoryReservation', '--memory-reservation'));
  set('ShmSize', sizeFlag(opts, 'shmSize', '--shm-size'));
  if (opts.cpus !== undefined) {
    const n = Number(opts.cpus);
    if (!/^\d*\.?\d+$/.test(String(opts.cpus)) || !Number.isFinite(n)) {
      throw new CliError(`invalid argument "${String(opts.cpus)}" for "--cpus" flag: failed to parse ${String(opts.cpus)} as a rational number`, 125);
    }
    out.NanoCpus = Math.round(n * 1e9);
  }
  set('CpuShares', opts.cpuShares);
  set('CpuPeriod', opts.cpuPeriod);
  set('CpuQuota', opts.cpuQuota);
  set('CpusetCpus', opts.cpusetCpus);
  set('PidsLimit', opts.pidsLimit);
  if (opts.oomKillDisable) out.OomKillDisable = true;
  return out;
}

/** -p, -P, --expose: ExposedPorts and PortBindings as the docker CLI builds them. */
function portFlags(opts: Opts): { exposed?: Record<string, object>; bindings: PortBindings } {
  let parsed: ReturnType<typeof parsePortSpecs>;
  const exposed: Record<string, object> = {};
  try {
    parsed = parsePortSpecs(list(opts.publish));
    for (const e of list(opts.expose)) for (const k of parseExposed(e)) exposed[k] = {};
  } catch (e) {
    throw new CliError(`invalid argument for "-p, --publish" flag: ${(e as Error).message}`, 125);
  }
  Object.assign(exposed, parsed.exposed);
  return { exposed: Object.keys(exposed).length ? exposed : undefined, bindings: parsed.bindings };
}

function networkFlags(opts: Opts): JsonObject {
  const o: JsonObject = { PortBindings: portFlags(opts).bindings };
  if (opts.publishAll) o.PublishAllPorts = true;
  if (list(opts.dns).length) o.Dns = list(opts.dns);
  if (list(opts.dnsSearch).length) o.DnsSearch = list(opts.dnsSearch);
  if (list(opts.dnsOption).length) o.DnsOptions = list(opts.dnsOption);
  if (list(opts.addHost).length) o.ExtraHosts = list(opts.addHost).map((h) => h.replace('=', ':'));
  return o;
}

/** -v, --mount, --tmpfs, --volumes-from as the docker CLI sends them. */
function mountFlags(opts: Opts): { hostConfig: JsonObject; volumes?: Record<string, object> } {
  const binds: string[] = [];
  const volumes: Record<string, object> = {};
  for (const v of list(opts.volume)) {
    // `-v /path` alone is an anonymous volume; anything with a source is a bind or a named volume.
    if (!v.includes(':')) volumes[v] = {};
    else binds.push(v);
  }
  let mounts: JsonObject[];
  try {
    mounts = list(opts.mount).map((m) => parseMountFlag(m) as JsonObject);
  } catch (e) {
    throw new CliError(`invalid argument "${list(opts.mount).join(',')}" for "--mount" flag: ${(e as Error).message}`, 125);
  }
  const tmpfs: Record<string, string> = {};
  for (const t of list(opts.tmpfs)) {
    const i = t.indexOf(':');
    tmpfs[i < 0 ? t : t.slice(0, i)] = i < 0 ? '' : t.slice(i + 1);
  }
  const hc: JsonObject = {};
  if (binds.length) hc.Binds = binds;
  if (mounts.length) hc.Mounts = mounts;
  if (Object.keys(tmpfs).length) hc.Tmpfs = tmpfs;
  if (list(opts.volumesFrom).length) hc.VolumesFrom = list(opts.volumesFrom);
  return { hostConfig: hc, volumes: Object.keys(volumes).length ? volumes : undefined };
}

/** The POST /containers/create body the docker CLI would send for these flags. */
export function createBody(image: string, command: string[], opts: Opts): JsonObject {
  const logOpts: Record<string, string> = {};
  for (const o of list(opts.logOpt)) {
    const i = o.indexOf('=');
    if (i < 0) throw new CliError(`invalid key value pair format in log-opt: ${o}`, 125);
    logOpts[o.slice(0, i)] = o.slice(i + 1);
  }
  const body: JsonObject = {
    Hostname: (opts.hostname as string) ?? '',
    Domainname: (opts.domainname as string) ?? '',
    User: (opts.user as string) ?? '',
    AttachStdin: Boolean(opts.interactive) && !opts.detach,
    AttachStdout: !opts.detach,
    AttachStderr: !opts.detach,
    Tty: Boolean(opts.tty),
    OpenStdin: Boolean(opts.interactive),
    StdinOnce: Boolean(opts.interactive) && !opts.detach,
    Env: envList(opts),
    Cmd: command.length ? command : null,
    Image: image,
    WorkingDir: (opts.workdir as string) ?? '',
    Labels: labels(opts),
    HostConfig: {
      AutoRemove: Boolean(opts.rm),
      RestartPolicy: restartPolicy((opts.restart as string) ?? 'no'),
      LogConfig: { Type: (opts.logDriver as string) ?? '', Config: logOpts },
      NetworkMode: (opts.network as string) ?? 'default',
      ...networkFlags(opts),
      ...mountFlags(opts).hostConfig,
      Init: opts.init ? true : null,
      Privileged: Boolean(opts.privileged),
      ReadonlyRootfs: Boolean(opts.readOnly),
      CapAdd: opts.capAdd ?? null,
      CapDrop: opts.capDrop ?? null,
      SecurityOpt: opts.securityOpt ?? null,
      ...resourceFlags(opts),
      ...securityFlags(opts),
    },
  };
  const health = healthFlags(opts);
  if (health) body.Healthcheck = health;
  const anonymous = mountFlags(opts).volumes;
  if (anonymous) body.Volumes = anonymous;
  const ports = portFlags(opts);
  if (ports.exposed) body.ExposedPorts = ports.exposed;
  const endpoint: JsonObject = {};
  if (list(opts.networkAlias).length) endpoint.Aliases = list(opts.networkAlias);
  if (opts.ip) endpoint.IPAMConfig = { IPv4Address: opts.ip };
  body.NetworkingConfig = { EndpointsConfig: { [(opts.network as string) ?? 'default']: endpoint } };
  if (opts.entrypoint !== undefined) body.Entrypoint = opts.entrypoint === '' ? [''] : [opts.entrypoint as string];
  if (opts.stopSignal) body.StopSignal = opts.stopSignal;
  if (opts.stopTimeout !== undefined) body.StopTimeout = opts.stopTimeout;
  return body;
}

function familiar(image: string): string {
  if (image.includes('@') || /:[^/]+$/.test(image)) return image;
  return `${image}:latest`;
}

/** `run`'s pull: progress on stderr, as docker run shows it; a failure is a daemon error. */
async function pullQuietly(image: string): Promise<void> {
  try {
    await pullWithProgress(image, (t) => err(t), Boolean(process.stderr.isTTY));
  } catch (e) {
    if (e instanceof CliError) throw new EngineApiError(404, e.message.replace(/^Error response from daemon: /, ''));
    throw e;
  }
}

/** Create, pulling first when the image is missing (docker's flow). */
/**
 * `--cidfile`: claimed (created empty, refused if it exists) before the
 * container is created, the id written once it is, removed if it is not.
 */
async function withCidFile(path: string | undefined, cmdName: string, create: () => Promise<string>): Promise<string> {
  if (!path) return create();
  let fh;
  try {
    fh = await fsp.open(path, 'wx', 0o644);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'EEXIST'
      ? `container ID file found, make sure the other container isn't running or delete ${path}`
      : `failed to create the container ID file: ${(e as Error).message}`;
    throw new CliError(cmdName === 'create' ? why : `berth: ${why}\n\nRun 'berth ${cmdName} --help' for more information`, cmdName === 'create' ? 1 : 125);
  }
  try {
    const id = await create();
    await fh.writeFile(id);
    return id;
  } catch (e) {
    await fh.close();
    fh = undefined;
    await fsp.rm(path, { force: true });
    throw e;
  } finally {
    await fh?.close();
  }
}

async function createContainer(image: string, command: string[], opts: Opts, cmdName: string): Promise<string> {
  return withCidFile(opts.cidfile as string | undefined, cmdName, () => createContainerNow(image, command, opts, cmdName));
}

async function createContainerNow(image: string, command: string[], opts: Opts, cmdName: string): Promise<string> {
  const body = createBody(image, command, opts);
  const c = client();
  if (opts.pull === 'always') {
    try {
      await pullQuietly(image);
    } catch (e) {
      throw daemonError(e, cmdName);
    }
  }
  try {
    const r = await c.createContainer(body, opts.name as string | undefined);
    for (const w of r.Warnings ?? []) err(`WARNING: ${w}\n`);
    return r.Id;
  } catch (e) {
    if (!(e instanceof EngineApiError) || e.status !== 404 || !/No such image/.test(e.message) || opts.pull === 'never') throw daemonError(e, cmdName);
  }
  err(`Unable to find image '${familiar(image)}' locally\n`);
  try {
    await pullQuietly(image);
  } catch (e) {
    throw daemonError(e, cmdName);
  }
  try {
    return (await c.createContainer(body, opts.name as string | undefined)).Id;
  } catch (e) {
    throw daemonError(e, cmdName);
  }
}

/** run/create report daemon errors Docker's way: `berth: Error response…` and exit 125. */
function daemonError(e: unknown, cmdName: string): Error {
  if (e instanceof EngineApiError && cmdName === 'create') {
    // docker create reports like any other command: no program prefix, exit 1.
    return new CliError(`Error response from daemon: ${e.message}`, 1);
  }
  if (e instanceof EngineApiError) {
    let code = 125;
    if (/executable file not found|no such file or directory/.test(e.message)) code = 127;
    else if (/permission denied/.test(e.message)) code = 126;
    return new CliError(`berth: Error response from daemon: ${e.message}\n\nRun 'berth ${cmdName} --help' for more information`, code);
  }
  if (e instanceof CliError) return e;
  return new CliError(`berth: ${(e as Error).message}`, 125);
}

export async function create(args: string[], opts: Opts): Promise<number> {
  const [image, ...command] = args as [string, ...string[]];
  const id = await createContainer(image, command, opts, 'create');
  out(id + '\n');
  return 0;
}

export async function run(args: string[], opts: Opts): Promise<number> {
  const [image, ...command] = args as [string, ...string[]];
  const c = client();
  if (opts.detach && opts.rm === undefined) { /* --rm with -d is AutoRemove, handled by the daemon */ }
  const id = await createContainer(image, command, opts, 'run');
  if (opts.detach) {
    try {
      await c.startContainer(id);
    } catch (e) {
      throw daemonError(e, 'run');
    }
    out(id + '\n');
    return 0;
  }
  const attachTo = list(opts.attach).map((s) => s.toLowerCase());
  const wantOut = attachTo.length === 0 || attachTo.includes('stdout');
  const wantErr = attachTo.length === 0 || attachTo.includes('stderr');
  const wantIn = Boolean(opts.interactive) || attachTo.includes('stdin');
  let outcome;
  try {
    outcome = await attachSession(c, id, {
      stdin: wantIn, stdout: wantOut, stderr: wantErr, tty: Boolean(opts.tty),
      detachKeys: opts.detachKeys as string | undefined,
      start: () => c.startContainer(id),
      waitCondition: opts.rm ? 'removed' : 'next-exit',
      sigProxy: opts.sigProxy !== false,
    });
  } catch (e) {
    throw daemonError(e, 'run');
  }
  if (outcome.error) err(`berth: ${outcome.error}\n`);
  return outcome.exitCode ?? 0;
}

export async function start(args: string[], opts: Opts): Promise<number> {
  const c = client();
  if (opts.attach || opts.interactive) {
    if (args.length > 1) throw new CliError('you cannot start and attach multiple containers at once', 1);
    const id = args[0]!;
    try {
      const info = await c.inspectContainer(id);
      const cfg = info.Config as { Tty?: boolean; OpenStdin?: boolean };
      const outcome = await attachSession(c, id, {
        stdin: Boolean(opts.interactive) && Boolean(cfg.OpenStdin), stdout: true, stderr: true, tty: Boolean(cfg.Tty),
        detachKeys: opts.detachKeys as string | undefined,
        start: () => c.startContainer(id),
      });
      return outcome.exitCode ?? 0;
    } catch (e) {
      if (e instanceof EngineApiError) throw new CliError(`Error response from daemon: ${e.message}`, 1);
      throw e;
    }
  }
  return forEach(args, (id) => c.startContainer(id), 'start');
}

/** Apply to each container; print its name as docker does; report failures and exit 1. */
async function forEach(ids: string[], fn: (id: string) => Promise<unknown>, verb: string, printResult = false): Promise<number> {
  const errors: string[] = [];
  for (const id of ids) {
    try {
      const r = await fn(id);
      out(`${printResult ? String(r) : id}\n`);
    } catch (e) {
      if (e instanceof EngineApiError) errors.push(`Error response from daemon: ${e.message}`);
      else throw e;
    }
  }
  if (errors.length) {
    if (verb === 'start' && errors.length) errors.push(`Error: failed to start containers: ${ids.join(', ')}`);
    err(errors.join('\n') + '\n');
    return 1;
  }
  return 0;
}

export async function stop(args: string[], opts: Opts): Promise<number> {
  return forEach(args, (id) => client().stopContainer(id, { t: opts.time as number | undefined, signal: opts.signal as string | undefined }), 'stop');
}

export async function restart(args: string[], opts: Opts): Promise<number> {
  return forEach(args, (id) => client().restartContainer(id, { t: opts.time as number | undefined, signal: opts.signal as string | undefined }), 'restart');
}

export async function kill(args: string[], opts: Opts): Promise<number> {
  return forEach(args, (id) => client().killContainer(id, opts.signal as string | undefined), 'kill');
}

export async function rm(args: string[], opts: Opts): Promise<number> {
  return forEach(args, (id) => client().removeContainer(id, { force: Boolean(opts.force), v: Boolean(opts.volumes) }), 'rm');
}

export async function wait(args: string[]): Promise<number> {
  return forEach(args, async (id) => {
    const w = await client().waitContainer(id);
    return (await w.result).StatusCode;
  }, 'wait', true);
}

export async function rename(args: string[]): Promise<number> {
  await client().renameContainer(args[0]!, args[1]!);
  return 0;
}

const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS',
  State: 'STATE', Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS', Mounts: 'MOUNTS', Networks: 'NETWORKS',
};

/** The fields `docker ps --format` offers for a container. */
export function psView(c: ContainerSummary, noTrunc: boolean, now = Date.now()): Record<string, unknown> {
  const created = new Date(c.Created * 1000);
  return {
    ID: noTrunc ? c.Id : c.Id.slice(0, 12),
    Image: c.Image,
    Command: `"${noTrunc ? c.Command : ellipsis(c.Command, 20)}"`,
    CreatedAt: `${created.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`,
    RunningFor: `${humanDuration(now - c.Created * 1000)} ago`,
    Ports: formatPorts(c.Ports),
    State: c.State,
    Status: c.Status,
    Size: c.SizeRootFs ? `${humanSize(c.SizeRw ?? 0)} (virtual ${humanSize(c.SizeRootFs)})` : humanSize(c.SizeRw ?? 0),
    Names: c.Names.map((n) => n.replace(/^\//, '')).join(','),
    Labels: Object.entries(c.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
    // As the docker CLI: volume names (else sources), truncated unless --no-trunc.
    Mounts: (c.Mounts ?? []).map((m) => (m.Name ? m.Name : m.Source ?? '')).map((n) => (noTrunc ? n : ellipsis(n, 15))).join(','),
    LocalVolumes: String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(','),
    // docker CLI 28 shows the image platform when the API (1.48) reports it; Berth's API does not.
    Platform: null,
  };
}

export function psRows(list: ContainerSummary[], o: { noTrunc?: boolean; size?: boolean }, now = Date.now()): string[][] {
  const header = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'];
  if (o.size) header.push('SIZE');
  const rows = [header];
  for (const c of list) {
    const names = c.Names.map((n) => n.replace(/^\//, '')).filter((n) => !n.includes('/'));
    const cmd = o.noTrunc ? c.Command : ellipsis(c.Command, 20);
    const row = [
      o.noTrunc ? c.Id : c.Id.slice(0, 12),
      o.noTrunc || !/^sha256:/.test(c.Image) ? c.Image : c.Image.slice(7, 19),
      `"${cmd}"`,
      `${humanDuration(now - c.Created * 1000)} ago`,
      c.Status,
      formatPorts(c.Ports),
      names.join(','),
    ];
    if (o.size) row.push(`${humanSize(c.SizeRw ?? 0)} (virtual ${humanSize(c.SizeRootFs ?? 0)})`);
    rows.push(row);
  }
  return rows;
}

function formatPorts(ports: ContainerSummary['Ports']): string {
  return (ports ?? []).map((p) => (p.PublicPort ? `${p.IP ?? '0.0.0.0'}:${p.PublicPort}->${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`)).join(', ');
}

export async function ps(_args: string[], opts: Opts): Promise<number> {
  const limit = opts.latest ? 1 : (opts.last as number | undefined);
  const list = await client().listContainers({
    all: Boolean(opts.all), limit: limit !== undefined && limit > 0 ? limit : undefined, size: Boolean(opts.size),
    filters: parseFilterFlags(list_(opts.filter)),
  });
  if (opts.quiet) {
    out(list.map((c) => (opts.trunc === false ? c.Id : c.Id.slice(0, 12)) + '\n').join(''));
    return 0;
  }
  if (typeof opts.format === 'string' && opts.format !== 'table') {
    const noTrunc = opts.trunc === false;
    out(formatRows(opts.format, list.map((c) => psView(c, noTrunc)), PS_HEADERS));
    return 0;
  }
  out(tabwrite(psRows(list, { noTrunc: opts.trunc === false, size: Boolean(opts.size) })));
  return 0;
}

const list_ = list;


export async function logs(args: string[], opts: Opts): Promise<number> {
  const c = client();
  // As docker does: a TTY container's logs come unframed.
  const tty = Boolean(((await c.inspectContainer(args[0]!)).Config as { Tty?: boolean }).Tty);
  const res = await c.logs(args[0]!, {
    stdout: true, stderr: true, follow: Boolean(opts.follow) || undefined, timestamps: Boolean(opts.timestamps) || undefined,
    tail: opts.tail as string, since: opts.since as string | undefined, until: opts.until as string | undefined,
    details: Boolean(opts.details) || undefined,
  });
  await new Promise<void>((resolve, reject) => {
    if (tty) {
      res.pipe(process.stdout, { end: false });
      res.on('end', resolve);
    } else {
      const d = demuxTo(process.stdout, process.stderr);
      res.pipe(d);
      d.on('finish', resolve);
    }
    res.on('error', reject);
  });
  return 0;
}

export async function inspectContainers(args: string[], opts: Opts): Promise<number> {
  return inspectEach(args, (id) => orMissing(() => client().json('GET', `/containers/${encodeURIComponent(id)}/json`, { query: { size: opts.size ? '1' : undefined } })),
    (id) => `Error: No such container: ${id}`, opts.format as string | undefined);
}

export async function prune(_args: string[], opts: Opts, _cmd: Command): Promise<number> {
  if (!opts.force && !(await confirm('WARNING! This will remove all stopped containers.'))) return 0;
  const r = await client().pruneContainers(parseFilterFlags(list(opts.filter)));
  const deleted = r.ContainersDeleted ?? [];
  if (deleted.length) out(`Deleted Containers:\n${deleted.join('\n')}\n\n`);
  out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  return 0;
}

/** `berth attach`: this terminal to a running container's main process. */
export async function attachCmd(args: string[], opts: Opts): Promise<number> {
  const c = client();
  const id = args[0]!;
  try {
    const info = await c.inspectContainer(id);
    const state = info.State as { Running?: boolean };
    const cfg = info.Config as { Tty?: boolean; OpenStdin?: boolean };
    if (!state.Running) throw new CliError('You cannot attach to a stopped container, start it first', 1);
    const outcome = await attachSession(c, id, {
      stdin: opts.stdin !== false && Boolean(cfg.OpenStdin), stdout: true, stderr: true, tty: Boolean(cfg.Tty),
      detachKeys: opts.detachKeys as string | undefined,
      sigProxy: opts.sigProxy !== false,
    });
    return outcome.exitCode ?? 0;
  } catch (e) {
    if (e instanceof EngineApiError) throw new CliError(`Error response from daemon: ${e.message}`, 1);
    throw e;
  }
}

/** `berth update`: limits and restart policy of one or more containers. */
export async function update(args: string[], opts: Opts): Promise<number> {
  const body: JsonObject = { ...resourceFlags(opts) };
  if (opts.restart !== undefined) body.RestartPolicy = restartPolicy(opts.restart as string);
  if (Object.keys(body).length === 0) throw new CliError('you must provide one or more flags when using this command', 1);
  return forEach(args, (id) => client().json('POST', `/containers/${encodeURIComponent(id)}/update`, { body }), 'update');
}
