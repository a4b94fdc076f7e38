// The CLI defines only the command it is asked to run (start-up speed); these
// tests hold that the pruned tree and the full one agree on every command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram, invokedPath, resolves } from '../../../src/cli/program.js';

test('invokedPath skips global options and their values', () => {
  assert.deepEqual(invokedPath(['ps', '-a']), ['ps']);
  assert.deepEqual(invokedPath(['-H', 'unix:///x.sock', 'container', 'ls', '-q']), ['container', 'ls']);
  assert.deepEqual(invokedPath(['--host=unix:///x.sock', '-D', 'run', '--rm', 'busybox', 'true']), ['run']);
  assert.deepEqual(invokedPath(['--log-level', 'debug', 'image', 'inspect', 'busybox']), ['image', 'inspect']);
  assert.deepEqual(invokedPath(['run', 'busybox']), ['run', 'busybox']);
  assert.deepEqual(invokedPath(['--help']), []);
  assert.deepEqual(invokedPath([]), []);
});

/** Every command path in a tree, with its flags. */
function commands(c: Command, prefix: string[] = []): Map<string, string> {
  const all = new Map<string, string>();
  for (const sub of c.commands) {
    const path = [...prefix, sub.name()];
    all.set(path.join(' '), JSON.stringify({ flags: sub.options.map((o) => o.flags), args: sub.registeredArguments.map((a) => a.name()), aliases: sub.aliases() }));
    for (const [k, v] of commands(sub, path)) all.set(k, v);
  }
  return all;
}

test('a tree built for one command defines that command exactly as the full tree does', () => {
  const full = commands(buildProgram());
  assert.ok(full.size > 60, `only ${full.size} commands`);
  for (const [path, shape] of full) {
    const argv = path.split(' ');
    const pruned = buildProgram(argv);
    assert.ok(resolves(pruned, argv), path);
    const got = commands(pruned);
    assert.equal(got.get(path), shape, path);
    // Pruned means pruned: a leaf's tree holds its own path and nothing beside it.
    if (argv.length === 2) assert.ok(got.size <= 2 + full.size / 4, `${path}: ${got.size} commands defined`);
  }
  // Aliases select their command too.
  assert.ok(commands(buildProgram(['container', 'ps'])).has('container ls'));
  assert.ok(commands(buildProgram(['image', 'list'])).has('image ls'));
});

test('unknown commands and subcommands fall back to the full tree', () => {
  assert.equal(resolves(buildProgram(['bogus']), ['bogus']), false);
  assert.equal(resolves(buildProgram(['container', 'bogus']), ['container', 'bogus']), false);
  assert.equal(resolves(buildProgram(['network', 'lss']), ['network', 'lss']), false);
  // The operands of a leaf command are not command names.
  assert.equal(resolves(buildProgram(['run', 'busybox']), ['run', 'busybox']), true);
  assert.equal(resolves(buildProgram(['container']), ['container']), true);
});
