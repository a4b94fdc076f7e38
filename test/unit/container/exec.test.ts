import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateExecConfig, mergeExecEnv, execStartError } from '../../../src/container/exec.js';
import { InvalidParameterError } from '../../../src/lib/errors.js';

test('exec config: defaults, Docker messages for a missing command and wrong types', () => {
  const c = validateExecConfig({ Cmd: ['ls', '-l'], AttachStdout: true });
  assert.deepEqual([c.Cmd, c.AttachStdout, c.AttachStdin, c.Tty, c.User, c.Env], [['ls', '-l'], true, false, false, '', null]);
  const bad: unknown[] = [[], null, 'x', {}, { Cmd: [] }, { Cmd: 'ls' }, { Cmd: ['ls'], Tty: 'yes' }, { Cmd: ['ls'], Env: 'A=1' }, { Cmd: ['ls'], User: 0 }];
  for (const b of bad) assert.throws(() => validateExecConfig(b), InvalidParameterError, JSON.stringify(b));
  assert.throws(() => validateExecConfig({ Cmd: [] }), /^Error: No exec command specified$|No exec command specified/);
});

test('exec env replaces the container variable of the same name and appends the rest', () => {
  assert.deepEqual(mergeExecEnv(['PATH=/bin', 'FOO=bar', 'X=1'], ['FOO=baz', 'NEW=2', 'X']), ['PATH=/bin', 'FOO=baz', 'X', 'NEW=2']);
  assert.deepEqual(mergeExecEnv([], []), []);
});

test('exec start failures: Docker wording, 127 for a missing command, 126 otherwise', () => {
  const nf = execStartError('time="2026-11-22T18:00:00Z" level=error msg="exec failed: unable to start container process: exec: \\"x\\": executable file not found in $PATH"');
  assert.equal(nf.exitCode, 127);
  assert.equal(nf.message, 'OCI runtime exec failed: exec failed: unable to start container process: exec: "x": executable file not found in $PATH: unknown');
  const perm = execStartError('time="t" level=error msg="exec failed: unable to start container process: exec: \\"/etc/passwd\\": permission denied"');
  assert.equal(perm.exitCode, 126);
});
