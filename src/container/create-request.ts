// POST /containers/create: validate the request body (clients send anything)
// and merge it with the image's config the way Docker does.
import { InvalidParameterError } from '../lib/errors.js';
import { parseSignal } from './signals.js';
import type { ContainerConfig, HostConfig } from './record.js';
import type { ImageRuntimeConfig } from './service.js';
import { resolveLogConfig, DEFAULT_LOG_CONFIG, type LogConfig } from './log-config.js';
import { validateResources } from './resources.js';
import { mergeHealthcheck, validateHealthcheck, type HealthConfig } from './health.js';
import { parseSecurityOpts, validateSysctls, validateUlimits, deviceFor, type Ulimit, type DeviceMapping } from './security.js';

export interface CreateRequest {
  Image?: string;
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Healthcheck?: HealthConfig | null;
  StopTimeout?: number | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  HostConfig?: Partial<HostConfig> | null;
  [key: string]: unknown;
}

function expect(cond: boolean, what: string): void {
  if (!cond) throw new InvalidParameterError(`json: cannot unmarshal ${what}`);
}

function strArray(v: unknown, field: string): string[] | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return [v];
  expect(Array.isArray(v) && v.every((s) => typeof s === 'string'), `${typeof v} into Go struct field ContainerConfig.${field} of type []string`);
  return v as string[];
}

function optString(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  expect(typeof v === 'string', `${typeof v} into Go struct field ContainerConfig.${field} of type string`);
  return v as string;
}

/** Checks the body's types; throws 400 with a message naming the field. */
export function validateCreateRequest(body: unknown): CreateRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidParameterError('json: cannot unmarshal request body into container config');
  }
  const b = body as Record<string, unknown>;
  for (const f of ['Image', 'Hostname', 'Domainname', 'User', 'WorkingDir', 'StopSignal']) optString(b[f], f);
  if (b.Env !== undefined && b.Env !== null) {
    expect(Array.isArray(b.Env) && b.Env.every((e) => typeof e === 'string'), `${typeof b.Env} into Go struct field ContainerConfig.Env of type []string`);
  }
  strArray(b.Cmd, 'Cmd');
  strArray(b.Entrypoint, 'Entrypoint');
  if (b.Labels !== undefined && b.Labels !== null) {
    expect(typeof b.Labels === 'object' && !Array.isArray(b.Labels) &&
      Object.values(b.Labels as object).every((v) => typeof v === 'string'), 'Labels into map[string]string');
  }
  if (b.StopTimeout !== undefined && b.StopTimeout !== null) {
    expect(Number.isInteger(b.StopTimeout), `${typeof b.StopTimeout} into Go struct field ContainerConfig.StopTimeout of type int`);
  }
  if (b.HostConfig !== undefined && b.HostConfig !== null) {
    expect(typeof b.HostConfig === 'object' && !Array.isArray(b.HostConfig), 'HostConfig into container.HostConfig');
  }
  return b as CreateRequest;
}

function mergeEnv(imageEnv: string[], userEnv: string[]): string[] {
  const out = [...imageEnv];
  for (const kv of userEnv) {
    const key = kv.split('=')[0]!;
    const i = out.findIndex((e) => e.split('=')[0] === key);
    if (i >= 0) out[i] = kv;
    else out.push(kv);
  }
  return out;
}

