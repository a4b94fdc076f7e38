// System calls Node cannot make — mount(2), umount2(2), unshare(2) for a
// network namespace, lgetxattr(2), mknodat(2) for a FIFO — made by one
// long-lived helper instead of a process per call.
//
// Every container start mounts an overlay and makes a network namespace,
// every teardown undoes both; a build mounts, unmounts and packs a layer for
// each COPY and RUN step. The system calls take well under a millisecond,
// but `mount`, `umount`, `ip netns` and `getfattr` cost a fork of berthd
// (its event loop stops ~7 ms), an exec and the loading of their shared
// libraries: 10–15 ms apiece on these VMs, one after another on the path of
// a start, a teardown or a build step. The helper is Perl: it is in
// every Debian system (perl-base is Essential), and its `syscall` passes
// strings and integers straight to the kernel. For overlay and tmpfs
// mounts the calls are exactly what util-linux makes (it adds nothing for
// them: no helper program, no /etc/mtab on a modern system); volumes keep
// the real `mount`, whose helpers (NFS, CIFS) matter.
//
// Protocol, one line each way: `ID OP FIELD…` with every string field in
// hex (paths and options may hold any byte but NUL), and `ID ERRNO TEXT`.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { SystemError } from './errors.js';
import { HelperProcess } from './helper-process.js';

/** mount(2) flags and umount2(2) flags used by berthd. */
export const MS_RDONLY = 1;
export const MNT_DETACH = 2;

export interface SyscallNumbers { mount: number; umount2: number; lgetxattr: number; unshare: number; mknodat: number }

/** System call numbers per Node architecture; elsewhere the server is not used. */
export const SYSCALLS: Partial<Record<NodeJS.Architecture, SyscallNumbers>> = {
  x64: { mount: 165, umount2: 166, lgetxattr: 192, unshare: 272, mknodat: 259 },
  arm64: { mount: 40, umount2: 39, lgetxattr: 9, unshare: 97, mknodat: 33 },
};

const PERL = '/usr/bin/perl';

// Fields are hex so that a line is always one line; numbers are decimal.
// `$! + 0` is the errno, `"$!"` its text (strerror).
//
// scan: a walk of a small tree (an overlay upper) for what a layer tar
// needs from extended attributes: the directories marked opaque, and
// whether any file has a capability set. `big` past the entry limit.
const PERL_LOOP = `
use strict;
$| = 1;
# What ps shows, instead of this whole script.
$0 = 'berth-syscall-server';
my ($sys_mount, $sys_umount2, $sys_lgetxattr, $sys_unshare, $sys_mknodat) = map { $_ + 0 } @ARGV;
# syscall() passes a string argument by pointer and so wants it writable: no literals.
my ($opaque_xattr, $cap_xattr) = ('trusted.overlay.opaque', 'security.capability');
sub scan {
  my ($root, $limit) = @_;
  my ($n, $caps, @opaque) = (0, 0);
  my @dirs = ('');
  while (@dirs) {
    my $rel = pop @dirs;
    my $dir = $rel eq '' ? $root : "$root/$rel";
    my $buf = "\\0" x 8;
    my $len = syscall($sys_lgetxattr, $dir, $opaque_xattr, $buf, 8);
    push @opaque, unpack('H*', $rel eq '' ? '.' : $rel) if $len == 1 && substr($buf, 0, 1) eq 'y';
    opendir(my $dh, $dir) or return undef;
    my @names = grep { $_ ne '.' && $_ ne '..' } readdir($dh);
    closedir($dh);
    $n += @names;
    return 'big' if $n > $limit;
    for my $name (@names) {
      my $path = "$dir/$name";
      lstat($path) or next;
      if (-d _) { push @dirs, $rel eq '' ? $name : "$rel/$name"; }
      elsif (-f _ && !$caps) { $caps = 1 if syscall($sys_lgetxattr, $path, $cap_xattr, 0, 0) >= 0; }
    }
  }
  return join(' ', 'small', $caps, @opaque);
}
# A new network namespace, kept by a bind mount of it on $path (an empty
# file): what \`ip netns add\` does, in a child, as this process stays in
# the host's namespace. The child's exit status is the errno.
sub netns {
  my ($path) = @_;
  my $pid = fork();
  return -1 unless defined $pid;
  if ($pid == 0) {
    my ($src, $type, $none) = ('/proc/self/ns/net', 'none', '');
    exit($! + 0) if syscall($sys_unshare, 0x40000000) != 0;
    # Loopback up (SIOCGIFFLAGS, IFF_UP, SIOCSIFFLAGS on a struct ifreq), as
    # every container has it: no \`ip link set lo up\` to start.
    socket(my $sock, 2, 2, 0) or exit($! + 0);
    my $ifr = pack('a16 x24', 'lo');
    ioctl($sock, 0x8913, $ifr) or exit($! + 0);
    $ifr = pack('a16 s x22', 'lo', unpack('x16 s', $ifr) | 1);
    ioctl($sock, 0x8914, $ifr) or exit($! + 0);
    exit($! + 0) if syscall($sys_mount, $src, $path, $type, 4096, $none) != 0;
    exit(0);
  }
  waitpid($pid, 0);
  return 0 if $? == 0;
  $! = ($? & 127) ? 4 : ($? >> 8);
  return -1;
}
while (my $line = <STDIN>) {
  chomp $line;
  my ($id, $op, @f) = split / /, $line, -1;
  my $r = -1;
  my $out = '';
  $! = 22;
  if ($op eq 'mount' && @f == 5) {
    my ($src, $target, $type, $data) = map { pack('H*', $_) } @f[0, 1, 2, 4];
    $r = syscall($sys_mount, $src, $target, $type, $f[3] + 0, $data);
  } elsif ($op eq 'umount' && @f == 2) {
    my $target = pack('H*', $f[0]);
    $r = syscall($sys_umount2, $target, $f[1] + 0);
  } elsif ($op eq 'fifo' && @f == 2) {
    # mknodat(AT_FDCWD, path, S_IFIFO | mode, 0)
    my $path = pack('H*', $f[0]);
    $r = syscall($sys_mknodat, -100, $path, 0010000 | ($f[1] + 0), 0);
  } elsif ($op eq 'netns' && @f == 1) {
    $r = netns(pack('H*', $f[0]));
  } elsif ($op eq 'scan' && @f == 2) {
    $out = scan(pack('H*', $f[0]), $f[1] + 0);
    $r = defined($out) ? 0 : -1;
  }
  if ($r >= 0) { print "$id 0 $out\\n"; } else { my $e = $! + 0; print "$id $e $!\\n"; }
}
`;

