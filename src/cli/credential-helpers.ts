// Docker's credential helpers: `docker-credential-<name>` programs (pass,
// secretservice, ecr-login, gcloud, desktop…) that keep registry logins out
// of config.json. config.json names them with `credsStore` (every registry)
// and `credHelpers` (per registry, taking precedence). The protocol is the
// docker-credential-helpers one: an action as the only argument, the server
// URL or a JSON object on stdin, JSON on stdout, a non-zero exit with the
// reason on stdout when something is wrong.
import { spawn } from 'node:child_process';

/** What a helper keeps for one server. `<token>` as the user name marks an identity token. */
export interface HelperCredentials {
  ServerURL?: string;
  Username: string;
  Secret: string;
}

/** A helper that could not be run or reported an error (its own words). */
export class CredentialHelperError extends Error {}

/** The helper's answer for a server that has no stored login. */
const NOT_FOUND = /credentials not found/i;

export const IDENTITY_TOKEN_USER = '<token>';

function runHelper(name: string, action: string, input: string): Promise<{ code: number; stdout: string }> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString('utf8'); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(new CredentialHelperError(err.code === 'ENOENT'
        ? `error getting credentials - err: exec: "${program}": executable file not found in $PATH, out: \`\``
        : `error running ${program}: ${err.message}`));
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: stdout.trim() || stderr.trim() }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** The stored login for `serverURL`, or undefined when the helper has none. */
export async function helperGet(name: string, serverURL: string): Promise<HelperCredentials | undefined> {
  const r = await runHelper(name, 'get', serverURL);
  if (r.code !== 0) {
    if (NOT_FOUND.test(r.stdout)) return undefined;
    throw new CredentialHelperError(`error getting credentials - err: exit status ${r.code}, out: \`${r.stdout}\``);
  }
  try {
    const c = JSON.parse(r.stdout) as HelperCredentials;
    return c.Username || c.Secret ? c : undefined;
  } catch {
    throw new CredentialHelperError(`error getting credentials - err: invalid output from docker-credential-${name}: ${r.stdout}`);
  }
}

export async function helperStore(name: string, creds: HelperCredentials & { ServerURL: string }): Promise<void> {
  const r = await runHelper(name, 'store', JSON.stringify(creds));
  if (r.code !== 0) throw new CredentialHelperError(`error storing credentials - err: exit status ${r.code}, out: \`${r.stdout}\``);
}

/** false when the helper had nothing for `serverURL`. */
export async function helperErase(name: string, serverURL: string): Promise<boolean> {
  const r = await runHelper(name, 'erase', serverURL);
  if (r.code === 0) return true;
  if (NOT_FOUND.test(r.stdout)) return false;
  throw new CredentialHelperError(`error erasing credentials - err: exit status ${r.code}, out: \`${r.stdout}\``);
}

/** Server URL → user name of every login the helper keeps. */
export async function helperList(name: string): Promise<Record<string, string>> {
  const r = await runHelper(name, 'list', '');
  if (r.code !== 0) throw new CredentialHelperError(`error listing credentials - err: exit status ${r.code}, out: \`${r.stdout}\``);
  try {
    return (JSON.parse(r.stdout || '{}') ?? {}) as Record<string, string>;
  } catch {
    throw new CredentialHelperError(`error listing credentials - err: invalid output from docker-credential-${name}: ${r.stdout}`);
  }
}
