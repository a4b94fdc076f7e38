// Registry credentials in Docker's config.json (`$DOCKER_CONFIG/config.json`,
// else ~/.docker/config.json), so `docker login` and `berth login` share them.
// Only the plain `auths` entries are read and written; credential helpers
// (`credsStore`, `credHelpers`) are not run.
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AuthConfig } from '../registry/auth.js';

/** Docker Hub's key in config.json, kept for compatibility with the docker CLI. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export function configPath(): string {
  return join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

interface ConfigFile { auths?: Record<string, { auth?: string; identitytoken?: string }>; [k: string]: unknown }

async function readConfig(): Promise<ConfigFile> {
  try {
    return JSON.parse(await fs.readFile(configPath(), 'utf8')) as ConfigFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`loading config file ${configPath()}: ${(err as Error).message}`, { cause: err });
  }
}

/** The config.json key of a registry domain. */
export function serverKey(domain: string): string {
  return domain === 'docker.io' ? DOCKER_HUB_KEY : domain;
}

export async function credentialsFor(domain: string): Promise<AuthConfig> {
  const cfg = await readConfig();
  const key = serverKey(domain);
  const entry = cfg.auths?.[key] ?? cfg.auths?.[`https://${key}`] ?? cfg.auths?.[`http://${key}`];
  if (!entry?.auth) return {};
  const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
  const i = plain.indexOf(':');
  if (i < 0) return {};
  return { username: plain.slice(0, i), password: plain.slice(i + 1), serveraddress: key };
}

/**
 * Every stored login, keyed as config.json keys them: what `build` sends in
 * X-Registry-Config so that berthd can pull private base images (the docker
 * CLI sends the same).
 */
export async function allCredentials(): Promise<Record<string, AuthConfig>> {
  const cfg = await readConfig();
  const out: Record<string, AuthConfig> = {};
  for (const [key, entry] of Object.entries(cfg.auths ?? {})) {
    const plain = entry.auth ? Buffer.from(entry.auth, 'base64').toString('utf8') : '';
    const i = plain.indexOf(':');
    if (i > 0) out[key] = { username: plain.slice(0, i), password: plain.slice(i + 1), serveraddress: key };
    else if (entry.identitytoken) out[key] = { identitytoken: entry.identitytoken, serveraddress: key };
  }
  return out;
}

/** Rewrite config.json keeping every other key (and other tools' settings) as it was. */
async function writeConfig(cfg: ConfigFile): Promise<void> {
  const path = configPath();
  await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
  await fs.rename(tmp, path);
}

export async function storeCredentials(domain: string, username: string, password: string): Promise<void> {
  const cfg = await readConfig();
  cfg.auths = { ...(cfg.auths ?? {}), [serverKey(domain)]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  await writeConfig(cfg);
}

/** false when there was nothing to remove. */
export async function removeCredentials(domain: string): Promise<boolean> {
  const cfg = await readConfig();
  const key = serverKey(domain);
  if (!cfg.auths?.[key]) return false;
  delete cfg.auths[key];
  await writeConfig(cfg);
  return true;
}
