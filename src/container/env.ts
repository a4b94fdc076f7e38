// A process's environment as dockerd builds it (moby's
// ReplaceOrAppendEnvValues): each variable given replaces the default of the
// same name or is appended; a name given without `=` unsets the default and
// is itself dropped. The docker CLI sends such a bare name for `-e NAME`
// when NAME is not set on the client, and runc refuses one in a spec.

export function replaceOrAppendEnv(defaults: string[], overrides: string[]): string[] {
  const out: (string | undefined)[] = [...defaults];
  const index = new Map<string, number>();
  out.forEach((e, i) => index.set(nameOf(e!), i));
  for (const kv of overrides) {
    const name = nameOf(kv);
    const i = index.get(name);
    if (name === kv) {
      if (i !== undefined) out[i] = undefined;
      continue;
    }
    if (i !== undefined) {
      out[i] = kv;
    } else {
      index.set(name, out.length);
      out.push(kv);
    }
  }
  return out.filter((e): e is string => e !== undefined);
}

function nameOf(kv: string): string {
  const eq = kv.indexOf('=');
  return eq < 0 ? kv : kv.slice(0, eq);
}
