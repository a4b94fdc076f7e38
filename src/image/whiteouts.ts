// OCI layer whiteouts (`.wh.name` hides `name` of lower layers, `.wh..wh..opq`
// hides a whole lower directory) and their overlayfs twins: a 0/0 character
// device and the `trusted.overlay.opaque=y` xattr.
import { posix } from 'node:path';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

export type Whiteout =
  | { kind: 'opaque'; dir: string; entry: string }
  | { kind: 'file'; path: string; entry: string };

/** What a layer tar entry name (already cleaned, relative) means, if it is a whiteout. */
export function parseWhiteout(name: string): Whiteout | undefined {
  const base = posix.basename(name);
  if (!base.startsWith(WHITEOUT_PREFIX)) return undefined;
  const dir = posix.dirname(name);
  if (base === OPAQUE_MARKER) return { kind: 'opaque', dir: dir === '.' ? '' : dir, entry: name };
  const target = base.slice(WHITEOUT_PREFIX.length);
  if (!target || target === '.' || target === '..' || target.startsWith(WHITEOUT_PREFIX)) return undefined;
  return { kind: 'file', path: dir === '.' ? target : `${dir}/${target}`, entry: name };
}

/** The tar entry name that records the deletion of `path` (relative). */
export function whiteoutEntryFor(path: string): string {
  const dir = posix.dirname(path);
  const name = WHITEOUT_PREFIX + posix.basename(path);
  return dir === '.' ? name : `${dir}/${name}`;
}

export function opaqueEntryFor(dir: string): string {
  return dir ? `${dir}/${OPAQUE_MARKER}` : OPAQUE_MARKER;
}

/** Quote for POSIX sh: everything inside single quotes is literal. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A sh script that turns the extracted `.wh.` files under `root` into overlay
 * whiteouts. One process per layer instead of one per whiteout.
 */
export function whiteoutScript(root: string, whiteouts: Whiteout[]): string {
  const lines: string[] = [];
  for (const w of whiteouts) {
    lines.push(`rm -f -- ${shQuote(posix.join(root, w.entry))}`);
    if (w.kind === 'opaque') {
      lines.push(`setfattr -n ${OPAQUE_XATTR} -v y -- ${shQuote(w.dir ? posix.join(root, w.dir) : root)}`);
    } else {
      const p = posix.join(root, w.path);
      lines.push(`rm -rf -- ${shQuote(p)}`, `mknod -- ${shQuote(p)} c 0 0`);
    }
  }
  return lines.join('\n') + '\n';
}
