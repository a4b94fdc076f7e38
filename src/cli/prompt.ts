// Small pieces several commands share: `-f key=value` filters and the
// "Are you sure?" question of the prune commands.
import { createInterface } from 'node:readline';
import { CliError, out } from './context.js';

/** `-f name=value` flags → the API's filters map (undefined when none). Docker lowercases the key. */
export function parseFilterFlags(values: string[]): Record<string, string[]> | undefined {
  if (!values.length) return undefined;
  const f: Record<string, string[]> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i < 0) throw new CliError(`invalid argument "${v}" for "-f, --filter" flag: bad format of filter (expected name=value)`, 125);
    (f[v.slice(0, i).toLowerCase()] ??= []).push(v.slice(i + 1));
  }
  return f;
}

/** The same, JSON-encoded for a `filters` query parameter. */
export function filtersQuery(values: string[]): string | undefined {
  const f = parseFilterFlags(values);
  return f ? JSON.stringify(f) : undefined;
}

/** `WARNING! …` then a y/N question on stdin; anything but y/yes (or EOF) is no. */
export async function confirm(warning: string): Promise<boolean> {
  out(`${warning}\nAre you sure you want to continue? [y/N] `);
  const rl = createInterface({ input: process.stdin });
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}
