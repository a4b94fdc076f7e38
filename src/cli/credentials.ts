// Registry credentials in Docker's config.json (`$DOCKER_CONFIG/config.json`,
// else ~/.docker/config.json), so `docker login` and `berth login` share them:
// in its `auths` entries, or in the credential helper it names (`credHelpers`
// for one registry, else `credsStore`), as the docker CLI does.
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AuthConfig } from '../registry/auth.js';
import { helperErase, helperGet, helperList, helperStore, IDENTITY_TOKEN_USER, type HelperCredentials } from './credential-helpers.js';

/** Docker Hub's key in config.json, kept for compatibility with the docker CLI. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export function configPath(): string {
  return join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

/** The helper that keeps `key`'s login, if config.json names one. */
function helperFor(cfg: ConfigFile, key: string): string | undefined {
  return cfg.credHelpers?.[key] || cfg.credsStore || undefined;
}

function fromHelper(c: HelperCredentials, key: string): AuthConfig {
  return c.Username === IDENTITY_TOKEN_USER
    ? { identitytoken: c.Secret, serveraddress: key }
    : { username: c.Username, password: c.Secret, serveraddress: key };
}

/** A plain `auths` entry as an AuthConfig; undefined when it holds no login (a helper's placeholder). */
function fromFile(entry: { auth?: string; identitytoken?: string } | undefined, key: string): AuthConfig | undefined {
  const plain = entry?.auth ? Buffer.from(entry.auth, 'base64').toString('utf8') : '';
  const i = plain.indexOf(':');
  if (i > 0) return { username: plain.slice(0, i), password: plain.slice(i + 1), serveraddress: key };
  if (entry?.identitytoken) return { identitytoken: entry.identitytoken, serveraddress: key };
  return undefined;
}

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
  const helper = helperFor(cfg, key);
  if (helper) {
    const c = await helperGet(helper, key);
    return c ? fromHelper(c, key) : {};
  }
  return fromFile(cfg.auths?.[key] ?? cfg.auths?.[`https://${key}`] ?? cfg.auths?.[`http://${key}`], key) ?? {};
}

/**
 * Every stored login, keyed as config.json keys them: what `build` sends in
 * X-Registry-Config so that berthd can pull private base images (the docker
 * CLI sends the same). Logins in helpers are read from them.
 */
export async function allCredentials(): Promise<Record<string, AuthConfig>> {
  const cfg = await readConfig();
  const out: Record<string, AuthConfig> = {};
  for (const [key, entry] of Object.entries(cfg.auths ?? {})) {
    const auth = fromFile(entry, key);
    if (auth) out[key] = auth;
  }
  const fromHelpers = new Map<string, string>();
  if (cfg.credsStore) for (const key of Object.keys(await helperList(cfg.credsStore))) fromHelpers.set(key, cfg.credsStore);
  for (const [key, helper] of Object.entries(cfg.credHelpers ?? {})) fromHelpers.set(key, helper);
  for (const [key, helper] of fromHelpers) {
    const c = await helperGet(helper, key);
    if (c) out[key] = fromHelper(c, key);
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

/** Where `berth login` put the password: a helper's name, or undefined for config.json itself. */
export async function storeCredentials(domain: string, username: string, password: string): Promise<string | undefined> {
  const cfg = await readConfig();
  const key = serverKey(domain);
  const helper = helperFor(cfg, key);
  if (helper) {
    await helperStore(helper, { ServerURL: key, Username: username, Secret: password });
    // As the docker CLI: config.json lists the server, without its secret.
    cfg.auths = { ...(cfg.auths ?? {}), [key]: {} };
  } else {
    cfg.auths = { ...(cfg.auths ?? {}), [key]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } };
  }
  await writeConfig(cfg);
  return helper;
}

/** false when there was nothing to remove. */
export async function removeCredentials(domain: string): Promise<boolean> {
  const cfg = await readConfig();
  const key = serverKey(domain);
  const helper = helperFor(cfg, key);
  const erased = helper ? await helperErase(helper, key) : false;
  if (!cfg.auths?.[key]) return erased;
  delete cfg.auths[key];
  await writeConfig(cfg);
  return true;
}