/** A failed system call: the kernel's errno, as a code (`EBUSY`) and its text. */
export class SyscallError extends SystemError {
  constructor(readonly errno: number, readonly code: string | undefined, text: string) {
    super(text);
  }
}

/** What a layer tar needs from a small tree's extended attributes (see scanXattrs). */
export interface XattrScan {
  /** directories marked opaque, relative to the root ('' for the root itself) */
  opaque: Set<string>;
  /** some regular file has a capability set */
  capabilities: boolean;
}

const errnoNames = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

interface Pending { resolve: (text: string) => void; reject: (e: Error) => void }

export class SyscallServer {
  private readonly perl: HelperProcess<Pending>;

  constructor(numbers: SyscallNumbers) {
    const { mount, umount2, lgetxattr, unshare, mknodat } = numbers;
    // cwd / so that it never holds a directory someone wants to unmount.
    this.perl = new HelperProcess<Pending>({
      name: 'syscall server', what: 'perl', command: PERL, cwd: '/',
      args: ['-e', PERL_LOOP, String(mount), String(umount2), String(lgetxattr), String(unshare), String(mknodat)],
      onLine: (line) => this.onLine(line),
    });
  }

  /** Perl, while it runs (the tests kill it). */
  private get helper(): ChildProcessWithoutNullStreams | undefined {
    return this.perl.current;
  }

  /** mount(2): `data` is the option string the filesystem reads (overlay's lowerdir=…, tmpfs's size=…). */
  async mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<void> {
    await this.call('mount', [hex(source), hex(target), hex(fstype), String(flags), hex(data)]);
  }

  /** umount2(2). */
  async unmount(target: string, flags = 0): Promise<void> {
    await this.call('umount', [hex(target), String(flags)]);
  }

  /** A FIFO (named pipe) at `path`, with permission bits `mode` (less the umask, as mkfifo(3)). */
  async mkfifo(path: string, mode = 0o600): Promise<void> {
    await this.call('fifo', [hex(path), String(mode)]);
  }

  /**
   * A new network namespace with its loopback up, bound on `path` (an
   * existing empty file, in a directory that is a shared mount point, as
   * `ip netns add` makes /run/netns): the namespace lives until that mount
   * goes.
   */
  async createNetns(path: string): Promise<void> {
    await this.call('netns', [hex(path)]);
  }

  /**
   * The opaque directories and file capabilities of the tree under `root`
   * (symlinks not followed), or undefined when it has more than `limit`
   * entries: a big tree is for getfattr, which does not hold up the mounts
   * queued behind it.
   */
  async scanXattrs(root: string, limit: number): Promise<XattrScan | undefined> {
    const text = await this.call('scan', [hex(root), String(limit)]);
    const [kind, caps, ...opaque] = text.split(' ');
    if (kind !== 'small') return undefined;
    return {
      capabilities: caps === '1',
      opaque: new Set(opaque.filter(Boolean).map((h) => Buffer.from(h, 'hex').toString('utf8')).map((p) => (p === '.' ? '' : p))),
    };
  }

  /** Let the helper go (it exits when its stdin closes). */
  close(): void {
    this.perl.close();
  }

  private call(op: string, fields: string[]): Promise<string> {
    const id = this.perl.nextId();
    return new Promise<string>((resolve, reject) => {
      this.perl.send(id, { resolve, reject }, `${id} ${op} ${fields.join(' ')}\n`);
    });
  }

  private onLine(line: string): void {
    const m = /^(\d+) (\d+) ?(.*)$/.exec(line);
    if (!m) return;
    const p = this.perl.settle(Number(m[1]));
    if (!p) return;
    const errno = Number(m[2]);
    if (errno === 0) p.resolve(m[3]!);
    else p.reject(new SyscallError(errno, errnoNames.get(errno), m[3] || `errno ${errno}`));
  }
}

function hex(s: string): string {
  if (s.includes('\0')) throw new SystemError('syscall server: a path or option holds a NUL byte');
  return Buffer.from(s, 'utf8').toString('hex');
}

let shared: SyscallServer | null | undefined;

/**
 * The process's syscall server, started on first use; null where it cannot
 * run (no Perl, or an architecture whose system call numbers are not known
 * here): callers then run `mount`, `umount` and `getfattr`.
 */
export function syscallServer(): SyscallServer | null {
  if (shared === undefined) {
    const numbers = SYSCALLS[process.arch];
    shared = numbers && existsSync(PERL) ? new SyscallServer(numbers) : null;
  }
  return shared;
}
