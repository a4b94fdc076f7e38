// ContainerService: the container state machine. It owns the records on disk,
// drives the runtime (conmon + runc) and turns what they report into Docker's
// states, events and wait results.

import { existsSync, mkdirSync, promises as fs, renameSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConflictError, EngineError, InvalidParameterError, NotModifiedError, SystemError, noSuchContainer,
} from '../lib/errors.js';
import { writeJsonAtomic, readJson } from '../lib/atomic.js';
import { processStartTime } from '../lib/proc-stat.js';
import { newId, shortId } from '../lib/ids.js';
import type { EventBus } from '../lib/event-bus.js';
import {
  type ContainerRecord, type ContainerConfig, type HostConfig, type ContainerStatus,
  initialState, nowRfc3339, ZERO_TIME,
} from './record.js';
import { validateName, generateName } from './names.js';
import { parseSignal } from './signals.js';
import { replaceOrAppendEnv } from './env.js';
import { OciRuntime, RuntimeCreateError, conmonResize } from './runtime.js';
import { mountOverlay, unmount, mountsUnder } from './rootfs.js';
import { generateSpec, type OciMount } from './spec.js';
import { resolveUser, resolveGroups, supplementaryGroups } from './user.js';
import { KeyedMutex } from '../lib/mutex.js';
import { createRequestBody, type CreateRequest } from './create-request.js';
import { DEFAULT_LOG_CONFIG, rotationLimits, type LogConfig } from './log-config.js';
import { LogRotator } from './log-rotator.js';
import { shouldRestart, nextDelay, startsWithDaemon } from './restart-policy.js';
import { ociResources, validateResources } from './resources.js';
import { parseSecurityOpts, deviceFor, type Ulimit, type DeviceMapping } from './security.js';
import { systemCpuUsage, cgroupStats, parseNetDev, readText, type StatsSample } from './stats.js';
import { applyResult, initialHealth, probeCommand, timing, type HealthConfig, type HealthLogEntry } from './health.js';
import { execFile } from 'node:child_process';
import { hostname as osHostname } from 'node:os';
import type { NetworkService } from '../network/service.js';
import type { EndpointRequest } from '../network/types.js';
import { validatePortBindings, type PortBindings } from '../network/port-spec.js';
import { validateExtraHosts } from '../network/etc-files.js';
import { writeNetworkFiles, NETWORK_FILES } from './network-files.js';
import type { VolumeService } from '../volume/service.js';
import { prepareMounts, ociMounts, releaseMounts, removeAnonymousVolumes } from './mounts.js';
import type { MountPoint } from '../volume/mount-spec.js';
import { changes, type Change } from './filesystem.js';
import type { ContainerRoot } from './archive.js';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

const depthOf = (p: string): number => p.split('/').filter(Boolean).length;

/** What the container layer needs from the image layer. */
export interface ImageProvider {
  /** throws NotFoundError `No such image: …` */
  resolveImage(ref: string): Promise<{ id: string; config: ImageRuntimeConfig }>;
  rootfsLayers(imageId: string): Promise<string[]>;
}

export interface ImageRuntimeConfig {
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Healthcheck?: HealthConfig | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
}

export interface ContainerPaths {
  /** dataRoot/containers */
  containers: string;
  /** execRoot/containers: bundles and rootfs mount points */
  run: string;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';
export interface WaitResult { StatusCode: number; Error: { Message: string } | null }

interface Waiter { condition: WaitCondition; resolve: (r: WaitResult) => void }

/** Does a sysctl name a network interface (`net.ipv4.conf.eth0.…`, not `all` or `default`)? */
export function namesInterface(sysctls: Record<string, string>): boolean {
  return Object.keys(sysctls).some((k) => /^net[./]ipv[46][./](conf|neigh)[./](?!(all|default)([./]|$))/.test(k));
}

export class ContainerService {
  private readonly records = new Map<string, ContainerRecord>();
  /** name (with slash) → id; reserved synchronously so concurrent creates cannot both win */
  private readonly names = new Map<string, string>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly lock = new KeyedMutex();
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly rotator: LogRotator;
  /** pending policy restarts, and the last back-off used per container */
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  private readonly restartDelays = new Map<string, number>();

  constructor(
    private readonly paths: ContainerPaths,
    private readonly runtime: OciRuntime,
    private readonly images: ImageProvider,
    private readonly network: NetworkService,
    private readonly volumes: VolumeService,
    private readonly events: EventBus,
    private readonly log: (level: string, msg: string, fields?: Record<string, unknown>) => void = () => undefined,
    /** the daemon's `log-driver` and `log-opts`, merged into each new container's */
    private readonly logDefaults: LogConfig = DEFAULT_LOG_CONFIG,
  ) {
    this.rotator = new LogRotator(log);
  }

  // ---- startup and shutdown -------------------------------------------------

  /** Load records and reconcile them with what conmon and runc report. */
  async load(): Promise<void> {
    await fs.mkdir(this.paths.containers, { recursive: true });
    await fs.mkdir(this.paths.run, { recursive: true });
    await fs.mkdir(this.runtime.paths.exitDir, { recursive: true });
    await fs.mkdir(this.runtime.paths.socketDir, { recursive: true });
    for (const id of await fs.readdir(this.paths.containers)) {
      // What a removal set aside and had not deleted yet: it still holds the record it removed.
      if (id.startsWith('.removed-')) {
        await fs.rm(join(this.paths.containers, id), { recursive: true, force: true });
        continue;
      }
      const file = join(this.paths.containers, id, 'container.json');
      let rec: ContainerRecord;
      try {
        rec = await readJson<ContainerRecord>(file);
      } catch {
        // A create interrupted before its record was written: nothing was acknowledged.
        await fs.rm(join(this.paths.containers, id), { recursive: true, force: true });
        await fs.rm(join(this.paths.run, id), { recursive: true, force: true });
        continue;
      }
      this.records.set(rec.Id, rec);
      this.names.set(rec.Name, rec.Id);
    }
    this.watchExits();
    for (const rec of this.records.values()) {
      if (rec.State.Status === 'removing') {
        await this.destroy(rec).catch(() => undefined);
        continue;
      }
      if (rec.State.Running) await this.reconcileRunning(rec);
      else if (autoRemoves(rec)) await this.destroy(rec).catch(() => undefined);
      else if (rec.Sandbox) await this.network.detach(rec).then(() => this.save(rec)).catch(() => undefined);
    }
    await this.network.sweep().catch((err: unknown) => this.log('warn', 'network sweep failed', { err: String(err) }));
    // Rootfs mounts of containers that are not running (crash between exit and unmount).
    for (const mp of await mountsUnder(this.paths.run)) {
      const id = mp.slice(this.paths.run.length + 1).split('/')[0]!;
      const rec = this.records.get(id);
      if (!rec || !rec.State.Running) await unmount(mp);
    }
    // Unmounted now: what removals set aside and had not deleted yet, and
    // what a removal stopped between its two renames left without a record.
    for (const name of await fs.readdir(this.paths.run)) {
      if (name.startsWith('.removed-') || (/^[0-9a-f]{64}$/.test(name) && !this.records.has(name))) {
        await fs.rm(join(this.paths.run, name), { recursive: true, force: true });
      }
    }
    // Exit codes of containers that are gone (a removal stopped after its renames).
    for (const name of await fs.readdir(this.runtime.paths.exitDir)) {
      if (!this.records.has(name)) rmSync(join(this.runtime.paths.exitDir, name), { force: true });
    }
    await this.runtime.sweepSocketLinks();
    // Runtime state of containers we have no record of.
    for (const id of await this.runtime.list()) {
      if (!this.records.has(id)) await this.runtime.delete(id).catch(() => undefined);
    }
    // Restart policies that bring containers back with the daemon.
    for (const rec of this.records.values()) {
      if (rec.State.Running) continue;
      const hasRun = rec.State.StartedAt !== ZERO_TIME;
      if (rec.State.Status === 'restarting' || startsWithDaemon(rec.HostConfig.RestartPolicy, hasRun, rec.ManuallyStopped ?? false)) {
        this.scheduleRestart(rec, 0, true);
      }
    }
  }

