// A thin runner for iptables and iptables-restore. Batches go through
// iptables-restore --noflush: one process, applied atomically per table.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { SystemError } from '../lib/errors.js';

const execFileP = promisify(execFile);

export type Table = 'filter' | 'nat';

export interface IptablesOptions {
  /** run inside this network namespace (a path), through nsenter */
  netns?: string;
}

function command(bin: string, args: string[], o: IptablesOptions): [string, string[]] {
  return o.netns ? ['nsenter', [`--net=${o.netns}`, bin, ...args]] : [bin, args];
}

/** `iptables -w ARGS`; resolves false when iptables says no (as `-C` does for a missing rule). */
export async function iptables(args: string[], o: IptablesOptions = {}): Promise<boolean> {
  const [cmd, argv] = command('iptables', ['-w', ...args], o);
  try {
    await execFileP(cmd, argv);
    return true;
  } catch {
    return false;
  }
}

/**
 * Apply a batch. `chains` are declared (and so emptied) before `rules` run;
 * rules are full `-A`/`-D`/`-I` lines.
 */
export function restore(table: Table, chains: string[], rules: string[], o: IptablesOptions & { flush?: boolean } = {}): Promise<void> {
  const text = [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT', ''].join('\n');
  const [cmd, argv] = command('iptables-restore', ['-w', ...(o.flush ? [] : ['--noflush'])], o);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', (e) => reject(new SystemError(`iptables-restore: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new SystemError(`iptables-restore failed: ${err.trim()}\n${text}`));
    });
    child.stdin.end(text);
  });
}

/** The rules of a table as `iptables -S` prints them. */
export async function listRules(table: Table): Promise<string[]> {
  const { stdout } = await execFileP('iptables', ['-w', '-t', table, '-S']);
  return stdout.split('\n').filter(Boolean);
}

/** Create a chain if it is missing. */
export async function ensureChain(table: Table, chain: string): Promise<void> {
  if (await iptables(['-t', table, '-n', '-L', chain])) return;
  if (!(await iptables(['-t', table, '-N', chain])) && !(await iptables(['-t', table, '-n', '-L', chain]))) {
    throw new SystemError(`cannot create iptables chain ${chain} in table ${table}`);
  }
}

/** Add a rule unless an identical one is there: `-I` at `position`, or `-A` without. */
export async function ensureRule(table: Table, chain: string, spec: string[], position?: number): Promise<void> {
  if (await iptables(['-t', table, '-C', chain, ...spec])) return;
  const ok = position === undefined
    ? await iptables(['-t', table, '-A', chain, ...spec])
    : await iptables(['-t', table, '-I', chain, String(position), ...spec]);
  if (!ok) throw new SystemError(`cannot add iptables rule to ${table}/${chain}: ${spec.join(' ')}`);
}

/** Delete every copy of a rule (a crash may have left a second one). */
export async function deleteRule(table: Table, chain: string, spec: string[]): Promise<void> {
  for (let i = 0; i < 10 && await iptables(['-t', table, '-D', chain, ...spec]); i++) { /* again */ }
}

/** Empty and delete a chain; false when it did not exist. */
export async function deleteChain(table: Table, chain: string): Promise<boolean> {
  if (!(await iptables(['-t', table, '-F', chain]))) return false;
  return iptables(['-t', table, '-X', chain]);
}
