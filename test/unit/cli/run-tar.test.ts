// `berth cp` out of a container pipes the daemon's archive into GNU tar,
// which stops reading at the end-of-archive blocks. Whatever comes after
// them (a record's padding, still on its way) must be drained, or the
// response — and with it the CLI — never ends (a hang seen in CI, ~1 run in 50),
// also when tar's 'close' comes before its stdin's EPIPE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { drainAfter, runTar } from '../../../src/cli/commands/filesystem.js';
import { makeTar } from '../../helpers/tar.js';
import { tempDir } from '../../helpers/tmp.js';

test('runTar: the input is read to its end even when tar is done before it', async () => {
  const dir = tempDir('berth-runtar-');
  const archive = await makeTar([{ name: 'greeting', body: 'hello\n' }]);
  // The archive, then (after tar has surely exited) more than a pipe holds of trailing zeros.
  const input = Readable.from((async function* () {
    yield archive;
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 64; i++) yield Buffer.alloc(16 * 1024);
  })(), { objectMode: false });
  await runTar(['-x', '-f', '-', '-C', dir], input);
  assert.equal(readFileSync(join(dir, 'greeting'), 'utf8'), 'hello\n');
  // Without the drain the rest stays unread and 'end' never comes.
  const ended = input.readableEnded ? Promise.resolve() : once(input, 'end');
  await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the input was left unread')), 3000))]);
});

test('drainAfter: the input ends even when the pipe to tar breaks only after the drain began', async () => {
  // tar's stdin, full (its writes never complete) and broken a moment later:
  // the order in which a dead tar's 'close' and its stdin's EPIPE may come.
  const stdin = new Writable({ highWaterMark: 1024, write: () => undefined });
  stdin.on('error', () => undefined);
  const input = Readable.from((function* () {
    for (let i = 0; i < 64; i++) yield Buffer.alloc(16 * 1024);
  })(), { objectMode: false });
  input.pipe(stdin);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(input.isPaused(), true, 'the full pipe holds the input back');
  drainAfter(input, stdin);
  stdin.destroy(new Error('write EPIPE'));
  // Unpiping the last destination pauses a stream: had the break unpiped the input, it would stop here.
  const ended = input.readableEnded ? Promise.resolve() : once(input, 'end');
  await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the input was left unread')), 3000))]);
});