  private async reconcileRunning(rec: ContainerRecord): Promise<void> {
    if (await this.exitFileCode(rec.Id) !== undefined) {
      await this.handleExit(rec.Id);
      return;
    }
    const st = await this.runtime.state(rec.Id);
    if (st && (st.status === 'running' || st.status === 'paused')) {
      await this.network.restore(rec);
      this.watchLog(rec);
      return;
    }
    // The monitor is gone and left no exit code: the container died with it.
    this.log('warn', 'container lost its monitor', { id: rec.Id });
    await this.finishRun(rec, 255, 'container monitor exited unexpectedly');
  }

  private watchExits(): void {
    try {
      this.watcher = watch(this.runtime.paths.exitDir, (_ev, file) => {
        if (file && this.records.has(String(file))) void this.handleExit(String(file));
      });
      this.watcher.on('error', () => undefined);
    } catch (err) {
      this.log('warn', 'cannot watch exit directory; falling back to polling', { err: String(err) });
    }
    // inotify can drop events under pressure; a slow sweep makes that harmless.
    this.pollTimer = setInterval(() => {
      for (const rec of this.records.values()) if (rec.State.Running) void this.handleExit(rec.Id);
      this.rotator.checkAll();
    }, 2000);
    this.pollTimer.unref();
  }

  close(): void {
    for (const id of [...this.restartTimers.keys()]) this.cancelRestart(id);
    this.rotator.close();
    this.watcher?.close();
    if (this.pollTimer) clearInterval(this.pollTimer);
  }

  // ---- lookup ---------------------------------------------------------------

  /** Docker's lookup order: full id, exact name, then a unique id prefix. */
  get(ref: string): ContainerRecord {
    const byId = this.records.get(ref);
    if (byId) return byId;
    const nameKey = ref.startsWith('/') ? ref : '/' + ref;
    const byName = this.names.get(nameKey);
    if (byName) return this.records.get(byName)!;
    if (/^[0-9a-f]+$/.test(ref)) {
      const matches = [...this.records.keys()].filter((id) => id.startsWith(ref));
      if (matches.length === 1) return this.records.get(matches[0]!)!;
      if (matches.length > 1) throw new EngineError(404, `Multiple IDs found with provided prefix: ${ref}`);
    }
    throw noSuchContainer(ref);
  }

  tryGet(ref: string): ContainerRecord | undefined {
    try {
      return this.get(ref);
    } catch {
      return undefined;
    }
  }

  /** Newest first, as `ps` lists them. */
  list(): ContainerRecord[] {
    return [...this.records.values()].sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
  }

  logPath(id: string): string {
    return join(this.paths.containers, id, 'container.log');
  }

  /** The OCI bundle of a running container: config.json and the mounted rootfs. */
  bundleDir(id: string): string {
    return join(this.paths.run, id);
  }

  /** conmon's attach socket: stdin in, output out (SOCK_SEQPACKET). */
  attachSocketPath(id: string): string {
    // conmon's symlink socketDir/ID → bundle keeps the address short (a socket path has 108 bytes).
    return join(this.runtime.paths.socketDir, id, 'attach');
  }

  /** Tell conmon the terminal's new size; it passes it on to the pty. */
  async resize(ref: string, height: number, width: number): Promise<void> {
    const rec = this.get(ref);
    if (!rec.State.Running) throw new ConflictError(`Container ${rec.Id} is not running`);
    if (!rec.Config.Tty) return;
    await conmonResize(join(this.paths.run, rec.Id, 'ctl'), height, width);
  }

  /** Readers open a log's file chain through this, so a rotation cannot shift files under them. */
  withLogLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.rotator.withLock(id, fn);
  }

  private watchLog(rec: ContainerRecord): void {
    let limits;
    try {
      limits = rotationLimits(rec.HostConfig.LogConfig);
    } catch (err) {
      this.log('warn', 'log options invalid; not rotating', { id: rec.Id, err: String(err) });
      return;
    }
    if (limits) this.rotator.watch(rec.Id, this.logPath(rec.Id), join(this.paths.run, rec.Id, 'ctl'), limits);
  }

  isRunning(id: string): boolean {
    return this.records.get(id)?.State.Running ?? false;
  }

  /** A container using the image, preferring a running one. */
  imageInUse(imageId: string): { id: string; running: boolean } | undefined {
    let found: { id: string; running: boolean } | undefined;
    for (const r of this.records.values()) {
      if (r.Image !== imageId) continue;
      if (r.State.Running) return { id: r.Id, running: true };
      found ??= { id: r.Id, running: false };
    }
    return found;
  }

  // ---- create ---------------------------------------------------------------

