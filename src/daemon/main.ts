// berthd: load the configuration, start the engine, serve the Engine API.
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadConfig, ConfigError, USAGE } from './config.js';
import { createLogger } from './log.js';
import { Engine } from './engine.js';
import { Router } from './router.js';
import { createApiServer } from './server.js';
import { systemRoutes } from './routes/system.js';
import { containerRoutes } from './routes/containers.js';
import { imageRoutes } from './routes/images.js';
import { execRoutes } from './routes/exec.js';
import { networkRoutes } from './routes/networks.js';
import { volumeRoutes } from './routes/volumes.js';
import { swarmRoutes } from './routes/swarm.js';
import { BERTH_VERSION } from './version.js';

async function main(): Promise<void> {
  let config;
  try {
    const c = loadConfig(process.argv.slice(2));
    if (c === 'help') {
      process.stdout.write(USAGE);
      return;
    }
    if (c === 'version') {
      process.stdout.write(`Berth version ${BERTH_VERSION}\n`);
      return;
    }
    config = c;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`berthd: ${err.message}\n`);
      process.exit(125);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  if (process.getuid && process.getuid() !== 0) {
    log.error('berthd needs to run as root');
    process.exit(1);
  }
  const engine = new Engine(config, log);
  await engine.init();

  const router = new Router();
  systemRoutes(router, engine);
  containerRoutes(router, engine);
  imageRoutes(router, engine);
  execRoutes(router, engine);
  networkRoutes(router, engine);
  volumeRoutes(router, engine);
  swarmRoutes(router);
  const server = createApiServer(router, log);

  await fs.mkdir(dirname(config.socket), { recursive: true });
  await fs.rm(config.socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.socket, () => resolve());
  });
  await fs.chmod(config.socket, 0o660);
  if (config.group) {
    try {
      const gid = Number(execFileSync('getent', ['group', config.group]).toString().split(':')[2]);
      await fs.chown(config.socket, 0, gid);
    } catch {
      log.warn('socket group not found; socket stays root-only', { group: config.group });
    }
  }
  log.info('API listening', { socket: config.socket, dataRoot: config.dataRoot, execRoot: config.execRoot, runtime: config.runtime });

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down; containers keep running', { signal });
    engine.close();
    server.close();
    // Streaming clients (logs -f, events) would hold close() open forever.
    server.closeAllConnections();
    void fs.rm(config.socket, { force: true }).finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`berthd: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
