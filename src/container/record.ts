import type { HealthConfig, HealthState } from './health.js';
import type { NetworkSettings, SandboxRuntime } from '../network/types.js';
import type { MountPoint } from '../volume/mount-spec.js';

// A container as berthd keeps it on disk: close to Docker's inspect shape so
// that inspect is mostly a projection, with runtime-only paths kept apart.

export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Image: string;
  Volumes: Record<string, object> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: HealthConfig;
}

export interface RestartPolicy { Name: string; MaximumRetryCount: number }

export interface HostConfig {
  Binds: string[] | null;
  LogConfig: { Type: string; Config: Record<string, string> };
  NetworkMode: string;
  PortBindings: Record<string, unknown> | null;
  RestartPolicy: RestartPolicy;
  AutoRemove: boolean;
  Init?: boolean | null;
  Privileged: boolean;
  ReadonlyRootfs: boolean;
  CapAdd: string[] | null;
  CapDrop: string[] | null;
  SecurityOpt: string[] | null;
  ShmSize: number;
  [key: string]: unknown;
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: HealthState;
}

export interface ContainerRecord {
  Id: string;
  /** with Docker's leading slash */
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  /** image id, sha256:… */
  Image: string;
  RestartCount: number;
  Config: ContainerConfig;
  HostConfig: HostConfig;
  /** set when the user stopped it, so restart policies leave it alone */
  ManuallyStopped?: boolean;
  /** pid of the conmon monitoring the current run */
  MonitorPid?: number;
  /** start time (/proc/PID/stat) of the current run's init: signals go to it directly while it is that process */
  InitStartTime?: number;
  /** networks (kept while stopped) and, while running, addresses and ports */
  NetworkSettings?: NetworkSettings;
  /** kernel objects of the current run's network, for teardown after a crash */
  Sandbox?: SandboxRuntime;
  /** volumes, binds and tmpfs, resolved at create */
  Mounts?: MountPoint[];
  /**
   * A build step's container: its writable layer is either thrown away or
   * adopted as an image layer at once, so its overlay is mounted volatile
   * (like an `--rm` container's) and never synced.
   */
  Scratch?: boolean;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function initialState(): ContainerState {
  return {
    Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false,
    Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME,
  };
}

/** Go's RFC3339Nano: nanosecond precision is not available from Date, so we keep ms, trimmed. */
export function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.?0+Z$/, 'Z');
}