  async create(body: CreateRequest, requestedName?: string, opts: { scratch?: boolean } = {}): Promise<{ Id: string; Warnings: string[] }> {
    const name = requestedName ? validateName(requestedName) : this.uniqueGeneratedName();
    const imageRef = body.Image;
    if (!imageRef) throw new InvalidParameterError('No image was specified');
    // Reserve the name before any await: two concurrent creates of one name
    // must not both succeed (Docker has races here).
    const id = newId();
    this.reserveName(name, id);
    let mounts: MountPoint[] = [];
    try {
      const image = await this.images.resolveImage(imageRef);
      const { config, hostConfig } = createRequestBody(body, image.config, this.logDefaults);
      const entry = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
      if (entry.length === 0) throw new InvalidParameterError('No command specified');
      if (hostConfig.NetworkMode === 'default') hostConfig.NetworkMode = 'bridge';
      validatePortBindings(hostConfig.PortBindings as PortBindings | null);
      validateExtraHosts(hostConfig.ExtraHosts as string[] | null);
      const endpoints = (body.NetworkingConfig as { EndpointsConfig?: Record<string, EndpointRequest> } | undefined)?.EndpointsConfig ?? {};
      const networkSettings = this.network.prepare(hostConfig.NetworkMode, endpoints, (hostConfig.PortBindings ?? {}) as PortBindings);
      if (!config.Hostname) config.Hostname = hostConfig.NetworkMode === 'host' ? osHostname() : id.slice(0, 12);
      mounts = await prepareMounts(hostConfig, config.Volumes, (r) => this.tryGet(r), this.volumes);
      const rec: ContainerRecord = {
        Id: id,
        Name: name,
        Created: nowRfc3339(),
        Path: entry[0]!,
        Args: entry.slice(1),
        State: initialState(),
        Image: image.id,
        RestartCount: 0,
        Config: config,
        HostConfig: hostConfig,
        NetworkSettings: networkSettings,
        Mounts: mounts,
        ...(opts.scratch ? { Scratch: true } : {}),
      };
      const dir = join(this.paths.containers, id);
      await fs.mkdir(dir, { recursive: true });
      await this.save(rec);
      this.records.set(id, rec);
      this.events.publish('container', 'create', id, this.attrs(rec));
      return { Id: id, Warnings: [] };
    } catch (err) {
      this.names.delete(name);
      await fs.rm(join(this.paths.containers, id), { recursive: true, force: true });
      // Anonymous volumes made for this create belong to nobody now.
      await removeAnonymousVolumes({ Mounts: mounts } as ContainerRecord, this.volumes);
      throw err;
    }
  }

