// berthd configuration: flags override the config file, which overrides defaults.
// The file takes the flag names (`host`, `data-root`, `exec-root`, `runtime`,
// `log-level`) and dockerd's spellings of them (`hosts`, `default-runtime`).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_LOG_CONFIG, validateLogConfig, type LogConfig } from '../container/log-config.js';

export interface DaemonConfig {
  /** unix socket path */
  socket: string;
  dataRoot: string;
  execRoot: string;
  runtime: 'runc' | 'crun';
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** group that may use the socket (mode 0660); root only when absent */
  group?: string;
  /** `log-driver` and `log-opts`: the defaults merged into every new container's LogConfig */
  logConfig: LogConfig;
  /** the default bridge's interface name (dockerd's --bridge) */
  bridge: string;
  /** the default bridge's address and prefix, e.g. 172.30.0.1/16 (dockerd's --bip) */
  bip?: string;
  /** default address for published ports (dockerd's --ip) */
  defaultBindIp: string;
  /** registries (host[:port] or CIDR) reached over plain HTTP when HTTPS fails; loopback always is */
  insecureRegistries: string[];
  /**
   * `build-context-memory`: bytes of memory (tmpfs) one build's context may
   * take; a bigger context is unpacked on disk. 0: always on disk. Default:
   * an eighth of the machine's memory.
   */
  buildContextMemory?: number;
}

export const DEFAULT_CONFIG_FILE = '/etc/berth/daemon.json';

export class ConfigError extends Error {}

const USAGE = `Usage: berthd [OPTIONS]

A Docker-compatible container engine daemon

Options:
      --config-file string   Daemon configuration file (default "${DEFAULT_CONFIG_FILE}")
      --data-root string     Root directory of persistent state (default "/var/lib/berth")
      --exec-root string     Root directory for execution state files (default "/run/berth")
  -H, --host string          Daemon socket to listen on (default "unix:///run/berth/berth.sock")
  -G, --group string         Group for the unix socket (default: root only)
      --runtime string       OCI runtime: runc or crun (default "runc")
  -l, --log-level string     debug, info, warn or error (default "info")
      --log-driver string    Default driver for container logs (default "json-file")
      --log-opt list         Default log driver options, key=value (default max-size=20m, max-file=5)
  -b, --bridge string        Interface of the default bridge network (default "berth0")
      --bip string           Address and prefix of the default bridge, e.g. 172.30.0.1/16
      --ip string            Default address for published ports (default "0.0.0.0")
      --insecure-registry list  Registry (host:port or CIDR) that may be reached over plain HTTP
  -v, --version              Print version information and quit
`;

export function socketPathFromHost(host: string): string {
  if (host.startsWith('unix://')) return host.slice('unix://'.length);
  if (host.startsWith('/')) return host;
  throw new ConfigError(`unsupported host ${host}: only unix:// sockets are supported`);
}

