import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** Absolute path of an executable on PATH (conmon needs one for the runtime). */
export function which(name: string): string | undefined {
  if (name.includes('/')) return name;
  const dirs = (process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return undefined;
}
