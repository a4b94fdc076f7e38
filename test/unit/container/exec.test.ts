import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateExecConfig, execStartError } from '../../../src/container/exec.js';
import { replaceOrAppendEnv } from '../../../src/container/env.js';
import { InvalidParameterError } from '../../../src/lib/errors.js';

test('exec config: defaults, Docker messages for a missing command and wrong types', () => {
  const c = validateExecConfig({ Cmd: ['ls', '-l'], AttachStdout: true });
  assert.deepEqual([c.Cmd, c.AttachStdout, c.AttachStdin, c.Tty, c.User, c.Env], [['ls', '-l'], true, false, false, '', null]);
  const bad: unknown[] = [[], null, 'x', {}, { Cmd: [] }, { Cmd: 'ls' }, { Cmd: ['ls'], Tty: 'yes' }, { Cmd: ['ls'], Env: 'A=1' }, { Cmd: ['ls'], User: 0 }];
  for (const b of bad) assert.throws(() => validateExecConfig(b), InvalidParameterError, JSON.stringify(b));
  assert.throws(() => validateExecConfig({ Cmd: [] }), /^Error: No exec command specified$|No exec command specified/);
});

test('env: a variable replaces the default of the same name or is appended; a bare name unsets it and is dropped', () => {
  assert.deepEqual(replaceOrAppendEnv(['PATH=/bin', 'FOO=bar', 'X=1'], ['FOO=baz', 'NEW=2', 'X']), ['PATH=/bin', 'FOO=baz', 'NEW=2']);
  assert.deepEqual(replaceOrAppendEnv([], []), []);
  assert.deepEqual(replaceOrAppendEnv(['HOSTNAME=h'], ['UNSET', 'A=1', 'A=2', 'B=x=y']), ['HOSTNAME=h', 'A=2', 'B=x=y']);
  // Unset, then given again: back in its place, as dockerd does.
  assert.deepEqual(replaceOrAppendEnv(['HOSTNAME=h', 'TERM=xterm'], ['HOSTNAME', 'HOSTNAME=again', 'E=']), ['HOSTNAME=again', 'TERM=xterm', 'E=']);
});

test('exec start failures: Docker wording, 127 for a missing command, 126 otherwise', () => {
  const nf = execStartError('time="2026-11-22T18:00:00Z" level=error msg="exec failed: unable to start container process: exec: \\"x\\": executable file not found in $PATH"');
  assert.equal(nf.exitCode, 127);
  assert.equal(nf.message, 'OCI runtime exec failed: exec failed: unable to start container process: exec: "x": executable file not found in $PATH: unknown');
  const perm = execStartError('time="t" level=error msg="exec failed: unable to start container process: exec: \\"/etc/passwd\\": permission denied"');
  assert.equal(perm.exitCode, 126);
});