export function loadConfig(argv: string[]): DaemonConfig | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        'config-file': { type: 'string' },
        'data-root': { type: 'string' },
        'exec-root': { type: 'string' },
        host: { type: 'string', short: 'H' },
        group: { type: 'string', short: 'G' },
        runtime: { type: 'string' },
        'log-level': { type: 'string', short: 'l' },
        'log-driver': { type: 'string' },
        'log-opt': { type: 'string', multiple: true },
        bridge: { type: 'string', short: 'b' },
        bip: { type: 'string' },
        ip: { type: 'string' },
        'insecure-registry': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${USAGE}`);
  }
  const f = parsed.values;
  if (f.help) return 'help';
  if (f.version) return 'version';
  const fileName = f['config-file'] ?? DEFAULT_CONFIG_FILE;
  let file: Record<string, unknown> = {};
  try {
    file = JSON.parse(readFileSync(fileName, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' || f['config-file']) {
      throw new ConfigError(`unable to configure the berth daemon with file ${fileName}: ${(err as Error).message}`);
    }
  }
  const str = (k: string): string | undefined => {
    const v = file[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new ConfigError(`${fileName}: "${k}" must be a string`);
    return v;
  };
  const fileHosts = file.hosts;
  const fileHost = str('host') ?? (Array.isArray(fileHosts) && typeof fileHosts[0] === 'string' ? fileHosts[0] : undefined);
  const execRoot = f['exec-root'] ?? str('exec-root') ?? '/run/berth';
  const runtime = f.runtime ?? str('runtime') ?? str('default-runtime') ?? 'runc';
  if (runtime !== 'runc' && runtime !== 'crun') throw new ConfigError(`unknown runtime ${runtime}: use runc or crun`);
  const logLevel = f['log-level'] ?? str('log-level') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new ConfigError(`invalid log level ${logLevel}`);
  const host = f.host ?? fileHost;
  const logConfig = daemonLogConfig(f['log-driver'] ?? str('log-driver'), f['log-opt'], file['log-opts'], fileName);
  const bridge = f.bridge ?? str('bridge') ?? 'berth0';
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge)) throw new ConfigError(`invalid bridge name ${bridge}: at most 15 letters, digits, '_', '.' or '-'`);
  const defaultBindIp = f.ip ?? str('ip') ?? '0.0.0.0';
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(defaultBindIp)) throw new ConfigError(`invalid --ip ${defaultBindIp}: an IPv4 address is required`);
  const bip = f.bip ?? str('bip');
  if (bip !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(bip)) throw new ConfigError(`invalid --bip ${bip}: use an address with a prefix, e.g. 172.30.0.1/16`);
  const fileInsecure = file['insecure-registries'];
  if (fileInsecure !== undefined && (!Array.isArray(fileInsecure) || fileInsecure.some((x) => typeof x !== 'string'))) {
    throw new ConfigError(`${fileName}: "insecure-registries" must be a list of strings`);
  }
  const insecureRegistries = [...((fileInsecure as string[] | undefined) ?? []), ...(f['insecure-registry'] ?? [])];
  const contextMemory = file['build-context-memory'];
  if (contextMemory !== undefined && (typeof contextMemory !== 'number' || !Number.isInteger(contextMemory) || contextMemory < 0)) {
    throw new ConfigError(`${fileName}: "build-context-memory" must be a whole number of bytes (0: contexts always on disk)`);
  }
  return {
    ...(contextMemory !== undefined ? { buildContextMemory: contextMemory as number } : {}),
    insecureRegistries,
    bridge,
    bip,
    defaultBindIp,
    socket: host ? socketPathFromHost(host) : `${execRoot}/berth.sock`,
    dataRoot: f['data-root'] ?? str('data-root') ?? '/var/lib/berth',
    execRoot,
    runtime,
    logLevel: logLevel as DaemonConfig['logLevel'],
    group: f.group ?? str('group'),
    logConfig,
  };
}

/**
 * Berth's built-in rotation stays under whatever the user sets (dockerd
 * would drop it as soon as `log-opts` holds any key); `max-size=-1` turns it off.
 */
function daemonLogConfig(driver: string | undefined, flagOpts: string[] | undefined, fileOpts: unknown, fileName: string): LogConfig {
  const type = driver ?? DEFAULT_LOG_CONFIG.Type;
  const config: Record<string, string> = type === DEFAULT_LOG_CONFIG.Type ? { ...DEFAULT_LOG_CONFIG.Config } : {};
  if (fileOpts !== undefined) {
    if (typeof fileOpts !== 'object' || fileOpts === null || Array.isArray(fileOpts)
      || Object.values(fileOpts).some((v) => typeof v !== 'string')) {
      throw new ConfigError(`${fileName}: "log-opts" must be an object of strings`);
    }
    Object.assign(config, fileOpts);
  }
  for (const kv of flagOpts ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new ConfigError(`invalid key value pair format in log-opt: ${kv}`);
    config[kv.slice(0, i)] = kv.slice(i + 1);
  }
  try {
    validateLogConfig({ Type: type, Config: config });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return { Type: type, Config: config };
}

export { USAGE };
