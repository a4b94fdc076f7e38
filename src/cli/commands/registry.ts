// Registry commands: pull, push, login, logout. Credentials come from and go
// to Docker's config.json; the daemon gets them per request in X-Registry-Auth.
import { createInterface } from 'node:readline';
import { client, CliError, out, err } from '../context.js';
import { displayJsonMessages } from '../progress.js';
import { credentialsFor, storeCredentials, removeCredentials, configPath, serverKey } from '../credentials.js';
import { encodeAuthHeader } from '../../registry/auth.js';
import { splitSearchTerm, type SearchResult } from '../../registry/search.js';
import { parseFilterFlags } from '../prompt.js';
import { tabwrite } from '../tabwriter.js';
import { ellipsis, formatRows } from '../format.js';
import { familiarName, fullString, parseReference, type Reference } from '../../image/reference.js';

type Opts = Record<string, unknown>;

function reference(name: string): Reference {
  try {
    return parseReference(name);
  } catch (e) {
    throw new CliError((e as Error).message, 1);
  }
}

/**
 * A pull or push through berthd with the stored login for `ref`'s registry,
 * its progress shown with `write` (nothing when quiet).
 */
async function registryStream(path: string, query: Record<string, string | undefined>, ref: Reference, write: (s: string) => void, isTTY = Boolean(process.stdout.isTTY)): Promise<void> {
  const auth = await credentialsFor(ref.domain);
  const res = await client().raw('POST', path, { query, headers: { 'X-Registry-Auth': encodeAuthHeader(auth) } });
  try {
    await displayJsonMessages(res, write, isTTY);
  } catch (e) {
    if (e instanceof CliError) throw new CliError(`Error response from daemon: ${e.message}`, 1);
    throw e;
  }
}

/** POST /images/create for `name` with the stored credentials, showing the progress with `write`. */
export async function pullWithProgress(name: string, write: (s: string) => void, isTTY: boolean, platform?: string): Promise<Reference> {
  let ref = reference(name);
  if (!ref.tag && !ref.digest) ref = { ...ref, tag: 'latest' };
  await registryStream('/images/create', { fromImage: familiarName(ref), tag: ref.digest ?? ref.tag, platform }, ref, write, isTTY);
  return ref;
}

export async function pull(args: string[], opts: Opts): Promise<number> {
  const write = opts.quiet ? () => undefined : out;
  const platform = opts.platform as string | undefined;
  const given = reference(args[0]!);
  if (opts.allTags) {
    // No tag in the request: the daemon pulls every tag.
    if (given.tag || given.digest) throw new CliError('tag can\'t be used with --all-tags/-a', 1);
    await registryStream('/images/create', { fromImage: familiarName(given), platform }, given, write);
    out(`${fullString(given)}\n`);
    return 0;
  }
  if (!given.tag && !given.digest) write('Using default tag: latest\n');
  const ref = await pullWithProgress(args[0]!, write, Boolean(process.stdout.isTTY), platform);
  out(`${fullString(ref)}\n`);
  return 0;
}

export async function push(args: string[], opts: Opts): Promise<number> {
  let ref = reference(args[0]!);
  if (ref.digest) throw new CliError('invalid reference format: push takes a tag, not a digest', 1);
  const quiet = Boolean(opts.quiet);
  if (!ref.tag && !opts.allTags) {
    if (!quiet) out('Using default tag: latest\n');
    ref = { ...ref, tag: 'latest' };
  }
  await registryStream(`/images/${familiarName(ref)}/push`, { tag: ref.tag }, ref, quiet ? () => undefined : out);
  if (quiet) out(`${fullString(ref)}\n`);
  return 0;
}

/** `localhost:5000`, `https://registry.example/v2/` → the registry's domain. */
export function serverDomain(server: string | undefined): string {
  if (!server) return 'docker.io';
  const host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return ['index.docker.io', 'registry-1.docker.io', 'docker.io'].includes(host) ? 'docker.io' : host;
}