export function createRequestBody(body: CreateRequest, image: ImageRuntimeConfig, logDefaults: LogConfig = DEFAULT_LOG_CONFIG): { config: ContainerConfig; hostConfig: HostConfig } {
  const userEntrypoint = body.Entrypoint === undefined ? null : strArray(body.Entrypoint, 'Entrypoint');
  const userCmd = strArray(body.Cmd, 'Cmd');
  // An explicit entrypoint (even an empty one) replaces the image's and drops its Cmd.
  const entrypoint = body.Entrypoint !== undefined && body.Entrypoint !== null
    ? (userEntrypoint && userEntrypoint.length && !(userEntrypoint.length === 1 && userEntrypoint[0] === '') ? userEntrypoint : null)
    : image.Entrypoint ?? null;
  const cmd = userCmd && userCmd.length
    ? userCmd
    : body.Entrypoint !== undefined && body.Entrypoint !== null ? null : image.Cmd ?? null;
  const hc = body.HostConfig ?? {};
  const restart = (hc.RestartPolicy ?? { Name: 'no', MaximumRetryCount: 0 });
  const restartName = restart.Name || 'no';
  if (!['no', 'always', 'unless-stopped', 'on-failure'].includes(restartName)) {
    throw new InvalidParameterError(`invalid restart policy: unknown policy '${restartName}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (hc.AutoRemove && restartName !== 'no') {
    throw new InvalidParameterError(`can't create 'AutoRemove' container with restart policy`);
  }
  const config: ContainerConfig = {
    Hostname: body.Hostname ?? '',
    Domainname: body.Domainname ?? '',
    User: body.User || image.User || '',
    AttachStdin: body.AttachStdin ?? false,
    AttachStdout: body.AttachStdout ?? false,
    AttachStderr: body.AttachStderr ?? false,
    ExposedPorts: body.ExposedPorts ?? image.ExposedPorts ?? undefined,
    Tty: body.Tty ?? false,
    OpenStdin: body.OpenStdin ?? false,
    StdinOnce: body.StdinOnce ?? false,
    Env: mergeEnv(image.Env ?? [], body.Env ?? []),
    Cmd: cmd,
    Image: body.Image!,
    // The image's VOLUMEs and `-v /path` ones together.
    Volumes: body.Volumes || image.Volumes ? { ...(image.Volumes ?? {}), ...(body.Volumes ?? {}) } : null,
    WorkingDir: body.WorkingDir || image.WorkingDir || '',
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: { ...(image.Labels ?? {}), ...(body.Labels ?? {}) },
  };
  // Checked as dockerd checks it (the image's was checked when it was built).
  if (body.StopSignal) parseSignal(body.StopSignal);
  const stopSignal = body.StopSignal || image.StopSignal;
  if (stopSignal) config.StopSignal = stopSignal;
  validateHealthcheck(body.Healthcheck);
  const health = mergeHealthcheck(image.Healthcheck, body.Healthcheck);
  if (health) config.Healthcheck = health;
  if (typeof body.StopTimeout === 'number') config.StopTimeout = body.StopTimeout;
  const logConfig = resolveLogConfig(hc.LogConfig ?? undefined, logDefaults);
  const resources = validateResources(hc as Record<string, unknown>);
  checkSecurity(hc as Record<string, unknown>);
  const hostConfig: HostConfig = {
    ...hc,
    ...resources,
    Binds: hc.Binds ?? null,
    LogConfig: logConfig,
    NetworkMode: hc.NetworkMode || 'bridge',
    PortBindings: hc.PortBindings ?? {},
    RestartPolicy: { Name: restartName, MaximumRetryCount: restart.MaximumRetryCount ?? 0 },
    AutoRemove: hc.AutoRemove ?? false,
    Init: hc.Init ?? null,
    Privileged: hc.Privileged ?? false,
    ReadonlyRootfs: hc.ReadonlyRootfs ?? false,
    CapAdd: hc.CapAdd ?? null,
    CapDrop: hc.CapDrop ?? null,
    SecurityOpt: hc.SecurityOpt ?? null,
    ShmSize: hc.ShmSize || 67108864,
  };
  return { config, hostConfig };
}

/** --security-opt, --sysctl, --ulimit, --device, --group-add: Docker's messages at create. */
function checkSecurity(hc: Record<string, unknown>): void {
  const list = (k: string): unknown[] => {
    const v = hc[k];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new InvalidParameterError(`json: cannot unmarshal into Go struct field HostConfig.${k}`);
    return v;
  };
  parseSecurityOpts(list('SecurityOpt').map(String));
  const sysctls = hc.Sysctls;
  if (sysctls !== undefined && sysctls !== null && (typeof sysctls !== 'object' || Array.isArray(sysctls))) {
    throw new InvalidParameterError('json: cannot unmarshal into Go struct field HostConfig.Sysctls of type map[string]string');
  }
  validateSysctls(sysctls as Record<string, string> | null, String(hc.NetworkMode ?? ''));
  validateUlimits(list('Ulimits') as Ulimit[]);
  for (const d of list('Devices')) deviceFor(d as DeviceMapping);
  for (const g of list('GroupAdd')) if (typeof g !== 'string') throw new InvalidParameterError('json: cannot unmarshal into Go struct field HostConfig.GroupAdd of type string');
}
