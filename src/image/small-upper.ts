// A small overlay upper (most build steps: a COPY of a few files, a RUN
// that writes a few) packed as a layer tar by berthd itself. GNU tar and
// getfattr cost more to start than such a layer costs to pack: each is a
// fork of berthd (its event loop stops ~7 ms on these VMs) and an exec, for
// every step of a build. The extended attributes a layer needs (opaque
// directories, file capabilities) come from the syscall server's walk; a
// tree with capabilities, or one past the limits, goes to GNU tar
// (layer-diff.ts), whose archive means the same.
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { syscallServer } from '../lib/syscall-server.js';
import { opaqueEntryFor, whiteoutEntryFor } from './whiteouts.js';

type TarHeader = Parameters<ReturnType<typeof tarStream.pack>['entry']>[0];

/** At most this many entries… */
export const SMALL_UPPER_ENTRIES = 256;
/** …and this many bytes of file content are packed here (held in memory while packed). */
export const SMALL_UPPER_BYTES = 8 << 20;
/** The largest id a ustar header holds (7 octal digits); a bigger one goes to GNU tar. */
const MAX_USTAR_ID = 0o7777777;

export interface SmallPackOptions {
  /** in-container paths (`/etc/hosts`) left out, with everything under them */
  exclude?: Set<string>;
  /** SOURCE_DATE_EPOCH: no mtime later than this (seconds) */
  clampMtime?: number;
}

interface Member {
  /** path relative to the upper, `/`-separated */
  rel: string;
  st: Stats;
  data?: Buffer;
  linkname?: string;
}

const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * The upper's entries in the order GNU tar's --sort=name gives (each
 * directory, then its entries by name, depth first), or undefined when the
 * tree is not small or holds something this packer leaves to GNU tar.
 */
function walkSmall(upper: string, exclude: Set<string>): Member[] | undefined {
  const out: Member[] = [];
  let bytes = 0;
  const visit = (relDir: string): boolean => {
    let names: string[];
    try {
      names = readdirSync(relDir ? join(upper, relDir) : upper);
    } catch {
      return false;
    }
    for (const name of names.sort(byBytes)) {
      // A name that is not UTF-8 comes back mangled from readdir: GNU tar keeps its bytes.
      if (name.includes('\uFFFD')) return false;
      const rel = relDir ? `${relDir}/${name}` : name;
      if (exclude.has(rel)) continue;
      if (out.length >= SMALL_UPPER_ENTRIES) return false;
      let st: Stats;
      try {
        st = lstatSync(join(upper, rel));
      } catch {
        continue; // gone since readdir (a commit of a running container): as GNU tar, skip it
      }
      if (st.uid > MAX_USTAR_ID || st.gid > MAX_USTAR_ID) return false;
      if (st.isSocket()) continue; // GNU tar ignores sockets
      const m: Member = { rel, st };
      if (st.isFile()) {
        bytes += st.size;
        if (bytes > SMALL_UPPER_BYTES) return false;
        try {
          m.data = readFileSync(join(upper, rel));
        } catch {
          continue;
        }
      } else if (st.isSymbolicLink()) {
        m.linkname = readlinkSync(join(upper, rel));
        if (m.linkname.includes('\uFFFD')) return false;
      }
      out.push(m);
      if (st.isDirectory() && !visit(rel)) return false;
    }
    return true;
  };
  return visit('') ? out : undefined;
}

/** Linux's encoding of a device number (see <sys/sysmacros.h>). */
function deviceNumbers(rdev: number): { devmajor: number; devminor: number } {
  const r = BigInt(rdev);
  return {
    devmajor: Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn)),
    devminor: Number((r & 0xffn) | ((r >> 12n) & ~0xffn)),
  };
}

function headersFor(members: Member[], opaque: Set<string>, clampMtime: number | undefined): { header: TarHeader; data?: Buffer }[] {
  const out: { header: TarHeader; data?: Buffer }[] = [];
  const firstOfInode = new Map<string, string>();
  if (opaque.has('')) out.push({ header: { name: opaqueEntryFor(''), type: 'file', mode: 0o600, size: 0, uid: 0, gid: 0, mtime: new Date(0) } });
  for (const { rel, st, data, linkname } of members) {
    const seconds = Math.floor(st.mtimeMs / 1000);
    const mtime = new Date(1000 * (clampMtime !== undefined ? Math.min(seconds, clampMtime) : seconds));
    const base = { name: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime };
    if (st.isDirectory()) {
      out.push({ header: { ...base, name: `${rel}/`, type: 'directory' } });
      if (opaque.has(rel)) out.push({ header: { ...base, name: opaqueEntryFor(rel), type: 'file', mode: 0o600, size: 0 } });
    } else if (st.isFile()) {
      const inode = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? firstOfInode.get(inode) : undefined;
      if (first !== undefined) {
        out.push({ header: { ...base, type: 'link', linkname: first, size: 0 } });
      } else {
        if (st.nlink > 1) firstOfInode.set(inode, rel);
        out.push({ header: { ...base, type: 'file', size: data!.length }, data: data! });
      }
    } else if (st.isSymbolicLink()) {
      out.push({ header: { ...base, type: 'symlink', linkname: linkname!, mode: 0o777 } });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const dev = deviceNumbers(st.rdev);
      if (st.isCharacterDevice() && dev.devmajor === 0 && dev.devminor === 0) {
        // An overlay whiteout: the OCI entry that means the same.
        out.push({ header: { ...base, name: whiteoutEntryFor(rel), type: 'file', mode: 0o600, size: 0 } });
      } else {
        out.push({ header: { ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', ...dev } });
      }
    } else if (st.isFIFO()) {
      out.push({ header: { ...base, type: 'fifo' } });
    }
  }
  return out;
}

/**
 * The upper as a layer tar, packed here, or undefined when it is for GNU
 * tar: more than SMALL_UPPER_ENTRIES entries or SMALL_UPPER_BYTES of
 * content, a file capability (its pax xattr header is GNU tar's job), or no
 * syscall server on this machine.
 */
export async function packSmallUpper(upper: string, opts: SmallPackOptions = {}): Promise<Readable | undefined> {
  const server = syscallServer();
  if (!server) return undefined;
  const scan = server.scanXattrs(upper, SMALL_UPPER_ENTRIES + (opts.exclude?.size ?? 0));
  scan.catch(() => undefined);
  const exclude = new Set([...(opts.exclude ?? [])].map((p) => p.replace(/^\/+/, '')));
  const members = walkSmall(upper, exclude);
  const xattrs = await scan.catch(() => undefined);
  if (!members || !xattrs || xattrs.capabilities) return undefined;
  const pack = tarStream.pack();
  for (const { header, data } of headersFor(members, xattrs.opaque, opts.clampMtime)) pack.entry(header, data ?? '');
  pack.finalize();
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}
