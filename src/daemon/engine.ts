// Engine: builds the services from the configuration and wires them together.
// Routes get an Engine; services never see HTTP.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { DaemonConfig } from './config.js';
import type { Logger } from './log.js';
import { EventBus, type EngineEvent } from '../lib/event-bus.js';
import { ContentStore } from '../image/content-store.js';
import { LayerStore } from '../image/layer-store.js';
import { ImageStore } from '../image/image-store.js';
import { ContainerService, type ContainerPaths, type ImageProvider } from '../container/service.js';
import { OciRuntime } from '../container/runtime.js';
import { ExecManager } from '../container/exec.js';
import { HealthMonitor, probeCommand, timing } from '../container/health.js';
import { newId } from '../lib/ids.js';
import { writeFileAtomic } from '../lib/atomic.js';
import { which } from '../lib/which.js';
import { NetworkService } from '../network/service.js';
import { VolumeService } from '../volume/service.js';
import { RegistryClient, isInsecure } from '../registry/client.js';
import type { AuthConfig } from '../registry/auth.js';
import { searchIndex, splitSearchTerm, type SearchResult } from '../registry/search.js';
import { BERTH_VERSION } from './version.js';
import { cleanupBuildLeftovers, removeBuildContainers } from './build.js';

export class Engine {
  readonly events = new EventBus();
  readonly content: ContentStore;
  readonly layers: LayerStore;
  readonly images: ImageStore;
  readonly containers: ContainerService;
  readonly execs: ExecManager;
  readonly networks: NetworkService;
  readonly volumes: VolumeService;
  readonly paths: ContainerPaths;
  daemonId = '';

  constructor(readonly config: DaemonConfig, readonly log: Logger) {
    const { dataRoot, execRoot } = config;
    this.content = new ContentStore(join(dataRoot, 'content'));
    this.layers = new LayerStore(join(dataRoot, 'layers'));
    this.images = new ImageStore(join(dataRoot, 'image'), this.content, this.layers, (action, id, attributes) => {
      this.events.publish('image', action, id, attributes);
    });
    this.paths = { containers: join(dataRoot, 'containers'), run: join(execRoot, 'containers') };
    const runtime = new OciRuntime({
      runtime: which(config.runtime) ?? config.runtime,
      conmon: which('conmon') ?? 'conmon',
      runtimeRoot: join(execRoot, 'runtime'),
      exitDir: join(execRoot, 'exits'),
      socketDir: join(execRoot, 'sockets'),
    });
    const provider: ImageProvider = {
      resolveImage: async (ref) => {
        const img = this.images.resolve(ref);
        return { id: img.id, config: img.config.config ?? {} };
      },
      rootfsLayers: async (imageId) => this.images.rootfsLayers(imageId),
    };
    this.networks = new NetworkService({
      root: join(dataRoot, 'network'),
      bridgeName: config.bridge,
      bip: config.bip,
      defaultBindIp: config.defaultBindIp,
      // Filled in by init() once the engine id is known: names this daemon's namespaces.
      netnsPrefix: '',
    }, this.events, (l, m, f) => log.log(l, m, f));
    this.volumes = new VolumeService(join(dataRoot, 'volumes'), this.events);
    this.containers = new ContainerService(this.paths, runtime, provider, this.networks, this.volumes, this.events, (l, m, f) => log.log(l, m, f), config.logConfig);
    this.networks.bindContainers(this.containers);
    this.volumes.bindUsers((name) => this.containers.list()
      .filter((c) => c.Mounts?.some((m) => m.Type === 'volume' && m.Name === name))
      .map((c) => ({ id: c.Id, running: c.State.Running })));
    this.execs = new ExecManager(this.containers, runtime, this.events);
    // Exec sessions and health probes end with their container's run, as dockerd's do.
    this.events.subscribe((e) => {
      if (e.Type !== 'container') return;
      if (e.Action === 'die' || e.Action === 'destroy') {
        this.execs.dropContainer(e.Actor.ID);
        this.stopHealth(e.Actor.ID);
      } else if (e.Action === 'start') {
        this.startHealth(e.Actor.ID);
      }
    });
  }

  private readonly health = new Map<string, HealthMonitor>();

  /** Probe a running container with a health check, from its start time. */
  private startHealth(id: string): void {
    this.stopHealth(id);
    const rec = this.containers.tryGet(id);
    const argv = probeCommand(rec?.Config.Healthcheck);
    if (!rec || !argv || !rec.State.Running) return;
    const m = new HealthMonitor(argv, timing(rec.Config.Healthcheck!), Date.parse(rec.State.StartedAt) || Date.now(),
      (cmd, timeoutMs) => this.execs.probe(id, cmd, timeoutMs),
      (entry, inStart) => this.containers.recordHealth(id, entry, inStart));
    this.health.set(id, m);
    m.start();
  }

  private stopHealth(id: string): void {
    this.health.get(id)?.stop();
    this.health.delete(id);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.config.dataRoot, { recursive: true, mode: 0o711 });
    await fs.mkdir(this.config.execRoot, { recursive: true, mode: 0o711 });
    const idFile = join(this.config.dataRoot, 'engine-id');
    try {
      this.daemonId = (await fs.readFile(idFile, 'utf8')).trim();
    } catch {
      this.daemonId = newId();
      await writeFileAtomic(idFile, this.daemonId + '\n');
    }
    await this.images.load();
    await cleanupBuildLeftovers(this);
    this.networks.setNetnsPrefix(`berth-${this.daemonId.slice(0, 8)}-`);
    await this.networks.load();
    await this.volumes.load();
    await this.containers.load();
    await removeBuildContainers(this);
    await this.volumes.reconcile();
    // Containers that kept running while berthd was down get their probes back.
    for (const rec of this.containers.list()) if (rec.State.Running) this.startHealth(rec.Id);
  }

  close(): void {
    for (const id of [...this.health.keys()]) this.stopHealth(id);
    this.containers.close();
    this.networks.close();
  }

  /** A registry client for one pull, push or login, with that request's credentials. */
  registry(domain: string, auth: AuthConfig): RegistryClient {
    return new RegistryClient(domain, auth, isInsecure(domain, this.config.insecureRegistries), `berth/${BERTH_VERSION}`);
  }

  /** `docker search`: the index the term names, asked with this request's credentials. */
  search(term: string, limit: number, auth: AuthConfig): Promise<SearchResult[]> {
    const { index, query } = splitSearchTerm(term);
    return searchIndex(index, query, limit, auth, isInsecure(index, this.config.insecureRegistries), `berth/${BERTH_VERSION}`);
  }

  imageSize(imageId: string): number {
    try {
      return this.images.resolve(imageId).size;
    } catch {
      return 0;
    }
  }

  /** Does image reference `ref` name the image of this event/container? */
  imageMatches(ref: string, e: EngineEvent | { imageId: string }): boolean {
    const img = this.images.tryResolve(ref);
    if (!img) return false;
    if ('imageId' in e) return img.id === e.imageId;
    return e.Type === 'image' && e.Actor.ID === img.id;
  }
}