  private reserveName(name: string, id: string): void {
    const holder = this.names.get(name);
    if (holder) {
      throw new ConflictError(
        `Conflict. The container name "${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    this.names.set(name, id);
  }

  private uniqueGeneratedName(): string {
    for (let i = 0; i < 20; i++) {
      const n = '/' + generateName();
      if (!this.names.has(n)) return n;
    }
    return '/' + generateName() + '_' + Math.floor(Math.random() * 1000);
  }

  // ---- start ----------------------------------------------------------------

  async start(ref: string): Promise<void> {
    const rec = this.get(ref);
    await this.lock.run(rec.Id, () => this.startLocked(rec));
  }

  private async startLocked(rec: ContainerRecord): Promise<void> {
    if (rec.State.Status === 'removing') throw new ConflictError(`container is marked for removal and cannot be started`);
    if (rec.State.Running) throw new NotModifiedError();
    const id = rec.Id;
    const runDir = join(this.paths.run, id);
    const rootfs = join(runDir, 'rootfs');
    const dataDir = join(this.paths.containers, id);
    let plumbing: Promise<void> | undefined;
    try {
      // Tiny and local: done at once rather than each through the thread pool.
      mkdirSync(runDir, { recursive: true });
      rmSync(join(this.runtime.paths.exitDir, id), { force: true });
      rmSync(join(runDir, 'oom'), { force: true });
      // Leftover runtime state from a crash would make `runc create` fail.
      if (await this.runtime.exists(id)) await this.runtime.delete(id).catch(() => undefined);
      const hcx = rec.HostConfig as Record<string, unknown>;
      // The rootfs and the network sandbox do not depend on each other (and
      // each waits on a child process): set them up at once; the user and
      // groups are read from the image's files while the network is still
      // being set up. All settle before a failure is handled, so the cleanup
      // below sees all there is.
      const mounting = this.images.rootfsLayers(rec.Image).then((lowers) => mountOverlay(
        lowers, join(dataDir, 'upper'), join(dataDir, 'work'), rootfs, { volatile: rec.HostConfig.AutoRemove || rec.Scratch === true },
      ));
      const identity = mounting.then(() => Promise.all([
        resolveUser(rootfs, rec.Config.User || undefined).catch((err: Error) => {
          throw new SystemError(`unable to find user ${rec.Config.User}: ${err.message.replace(/^unable to find user [^:]+: /, '')}`);
        }),
        resolveGroups(rootfs, (hcx.GroupAdd as string[] | null) ?? []).catch((err: Error) => {
          throw new SystemError(err.message);
        }),
      ]));
      const [mounted, prepared, identified] = await Promise.allSettled([mounting, this.network.prepareSandbox(rec), identity]);
      if (mounted.status === 'rejected') throw mounted.reason;
      if (prepared.status === 'rejected') throw prepared.reason;
      if (identified.status === 'rejected') throw identified.reason;
      const sandbox = prepared.value.spec;
      // The veths are plumbed while the runtime creates the container (it
      // only joins the namespace by path) and are ready before it starts;
      // unless a sysctl names an interface, which runc writes at create.
      plumbing = prepared.value.plumb();
      plumbing.catch(() => undefined);
      if (namesInterface({ ...sandbox.sysctls, ...((hcx.Sysctls as Record<string, string> | null) ?? {}) })) await plumbing;
      const [user, extraGroups] = identified.value;
      const userMounts = await ociMounts(rec, rootfs, this.volumes, rec.State.StartedAt === ZERO_TIME);
      await writeNetworkFiles(dataDir, rec, this.network);
      const security = parseSecurityOpts(rec.HostConfig.SecurityOpt);
      user.additionalGids = supplementaryGroups(user, extraGroups);
      // Docker's defaults under the container's variables; a name without a
      // value (`-e NAME` with NAME unset on the client) unsets it.
      const env = replaceOrAppendEnv([`HOSTNAME=${rec.Config.Hostname}`, ...(rec.Config.Tty ? ['TERM=xterm'] : [])], rec.Config.Env);
      if (!env.some((e) => e.startsWith('HOME=')) && 'home' in user && typeof user.home === 'string') {
        env.push(`HOME=${user.home}`);
      } else if (!env.some((e) => e.startsWith('HOME='))) {
        env.push(user.uid === 0 ? 'HOME=/root' : 'HOME=/');
      }
      const spec = generateSpec({
        rootfs,
        // --init: Docker's docker-init is tini; a static one runs in any image.
        args: rec.HostConfig.Init ? [INIT_PATH_IN_CONTAINER, '--', rec.Path, ...rec.Args] : [rec.Path, ...rec.Args],
        env,
        cwd: rec.Config.WorkingDir || '/',
        user,
        hostname: rec.Config.Hostname,
        domainname: rec.Config.Domainname || undefined,
        tty: rec.Config.Tty,
        readonlyRootfs: rec.HostConfig.ReadonlyRootfs,
        capAdd: rec.HostConfig.CapAdd ?? undefined,
        capDrop: rec.HostConfig.CapDrop ?? undefined,
        privileged: rec.HostConfig.Privileged,
        cgroupsPath: `/berth/${id}`,
        shmSize: rec.HostConfig.ShmSize || undefined,
        resources: ociResources(validateResources(rec.HostConfig)),
        noNewPrivileges: security.noNewPrivileges,
        seccomp: security.seccomp,
        sysctl: { ...sandbox.sysctls, ...((hcx.Sysctls as Record<string, string> | null) ?? {}) },
        networkMode: sandbox.hostNetwork ? 'host' : 'private',
        netnsPath: sandbox.netnsPath,
        ulimits: ((hcx.Ulimits as Ulimit[] | null) ?? []).map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard })),
        devices: ((hcx.Devices as DeviceMapping[] | null) ?? []).map(deviceFor),
        extraMounts: NETWORK_FILES.filter((f) => !userMounts.some((m) => m.destination === `/etc/${f}`)).map((f): OciMount => ({
          destination: `/etc/${f}`,
          type: 'bind',
          source: join(dataDir, f),
          options: ['rbind', 'rprivate', ...(rec.HostConfig.ReadonlyRootfs ? ['ro'] : [])],
        })).concat(rec.HostConfig.Init ? [{
          destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: await initBinary(), options: ['rbind', 'ro', 'rprivate'],
        }] : []).concat(userMounts)
          // Parents first, so `-v vol:/etc` does not hide /etc/hosts; stable for equal depth.
          .map((m, i) => ({ m, i })).sort((a, b) => depthOf(a.m.destination) - depthOf(b.m.destination) || a.i - b.i).map((x) => x.m),
      });
      // The bundle lives as long as this start: no need for a durable write
      // (nor a trip through the thread pool for a few kilobytes).
      writeFileSync(join(runDir, 'config.json'), JSON.stringify(spec));
      const pid = await this.runtime.createWithMonitor({
        id,
        name: rec.Name.slice(1),
        bundle: runDir,
        logPath: this.logPath(id),
        pidFile: join(runDir, 'pid'),
        conmonPidFile: join(runDir, 'conmon.pid'),
        terminal: rec.Config.Tty,
        stdin: rec.Config.OpenStdin,
        leaveStdinOpen: !rec.Config.StdinOnce,
      });
      await plumbing;
      await this.runtime.start(id, pid);
      rec.State = {
        ...rec.State, Status: 'running', Running: true, Paused: false, Restarting: false,
        OOMKilled: false, Dead: false, Pid: pid, ExitCode: 0, Error: '', StartedAt: nowRfc3339(),
        FinishedAt: rec.State.FinishedAt,
      };
      rec.ManuallyStopped = false;
      if (probeCommand(rec.Config.Healthcheck)) rec.State.Health = initialHealth();
      else delete rec.State.Health;
      rec.MonitorPid = Number(readText(join(runDir, 'conmon.pid')) ?? '0') || undefined;
      rec.InitStartTime = processStartTime(pid);
      await this.save(rec);
      this.watchLog(rec);
      this.events.publish('container', 'start', id, this.attrs(rec));
      // The process may have exited before we marked it running.
      void this.handleExit(id);
    } catch (err) {
      await this.runtime.delete(id).catch(() => undefined);
      await plumbing?.catch(() => undefined);
      await this.network.detach(rec).catch(() => undefined);
      await releaseMounts(rec, this.volumes);
      await unmount(rootfs);
      const message = err instanceof RuntimeCreateError ? startErrorMessage(err.message) : (err as Error).message;
      rec.State.Error = message;
      rec.State.ExitCode = exitCodeForStartError(message);
      await this.save(rec).catch(() => undefined);
      if (rec.HostConfig.AutoRemove) {
        await this.destroy(rec).catch(() => undefined);
      }
      if (err instanceof EngineError && !(err instanceof RuntimeCreateError)) throw err;
      throw new SystemError(message);
    }
  }

  // ---- exit -----------------------------------------------------------------

  private async exitFileCode(id: string): Promise<number | undefined> {
    // A few bytes, read at once: the exit starts the teardown of `run --rm`.
    const n = Number.parseInt(readText(join(this.runtime.paths.exitDir, id)) ?? '', 10);
    return Number.isNaN(n) ? undefined : n;
  }

  private handlingExit = new Set<string>();
  /** Containers being stopped by `restart`: an `--rm` one is not removed by that stop (as Docker). */
  private readonly restartStops = new Set<string>();
  /** Containers `rm -f` is killing: their exit is not written down, their removal follows at once. */
  private readonly forceRemovals = new Set<string>();

  /** Called when an exit file may have appeared. Idempotent. */
  private async handleExit(id: string): Promise<void> {
    const rec = this.records.get(id);
    if (!rec || !rec.State.Running || this.handlingExit.has(id)) return;
    // Claim before the first await: the watcher, the sweep and start() may all call this at once.
    this.handlingExit.add(id);
    try {
      const code = await this.exitFileCode(id);
      if (code === undefined || !rec.State.Running) return;
      await this.finishRun(rec, code, '');
    } finally {
      this.handlingExit.delete(id);
    }
  }

  private async finishRun(rec: ContainerRecord, code: number, error: string): Promise<void> {
    const id = rec.Id;
    const autoRemove = rec.HostConfig.AutoRemove && !this.restartStops.has(id);
    this.rotator.unwatch(id);
    // Independent, and all on the path of `run --rm`: do them at once. The
    // unmount first: its child process takes longest, and each spawn holds
    // the event loop for a few milliseconds before the next can start.
    await Promise.all([
      unmount(join(this.paths.run, id, 'rootfs')),
      this.network.detach(rec).catch((err: unknown) => this.log('warn', 'network teardown failed', { id, err: String(err) })),
      this.runtime.delete(id).catch(() => undefined),
    ]);
    // A container about to go (auto-removed, or killed by `rm -f`) keeps its
    // exit file until its record is gone (see destroy): a daemon that dies
    // in between finds the code there, not a container that lost its monitor.
    const goes = autoRemove || this.forceRemovals.has(id);
    // One file each, at once: through the thread pool, busy with other
    // containers' files, each waited a millisecond or more.
    if (!goes) rmSync(join(this.runtime.paths.exitDir, id), { force: true });
    rec.State.Running = false;
    await releaseMounts(rec, this.volumes);
    const oomKilled = existsSync(join(this.paths.run, id, 'oom'));
    if (oomKilled) this.events.publish('container', 'oom', id, this.attrs(rec));
    // Decided before the state is written, so nobody sees "exited" in between.
    const willRestart = !rec.HostConfig.AutoRemove
      && shouldRestart(rec.HostConfig.RestartPolicy, code, rec.RestartCount, rec.ManuallyStopped ?? false);
    rec.State = {
      ...rec.State, Status: willRestart ? 'restarting' : 'exited', Running: false, Paused: false, Restarting: willRestart,
      Pid: 0, ExitCode: code, Error: error, FinishedAt: nowRfc3339(), OOMKilled: oomKilled,
    };
    rec.MonitorPid = undefined;
    rec.InitStartTime = undefined;
    // A container about to go is not written down as exited: two fsyncs on
    // the path of every `run --rm` and `rm -f`. Should berthd die before the
    // removal, the record on disk still says running, and the restarted
    // daemon finds the exit file (see load): it removes an auto-remove one,
    // and shows the other as exited, as if the `rm -f` had not been asked.
    if (!goes) await this.save(rec);
    this.events.publish('container', 'die', id, { ...this.attrs(rec), exitCode: String(code) });
    this.notify(id, (c) => c !== 'removed', { StatusCode: code, Error: error ? { Message: error } : null });
    if (willRestart) {
      const ran = Date.parse(rec.State.FinishedAt) - Date.parse(rec.State.StartedAt);
      const delay = nextDelay(this.restartDelays.get(id), Number.isNaN(ran) ? 0 : ran);
      this.restartDelays.set(id, delay);
      this.scheduleRestart(rec, delay);
      return;
    }
    if (autoRemove) {
      await this.lock.run(id, () => this.destroy(rec)).catch((err: unknown) => {
        this.log('error', 'auto-remove failed', { id, err: String(err) });
      });
    }
  }

  /** `boot`: the daemon's start brings it back, even after a manual stop (policy `always`). */
  private scheduleRestart(rec: ContainerRecord, delayMs: number, boot = false): void {
    const id = rec.Id;
    this.cancelRestart(id);
    const timer = setTimeout(() => {
      this.restartTimers.delete(id);
      void this.lock.run(id, async () => {
        const cur = this.records.get(id);
        // stop and rm cancel the timer; a manual start or stop may have won the race.
        if (!cur || cur.State.Running || (cur.ManuallyStopped && !boot)) return;
        cur.RestartCount++;
        try {
          await this.startLocked(cur);
        } catch (err) {
          // A start that fails counts as a failed run: back off and try again if the policy says so.
          const code = cur.State.ExitCode || 1;
          this.log('warn', 'restart failed', { id, err: String(err) });
          if (this.records.has(id) && shouldRestart(cur.HostConfig.RestartPolicy, code, cur.RestartCount, cur.ManuallyStopped ?? false)) {
            const delay = nextDelay(this.restartDelays.get(id), 0);
            this.restartDelays.set(id, delay);
            cur.State = { ...cur.State, Status: 'restarting', Restarting: true, FinishedAt: nowRfc3339() };
            await this.save(cur).catch(() => undefined);
            this.scheduleRestart(cur, delay, boot);
          } else if (this.records.has(id)) {
            cur.State = { ...cur.State, Status: 'exited', Restarting: false };
            await this.save(cur).catch(() => undefined);
          }
        }
      });
    }, delayMs);
    timer.unref();
    this.restartTimers.set(id, timer);
  }

  /** Drop a pending policy restart; true if there was one (the container was "restarting"). */
  private cancelRestart(id: string): boolean {
    const t = this.restartTimers.get(id);
    if (!t) return false;
    clearTimeout(t);
    this.restartTimers.delete(id);
    return true;
  }

  /** stop/kill/rm of a container waiting to be restarted: it stays down. */
  private async haltRestarting(rec: ContainerRecord): Promise<boolean> {
    if (rec.State.Status !== 'restarting') return false;
    this.cancelRestart(rec.Id);
    rec.ManuallyStopped = true;
    rec.State = { ...rec.State, Status: 'exited', Restarting: false };
    await this.save(rec);
    return true;
  }

  private notify(id: string, match: (c: WaitCondition) => boolean, result: WaitResult): void {
    const list = this.waiters.get(id);
    if (!list) return;
    const keep: Waiter[] = [];
    for (const w of list) {
      if (match(w.condition)) w.resolve(result);
      else keep.push(w);
    }
    if (keep.length) this.waiters.set(id, keep);
    else this.waiters.delete(id);
  }

  // ---- wait -----------------------------------------------------------------

  /**
   * Register a waiter synchronously (so `wait` sent before `start` sees the
   * exit) and return its promise.
   */
  wait(ref: string, condition: WaitCondition = 'not-running'): Promise<WaitResult> {
    const rec = this.get(ref);
    if (condition === 'not-running' && !rec.State.Running) {
      return Promise.resolve({ StatusCode: rec.State.ExitCode, Error: null });
    }
    return new Promise((resolve) => {
      const list = this.waiters.get(rec.Id) ?? [];
      list.push({ condition, resolve });
      this.waiters.set(rec.Id, list);
    });
  }

  // ---- stop / kill / restart -------------------------------------------------

  async stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const rec = this.get(ref);
    await this.lock.run(rec.Id, () => this.stopLocked(rec, opts));
  }

  private async stopLocked(rec: ContainerRecord, opts: { timeout?: number; signal?: string }): Promise<void> {
    if (await this.haltRestarting(rec)) {
      this.events.publish('container', 'stop', rec.Id, this.attrs(rec));
      return;
    }
    // Set even when it is already down: an exit being handled right now must not restart it.
    rec.ManuallyStopped = true;
    if (!rec.State.Running) throw new NotModifiedError();
    const signal = parseSignal(opts.signal ?? rec.Config.StopSignal ?? 'SIGTERM');
    const timeout = opts.timeout ?? rec.Config.StopTimeout ?? 10;
    const exited = this.wait(rec.Id, 'next-exit');
    if (timeout !== 0) {
      await this.signal(rec, signal);
    }
    const ok = timeout < 0 ? await exited.then(() => true) : await withTimeout(exited, timeout * 1000);
    if (!ok) {
      await this.signal(rec, 9);
      await withTimeout(exited, 30_000);
    }
    this.events.publish('container', 'stop', rec.Id, this.attrs(rec));
  }

  private async signal(rec: ContainerRecord, signal: number): Promise<void> {
    this.events.publish('container', 'kill', rec.Id, { ...this.attrs(rec), signal: String(signal) });
    // Straight to the container's init while it is still the process this run
    // started (same pid and start time, as runc checks): spawning `runc kill`
    // costs ~10 ms of every stop, kill and rm -f. A paused container goes
    // through runc, which thaws it.
    const pid = rec.State.Pid;
    if (!rec.State.Paused && pid > 0 && rec.InitStartTime !== undefined && processStartTime(pid) === rec.InitStartTime) {
      try {
        process.kill(pid, signal);
        return;
      } catch {
        // Gone meanwhile: the runtime's answer below decides.
      }
    }
    try {
      await this.runtime.kill(rec.Id, String(signal));
      // A frozen process only acts on the signal once thawed (Docker does the same).
      if (rec.State.Paused) await this.thaw(rec);
    } catch (err) {
      // It may have exited between our check and the signal, and its exit may
      // be in the middle of being handled: let that finish.
      await this.handleExit(rec.Id);
      for (let i = 0; i < 100 && rec.State.Running && this.handlingExit.has(rec.Id); i++) await sleep(20);
      if (rec.State.Running) throw err;
    }
  }

  // ---- update -------------------------------------------------------------------

  /** `docker update`: new limits (applied at once when running) and restart policy. */
  async update(ref: string, body: Record<string, unknown>): Promise<string[]> {
    const rec = this.get(ref);
    return this.lock.run(rec.Id, async () => {
      const RESOURCE_KEYS = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuQuota', 'CpuPeriod', 'CpusetCpus', 'PidsLimit'];
      const merged: Record<string, unknown> = { ...rec.HostConfig };
      for (const k of RESOURCE_KEYS) if (body[k] !== undefined && body[k] !== null) merged[k] = body[k];
      // Docker: --cpus replaces a period/quota pair and the other way round.
      if (body.NanoCpus) { merged.CpuPeriod = 0; merged.CpuQuota = 0; }
      if (body.CpuPeriod || body.CpuQuota) merged.NanoCpus = 0;
      const resources = validateResources(merged);
      const rp = body.RestartPolicy as { Name?: string; MaximumRetryCount?: number } | undefined;
      if (rp && rp.Name !== undefined) {
        if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(rp.Name)) {
          throw new InvalidParameterError(`invalid restart policy: unknown policy '${rp.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
        }
        if (rec.HostConfig.AutoRemove && rp.Name !== '' && rp.Name !== 'no') {
          throw new InvalidParameterError('Restart policy cannot be updated because AutoRemove is enabled for the container');
        }
      }
      if (rec.State.Running) await this.runtime.update(rec.Id, ociResources(resources));
      Object.assign(rec.HostConfig, resources);
      if (rp && rp.Name !== undefined) rec.HostConfig.RestartPolicy = { Name: rp.Name || 'no', MaximumRetryCount: rp.MaximumRetryCount ?? 0 };
      await this.save(rec);
      this.events.publish('container', 'update', rec.Id, this.attrs(rec));
      return [];
    });
  }

  // ---- pause / top / stats ----------------------------------------------------

  async pause(ref: string): Promise<void> {
    const rec = this.get(ref);
    await this.lock.run(rec.Id, async () => {
      if (!rec.State.Running) throw new ConflictError(`Container ${rec.Id} is not running`);
      if (rec.State.Paused) throw new ConflictError(`Container ${rec.Id} is already paused`);
      await this.runtime.pause(rec.Id);
      rec.State = { ...rec.State, Paused: true, Status: 'paused' };
      await this.save(rec);
      this.events.publish('container', 'pause', rec.Id, this.attrs(rec));
    });
  }

  async unpause(ref: string): Promise<void> {
    const rec = this.get(ref);
    await this.lock.run(rec.Id, async () => {
      if (!rec.State.Paused) throw new ConflictError(`Container ${rec.Id} is not paused`);
      await this.thaw(rec);
      this.events.publish('container', 'unpause', rec.Id, this.attrs(rec));
    });
  }

  private async thaw(rec: ContainerRecord): Promise<void> {
    await this.runtime.resume(rec.Id);
    rec.State = { ...rec.State, Paused: false, Status: rec.State.Running ? 'running' : rec.State.Status };
    await this.save(rec);
  }

  /** `docker top`: the host's `ps` with the caller's arguments, cut down to the container's processes. */
  async top(ref: string, psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
    const rec = this.get(ref);
    if (!rec.State.Running) throw new ConflictError(`Container ${rec.Id} is not running`);
    const pids = new Set(await this.runtime.pids(rec.Id));
    const args = psArgs.split(/\s+/).filter(Boolean);
    let stdout: string;
    try {
      ({ stdout } = await execFileP('ps', args));
    } catch (err) {
      throw new SystemError(`Error running ps: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
    }
    return parsePsOutput(stdout, pids);
  }

  /** Record a health probe's result; emits `health_status: …` when the status changes. */
  async recordHealth(id: string, entry: HealthLogEntry, inStartPeriod: boolean): Promise<void> {
    const rec = this.records.get(id);
    if (!rec || !rec.State.Running || !rec.Config.Healthcheck) return;
    const prev = rec.State.Health ?? initialHealth();
    const next = applyResult(prev, entry, timing(rec.Config.Healthcheck), inStartPeriod);
    rec.State.Health = next;
    await this.save(rec);
    if (next.Status !== prev.Status) this.events.publish('container', `health_status: ${next.Status}`, id, this.attrs(rec));
  }

  /** One stats sample of a running container. */
  async statsSample(id: string): Promise<StatsSample> {
    // The cgroup files directly (cheap); runc's own report if they cannot be read.
    const direct = await cgroupStats(`/berth/${id}`).catch(() => undefined);
    const rec = this.records.get(id);
    // The host's counters are not the container's: Docker leaves `networks` out for host mode.
    const netText = rec?.State.Pid && rec.HostConfig.NetworkMode !== 'host' ? readText(`/proc/${rec.State.Pid}/net/dev`) : undefined;
    const networks = netText === undefined ? undefined : parseNetDev(netText);
    const [runtime, systemCpu] = await Promise.all([direct ?? this.runtime.stats(id), systemCpuUsage()]);
    return { read: new Date().toISOString(), runtime, systemCpu, networks };
  }

  async kill(ref: string, sig = 'SIGKILL'): Promise<void> {
    const rec = this.get(ref);
    const signal = parseSignal(sig);
    if (!rec.State.Running) {
      throw new ConflictError(`Cannot kill container: ${ref}: Container ${rec.Id} is not running`);
    }
    if (signal === 9) rec.ManuallyStopped = true;
    await this.signal(rec, signal);
  }

  async restart(ref: string, timeout?: number): Promise<void> {
    const rec = this.get(ref);
    await this.lock.run(rec.Id, async () => {
      if (rec.State.Running) {
        // Docker turns AutoRemove off for the stop of a restart: the container comes back.
        this.restartStops.add(rec.Id);
        try {
          await this.stopLocked(rec, { timeout });
        } finally {
          this.restartStops.delete(rec.Id);
        }
      }
      await this.startLocked(rec);
    });
    this.events.publish('container', 'restart', rec.Id, this.attrs(rec));
  }

  // ---- remove / rename / prune -------------------------------------------------

  async remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const rec = this.get(ref);
    await this.lock.run(rec.Id, async () => {
      if (rec.State.Status === 'restarting' && !opts.force) {
        throw new ConflictError(
          `cannot remove container "${rec.Name}": container is restarting: stop the container before removing or force remove`,
        );
      }
      await this.haltRestarting(rec);
      if (rec.State.Running) {
        if (!opts.force) {
          throw new ConflictError(
            `cannot remove container "${rec.Name}": container is running: stop the container before removing or force remove`,
          );
        }
        rec.ManuallyStopped = true;
        const exited = this.wait(rec.Id, 'next-exit');
        this.forceRemovals.add(rec.Id);
        try {
          await this.signal(rec, 9);
          if (!(await withTimeout(exited, 30_000))) throw new SystemError(`could not kill running container ${rec.Id}, cannot remove`);
        } finally {
          this.forceRemovals.delete(rec.Id);
        }
      }
      if (!this.records.has(rec.Id)) return; // auto-removed meanwhile
      await this.destroy(rec, opts.volumes || rec.HostConfig.AutoRemove);
    });
  }

  /**
   * Remove a stopped container's files and record; emits destroy. Nothing is
   * written first: the removal is done when the record's directory is
   * renamed away. A daemon that dies before that finds the container
   * stopped, as it was, and tears down what is left of its run (see load);
   * one that dies after deletes what was set aside.
   */
  private async destroy(rec: ContainerRecord, removeVolumes = rec.HostConfig.AutoRemove): Promise<void> {
    if (!this.records.has(rec.Id)) return;
    const was = rec.State.Status;
    // In memory only: a start, a commit or a second rm refuse meanwhile.
    rec.State.Status = 'removing';
    try {
      await Promise.all([
        // Usually deleted when the process ended; spawning runc again costs ~15 ms of `run --rm`.
        this.runtime.exists(rec.Id).then((exists) => (exists ? this.runtime.delete(rec.Id).catch(() => undefined) : undefined)),
        rec.Sandbox ? this.network.detach(rec).catch(() => undefined) : undefined,
        unmount(join(this.paths.run, rec.Id, 'rootfs')),
      ]);
      await this.runtime.removeSocketLink(rec.Id);
    } catch (err) {
      rec.State.Status = was;
      throw err;
    }
    // Out of the way at once (a rename each), deleted after the removal is
    // reported: a recursive rm through the thread pool took ~5 ms of every
    // `run --rm` even for a container that wrote nothing, and a container
    // that wrote a million files must not make `rm` wait for them. The
    // record's directory goes first. A daemon stopped before they are gone
    // deletes them at start (see load).
    const asideName = `.removed-${rec.Id}-${randomBytes(4).toString('hex')}`;
    let record: string | undefined;
    try {
      record = setAside(this.paths.containers, rec.Id, asideName);
    } catch (err) {
      rec.State.Status = was;
      throw err;
    }
    // Should this one fail, the directory is a leftover without a record, which load deletes.
    const leftovers = [record, tryToSetAside(this.paths.run, rec.Id, asideName)];
    rmSync(join(this.runtime.paths.exitDir, rec.Id), { force: true });
    this.records.delete(rec.Id);
    if (this.names.get(rec.Name) === rec.Id) this.names.delete(rec.Name);
    this.events.publish('container', 'destroy', rec.Id, this.attrs(rec));
    if (removeVolumes) await removeAnonymousVolumes(rec, this.volumes);
    this.notify(rec.Id, () => true, { StatusCode: rec.State.ExitCode, Error: null });
    for (const dir of leftovers) if (dir) void fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }

  /**
   * Run fn with the container's merged root filesystem. A stopped
   * container's is mounted for the duration, under the container's lock so a
   * start cannot race the unmount.
   */
  async withRootfs<T>(ref: string, fn: (rootfs: string, rec: ContainerRecord) => Promise<T>): Promise<T> {
    const rec = this.get(ref);
    const rootfs = join(this.paths.run, rec.Id, 'rootfs');
    if (rec.State.Running) return fn(rootfs, rec);
    return this.lock.run(rec.Id, async () => {
      if (rec.State.Running) return fn(rootfs, rec);
      const dataDir = join(this.paths.containers, rec.Id);
      await mountOverlay(await this.images.rootfsLayers(rec.Image), join(dataDir, 'upper'), join(dataDir, 'work'), rootfs);
      try {
        return await fn(rootfs, rec);
      } finally {
        await unmount(rootfs);
      }
    });
  }

  /**
   * cp's view of a container: its own root while it runs (frozen for the
   * duration, as Docker does since CVE-2018-15664, so nothing in it can swap
   * a directory for a symlink halfway), the mounted rootfs when stopped.
   */
  async withContainerRoot<T>(ref: string, fn: (c: ContainerRoot, rec: ContainerRecord) => Promise<T>): Promise<T> {
    const rec = this.get(ref);
    const dataDir = join(this.paths.containers, rec.Id);
    const mounts = [
      ...NETWORK_FILES.map((f) => ({ destination: `/etc/${f}`, source: join(dataDir, f), rw: !rec.HostConfig.ReadonlyRootfs })),
      ...(rec.Mounts ?? []).filter((m) => m.Type !== 'tmpfs' && m.Source).map((m) => ({ destination: m.Destination, source: m.Source, rw: m.RW })),
    ];
    const view = (root: string, running: boolean): ContainerRoot => ({ root, mounts, readonlyRootfs: rec.HostConfig.ReadonlyRootfs, running });
    if (rec.State.Running && rec.State.Pid) {
      const freeze = !rec.State.Paused;
      if (freeze) await this.runtime.pause(rec.Id).catch(() => undefined);
      try {
        return await fn(view(`/proc/${rec.State.Pid}/root`, true), rec);
      } finally {
        if (freeze) await this.runtime.resume(rec.Id).catch(() => undefined);
      }
    }
    return this.withRootfs(ref, (rootfs) => fn(view(rootfs, false), rec));
  }

  /**
   * Paths Berth itself puts in the upper directory (mount points of /etc/hosts
   * and friends, volumes, /dev): Docker keeps those in an init layer, so they
   * never show in a diff or a commit.
   */
  private berthOwnedPaths(rec: ContainerRecord): Set<string> {
    return new Set<string>([
      ...NETWORK_FILES.map((f) => `/etc/${f}`), INIT_PATH_IN_CONTAINER, '/dev', '/proc', '/sys', '/dev/shm',
      ...(rec.Mounts ?? []).map((m) => m.Destination),
    ]);
  }

  /** `diff`: the container's changes to the image's filesystem. */
  async changes(ref: string): Promise<Change[]> {
    const rec = this.get(ref);
    return changes(join(this.paths.containers, rec.Id, 'upper'), await this.images.rootfsLayers(rec.Image), this.berthOwnedPaths(rec));
  }

  /**
   * `commit`: hand `fn` the container's upper directory and the paths to leave
   * out of it; a running container is frozen meanwhile when `pause` says so,
   * so the layer is one consistent instant.
   */
  async withUpperDir<T>(ref: string, pause: boolean, fn: (rec: ContainerRecord, upper: string, exclude: Set<string>) => Promise<T>): Promise<T> {
    const rec = this.get(ref);
    if (rec.State.Status === 'removing') throw new ConflictError(`removal of container ${rec.Id} is already in progress`);
    const upper = join(this.paths.containers, rec.Id, 'upper');
    // Never started: nothing changed yet, and the layer is empty.
    await fs.mkdir(upper, { recursive: true });
    const freeze = pause && rec.State.Running && !rec.State.Paused;
    if (freeze) await this.runtime.pause(rec.Id);
    try {
      return await fn(rec, upper, this.berthOwnedPaths(rec));
    } finally {
      if (freeze) await this.runtime.resume(rec.Id).catch(() => undefined);
    }
  }

  /** network connect: plugged in at once when running, remembered either way. */
  async connectNetwork(ref: string, network: string, req: EndpointRequest): Promise<void> {
    const rec = this.get(ref);
    await this.lock.run(rec.Id, async () => {
      await this.network.connect(rec, network, req);
      await this.save(rec);
    });
  }

  async disconnectNetwork(ref: string, network: string): Promise<void> {
    const rec = this.get(ref);
    await this.lock.run(rec.Id, async () => {
      await this.network.disconnect(rec, network);
      await this.save(rec);
    });
  }

  async rename(ref: string, newName: string): Promise<void> {
    const rec = this.get(ref);
    if (!newName) throw new InvalidParameterError('Neither old nor new names may be empty');
    const name = validateName(newName);
    if (name === rec.Name) throw new InvalidParameterError(`Renaming a container with the same name as its current name`);
    this.reserveName(name, rec.Id);
    const oldName = rec.Name;
    rec.Name = name;
    try {
      await this.save(rec);
    } catch (err) {
      rec.Name = oldName;
      this.names.delete(name);
      throw err;
    }
    this.names.delete(oldName);
    this.events.publish('container', 'rename', rec.Id, { ...this.attrs(rec), oldName });
  }

  async prune(filter: (rec: ContainerRecord) => boolean = () => true): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let space = 0;
    for (const rec of [...this.records.values()]) {
      if (rec.State.Running || !filter(rec)) continue;
      space += await dirSize(join(this.paths.containers, rec.Id, 'upper'));
      await this.lock.run(rec.Id, () => this.destroy(rec));
      deleted.push(rec.Id);
    }
    this.events.publish('container', 'prune', '', { reclaimed: String(space) });
    return { ContainersDeleted: deleted, SpaceReclaimed: space };
  }

  async sizeRw(id: string): Promise<number> {
    return dirSize(join(this.paths.containers, id, 'upper'));
  }

  // ---- helpers ----------------------------------------------------------------

  attrs(rec: ContainerRecord): Record<string, string> {
    return { ...(rec.Config.Labels ?? {}), image: rec.Config.Image, name: rec.Name.slice(1) };
  }

  private async save(rec: ContainerRecord): Promise<void> {
    await writeJsonAtomic(join(this.paths.containers, rec.Id, 'container.json'), rec);
  }

  statusOf(rec: ContainerRecord): ContainerStatus {
    return rec.State.Status;
  }

  shortId(id: string): string {
    return shortId(id);
  }
}

export type { ContainerConfig, HostConfig };

/** Rename parent/name to parent/asideName (removed later); undefined if it does not exist. */
function setAside(parent: string, name: string, asideName: string): string | undefined {
  const aside = join(parent, asideName);
  try {
    renameSync(join(parent, name), aside);
    return aside;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function tryToSetAside(parent: string, name: string, asideName: string): string | undefined {
  try {
    return setAside(parent, name, asideName);
  } catch {
    return undefined;
  }
}

/** `--rm` of a container that has run: it goes when its process ends, or when the daemon finds it ended. */
function autoRemoves(rec: ContainerRecord): boolean {
  return rec.HostConfig.AutoRemove && rec.State.StartedAt !== ZERO_TIME;
}

/** Docker's parsePSOutput: the header gives the titles and the PID column; rows of other pids go. */
export function parsePsOutput(text: string, pids: Set<number>): { Titles: string[]; Processes: string[][] } {
  const lines = text.split('\n').filter((l) => l.trim());
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidCol = titles.indexOf('PID');
  if (pidCol < 0) throw new SystemError(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    // The last column (the command) keeps its spaces.
    const row = [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
    if (pids.has(Number(row[pidCol]))) processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

/** Where Docker mounts its init. */
const INIT_PATH_IN_CONTAINER = '/sbin/docker-init';
const INIT_CANDIDATES = ['/usr/bin/tini-static', '/usr/bin/catatonit', '/usr/libexec/podman/catatonit'];

/** A statically linked init from the host (Debian's tini ships tini-static). */
async function initBinary(): Promise<string> {
  for (const p of INIT_CANDIDATES) {
    try {
      await fs.access(p);
      return p;
    } catch { /* next */ }
  }
  throw new SystemError(`--init needs a static init on the host: none of ${INIT_CANDIDATES.join(', ')} exists (apt-get install tini)`);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await dirSize(p);
    else if (e.isFile()) total += (await fs.lstat(p)).size;
  }
  return total;
}

/** Docker wraps runtime create errors this way; users grep for the inner text. */
function startErrorMessage(runtimeMessage: string): string {
  return `failed to create task for container: OCI runtime create failed: ${runtimeMessage}: unknown`;
}

/** The exit code Docker records (and the CLI returns) for a failed start. */
export function exitCodeForStartError(message: string): number {
  if (/executable file not found|no such file or directory/.test(message)) return 127;
  if (/permission denied|exec format error/.test(message)) return 126;
  return 128;
}
