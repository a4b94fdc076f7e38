// Short-lived commands on the path of every container start and teardown
// (`ip`, `mount`, `umount`, conmon) are started by a long-lived /bin/sh
// rather than by berthd itself.
//
// Node forks the whole daemon for every child process (libuv uses fork(),
// not vfork or posix_spawn), and a fork copies the page tables of every page
// berthd has touched: ~6 ms of a ~70 MB daemon on these VMs, during which
// the event loop stands still — six times per `run --rm`, and fifty times
// six for a fleet of containers. dash is ~1 MB: its forks cost the event
// loop nothing and run on the other core. The commands, their arguments and
// their exit codes are the same as before; only who forks them changes.
//
// Protocol: berthd writes a job as a line with its number of lines, then
// that many lines of shell code; the shell runs each job in the background
// (orphaned, so that init reaps it).
// A job answers on the shell's stdout with short lines, each one write()
// (atomic on a pipe up to PIPE_BUF, so concurrent jobs never interleave
// within a line): `ID+text` for a line of the command's stderr, `ID=text`
// for a status line (conmon's sync pipe), and `ID CODE` last.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { SystemError } from './errors.js';
import { HelperProcess } from './helper-process.js';

const SHELL_LOOP = `
while read -r n; do
  j=
  while [ "$n" -gt 0 ]; do
    IFS= read -r l || exit 0
    j="$j$l
"
    n=$((n - 1))
  done
  # In a subshell that exits at once: the job is orphaned and init reaps it.
  # A job of the shell's own would stay a zombie until the shell next forks
  # (dash reaps only then), which after a burst of containers can be long.
  ( eval "$j" & )
done
`;

/** The outcome of a command run by the fork server. */
export interface CommandResult {
  code: number;
  /** its standard error, trimmed */
  stderr: string;
}

export interface StatusResult extends CommandResult {
  /** the first line the command wrote to fd 3, if any */
  status: string | undefined;
}

interface Pending {
  stderr: string[];
  status?: string;
  /** called with each status line as it comes */
  onStatus?: (line: string) => void;
  resolve: (r: StatusResult) => void;
  reject: (e: Error) => void;
}

/** Shell quoting: one word, whatever it holds. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The report of a job: stderr lines as `ID+line`, then `ID CODE`. The
 * command's stderr is captured whole and replayed only when it failed (the
 * common case writes nothing).
 */
function reportLines(id: number): string[] {
  return [
    `if [ "$c" -ne 0 ]; then printf '%s\\n' "$e" | while IFS= read -r m; do printf '${id}+%s\\n' "$m"; done; fi`,
    `echo "${id} $c"`,
  ];
}

export class ForkServer {
  private readonly helper = new HelperProcess<Pending>({
    name: 'fork server', what: 'the shell', command: '/bin/sh', args: ['-c', SHELL_LOOP], onLine: (line) => this.onLine(line),
  });

  /** The shell, while it runs (the tests kill it). */
  private get shell(): ChildProcessWithoutNullStreams | undefined {
    return this.helper.current;
  }

  /**
   * Run `argv`, its stdin fed with `stdinLines` (a here-document) or
   * /dev/null, its stdout discarded. Resolves with the exit code and stderr.
   */
  run(argv: string[], stdinLines?: string[]): Promise<CommandResult> {
    const id = this.helper.nextId();
    const cmd = argv.map(shellQuote).join(' ');
    const lines: string[] = [];
    if (stdinLines) {
      const eof = `BERTH_EOF_${randomBytes(6).toString('hex')}`;
      if (stdinLines.some((l) => l.includes('\n') || l === eof)) return Promise.reject(new SystemError('fork server: a stdin line holds a newline'));
      lines.push(`e=$(${cmd} 2>&1 >/dev/null <<'${eof}'`, ...stdinLines, eof, ')', 'c=$?');
    } else {
      lines.push(`e=$(${cmd} 2>&1 >/dev/null </dev/null)`, 'c=$?');
    }
    lines.push(...reportLines(id));
    return this.submit(id, lines);
  }

