// Long-lived helper processes (the fork server, the mount server) must not
// keep berthd — or a test, or the CLI — alive when nothing is asked of them,
// and must while an answer is awaited.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';

/** Child stdio streams are sockets: ref/unref say whether they keep the process alive. */
export function refStream(stream: object, on: boolean): void {
  const s = stream as { ref?: () => void; unref?: () => void };
  if (on) s.ref?.();
  else s.unref?.();
}

/** While a request is pending, the helper (its exit) and its stdout (the answers) keep the process alive. */
export function keepAlive(helper: ChildProcessWithoutNullStreams, on: boolean): void {
  if (on) helper.ref();
  else helper.unref();
  refStream(helper.stdout, on);
}
