import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, symlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { secureJoin, SymlinkLoopError } from '../../../src/lib/secure-join.js';

let root = '';
before(() => {
  root = mkdtempSync('/tmp/securejoin-');
  mkdirSync(join(root, 'etc'));
  mkdirSync(join(root, 'var/lib'), { recursive: true });
  symlinkSync('/etc', join(root, 'abs'));
  symlinkSync('../../../../../../../etc', join(root, 'var/lib/up'));
  symlinkSync('/../../tmp', join(root, 'escape'));
  symlinkSync('lib', join(root, 'var/rel'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));
});
after(() => rmSync(root, { recursive: true, force: true }));

test('plain paths and .. never leave the root', async () => {
  assert.equal(await secureJoin(root, '/etc/passwd'), join(root, 'etc/passwd'));
  assert.equal(await secureJoin(root, '../../etc'), join(root, 'etc'));
  assert.equal(await secureJoin(root, ''), root);
});

test('symlinks are resolved against the root', async () => {
  assert.equal(await secureJoin(root, '/abs/x'), join(root, 'etc/x'));
  assert.equal(await secureJoin(root, '/var/lib/up/shadow'), join(root, 'etc/shadow'));
  assert.equal(await secureJoin(root, '/escape'), join(root, 'tmp'));
  assert.equal(await secureJoin(root, '/var/rel/x'), join(root, 'var/lib/x'));
  assert.equal(await secureJoin(root, '/missing/../etc'), join(root, 'etc'));
});

test('loops are an error, not a hang', async () => {
  await assert.rejects(secureJoin(root, '/loop1'), SymlinkLoopError);
});
