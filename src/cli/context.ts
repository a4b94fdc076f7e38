import { EngineClient, socketFromEnv } from '../client/client.js';

/** An error the CLI reports with its own text and exit code. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

let host: string | undefined;
let cached: EngineClient | undefined;

export function setGlobalHost(h: string | undefined): void {
  host = h;
  cached = undefined;
}

export function client(): EngineClient {
  cached ??= new EngineClient({ socketPath: socketFromEnv(host) });
  return cached;
}

export function out(s: string): void {
  process.stdout.write(s);
}

export function err(s: string): void {
  process.stderr.write(s);
}