async function prompt(question: string, hidden: boolean): Promise<string> {
  if (!process.stdin.isTTY) throw new CliError(`Error: Cannot perform an interactive login from a non TTY device`, 1);
  process.stdout.write(question);
  if (!hidden) {
    const rl = createInterface({ input: process.stdin });
    const line = await new Promise<string>((resolve) => rl.once('line', resolve));
    rl.close();
    return line.trim();
  }
  process.stdin.setRawMode(true);
  process.stdin.resume();
  let value = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') { process.stdin.off('data', onData); resolve(); return; }
        if (ch === '\u0003') { process.stdin.off('data', onData); reject(new CliError('', 130)); return; }
        if (ch === '\u007f') value = value.slice(0, -1);
        else value += ch;
      }
    };
    process.stdin.on('data', onData);
  }).finally(() => {
    process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stdout.write('\n');
  });
  return value;
}

async function readStdin(): Promise<string> {
  let s = '';
  for await (const chunk of process.stdin) s += (chunk as Buffer).toString('utf8');
  return s.replace(/\r?\n$/, '');
}

export async function login(args: string[], opts: Opts): Promise<number> {
  const domain = serverDomain(args[0]);
  let username = opts.username as string | undefined;
  let password = opts.password as string | undefined;
  if (opts.passwordStdin) {
    if (password !== undefined) throw new CliError('--password and --password-stdin are mutually exclusive', 1);
    if (!username) throw new CliError('Must provide --username with --password-stdin', 1);
    password = await readStdin();
  } else if (password !== undefined) {
    err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  if (!username) username = await prompt('Username: ', false);
  if (!username) throw new CliError('Error: Non-null Username Required', 1);
  if (password === undefined) password = await prompt('Password: ', true);
  if (!password) throw new CliError('Error: Password Required', 1);
  await client().json('POST', '/auth', { body: { username, password, serveraddress: serverKey(domain) } });
  const helper = await storeCredentials(domain, username, password);
  if (!helper) err(`WARNING! Your password will be stored unencrypted in ${configPath()}.\n`);
  out('Login Succeeded\n');
  return 0;
}

export async function logout(args: string[]): Promise<number> {
  const domain = serverDomain(args[0]);
  if (!(await removeCredentials(domain))) {
    out(`Not logged in to ${serverKey(domain)}\n`);
    return 0;
  }
  out(`Removing login credentials for ${serverKey(domain)}\n`);
  return 0;
}

/** `search TERM`: asked by berthd, with the stored login for the index the term names. */
export async function search(args: string[], opts: Opts): Promise<number> {
  const term = args[0]!;
  const auth = await credentialsFor(splitSearchTerm(term).index);
  const filters = parseFilterFlags(Array.isArray(opts.filter) ? opts.filter as string[] : []);
  const results = await client().json<SearchResult[]>('GET', '/images/search', {
    query: { term, limit: opts.limit as string | undefined, filters: filters ? JSON.stringify(filters) : undefined },
    headers: { 'X-Registry-Auth': encodeAuthHeader(auth) },
  });
  const trunc = opts.trunc !== false;
  const rows = results.map((r) => {
    // One line each, as the docker CLI shows them; cut at 45 characters unless --no-trunc.
    const description = r.description.replace(/[\r\n]/g, ' ');
    return {
      Name: r.name,
      Description: trunc ? ellipsis(description, 45) : description,
      StarCount: String(r.star_count),
      IsOfficial: r.is_official ? '[OK]' : '',
    };
  });
  const headers = { Name: 'NAME', Description: 'DESCRIPTION', StarCount: 'STARS', IsOfficial: 'OFFICIAL' };
  if (typeof opts.format === 'string' && opts.format !== 'table') {
    out(formatRows(opts.format, rows, headers));
    return 0;
  }
  out(tabwrite([['NAME', 'DESCRIPTION', 'STARS', 'OFFICIAL'], ...rows.map((r) => [r.Name, r.Description, r.StarCount, r.IsOfficial])]));
  return 0;
}