  /**
   * Start `argv` with `env` added, fd 3 a pipe whose first line is the
   * status (conmon's sync pipe), stdin and stdout /dev/null. Resolves once
   * that line has come, or fd 3 and stderr have closed without one. The
   * program may go on running (conmon daemonizes); what it writes after its
   * status line is not read.
   */
  runWithStatusFd(argv: string[], env: Record<string, string>): Promise<StatusResult> {
    const id = this.helper.nextId();
    const assignments = Object.entries(env).map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new SystemError(`fork server: bad variable name ${k}`);
      return `${k}=${shellQuote(v)}`;
    });
    // stderr and fd 3 share one pipe: a JSON status line starts with "{",
    // anything before it is the program's complaint.
    const lines = [
      `{ ${assignments.join(' ')} ${argv.map(shellQuote).join(' ')} 3>&1 2>&1 >/dev/null </dev/null; } | {`,
      '  s=',
      `  while IFS= read -r l; do case $l in '{'*) s=$l; break;; *) printf '${id}+%s\\n' "$l";; esac; done`,
      `  if [ -n "$s" ]; then printf '${id}=%s\\n' "$s"; echo "${id} 0"; else echo "${id} 1"; fi`,
      '}',
    ];
    return this.submit(id, lines);
  }

  /**
   * Start `argv` reading its stdin from `stdinPath` (a FIFO the caller holds
   * open for writing, so that opening it does not block), its stdout
   * discarded. `pid` resolves once the stdin is open, just before the
   * program is executed (with that pid); `done` when it exits, with its code
   * and stderr (127 and the shell's message when it cannot be executed).
   */
  startWithStdin(argv: string[], stdinPath: string): { pid: Promise<number>; done: Promise<CommandResult> } {
    const id = this.helper.nextId();
    // A small sh reports its pid on stderr, then becomes the program; the
    // program's exit status follows its stderr down the same pipe. A line
    // of the program's own never starts with "pid " or "rc " (tar's start
    // with "tar:").
    const lines = [
      `{ sh -c 'echo "pid $$" >&2; exec "$@"' sh ${argv.map(shellQuote).join(' ')} <${shellQuote(stdinPath)} 2>&1 >/dev/null; echo "rc $?"; } | {`,
      '  rc=1',
      `  while IFS= read -r l; do case $l in 'pid '*) printf '${id}=%s\n' "\${l#pid }";; 'rc '*) rc=\${l#rc };; *) printf '${id}+%s\n' "$l";; esac; done`,
      `  echo "${id} $rc"`,
      '}',
    ];
    let gotPid!: (pid: number) => void;
    let noPid!: (err: Error) => void;
    const pid = new Promise<number>((resolve, reject) => { gotPid = resolve; noPid = reject; });
    pid.catch(() => undefined);
    const done = this.submit(id, lines, (line) => gotPid(Number(line)));
    // Settling an already settled pid does nothing: these only tell of a job that never reported one.
    done.then(() => noPid(new SystemError(`fork server: ${argv[0]} exited before it ran`)), noPid);
    return { pid, done };
  }

  /** Let the shell go (it exits when its stdin closes); jobs under way finish on their own. */
  close(): void {
    this.helper.close();
  }

  private submit(id: number, lines: string[], onStatus?: (line: string) => void): Promise<StatusResult> {
    const text = lines.join('\n');
    const count = text.split('\n').length;
    return new Promise<StatusResult>((resolve, reject) => {
      this.helper.send(id, { stderr: [], resolve, reject, ...(onStatus ? { onStatus } : {}) }, `${count}\n${text}\n`);
    });
  }

  private onLine(line: string): void {
    const m = /^(\d+)([+= ])(.*)$/s.exec(line);
    if (!m) return;
    const p = this.helper.pending.get(Number(m[1]));
    if (!p) return;
    if (m[2] === '+') p.stderr.push(m[3]!);
    else if (m[2] === '=') {
      p.status = m[3]!;
      p.onStatus?.(m[3]!);
    }
    else {
      this.helper.settle(Number(m[1]));
      p.resolve({ code: Number(m[3]), stderr: p.stderr.join('\n').trim(), status: p.status });
    }
  }
}

let shared: ForkServer | undefined;

/** The process's fork server, its shell started on first use. */
export function forkServer(): ForkServer {
  shared ??= new ForkServer();
  return shared;
}
