// history and image prune against real images made by import and commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daemonWithBusybox, hasDockerCli } from './harness.js';

const d = daemonWithBusybox();
const id = (ref: string): string => d.berth(['image', 'inspect', '-f', '{{.Id}}', ref]).stdout.trim();

test('history: one line per layer, newest first, ids of the images along the way', () => {
  assert.equal(d.berth(['run', '--name', 'h1', 'busybox', 'sh', '-c', 'head -c 30000 /dev/zero > /blob']).code, 0);
  assert.equal(d.berth(['commit', '-m', 'add a blob', 'h1', 'hist:1']).code, 0);
  const h = d.berth(['history', 'hist:1']);
  assert.equal(h.code, 0, h.stderr);
  const lines = h.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
  assert.equal(lines.length, 3);
  assert.match(lines[1]!, new RegExp(`^${id('hist:1').slice(7, 19)}\\s+.+ ago\\s+sh -c head -c 30000 /dev/zero > /blob\\s+30kB\\s+add a blob$`));
  assert.match(lines[2]!, new RegExp(`^${id('busybox').slice(7, 19)}\\s+.*\\s+Imported from -$`));
  assert.equal(d.berth(['history', '-q', 'hist:1']).stdout, `${id('hist:1').slice(7, 19)}\n${id('busybox').slice(7, 19)}\n`);
  assert.equal(d.berth(['history', '-q', '--no-trunc', 'hist:1']).stdout.split('\n')[0], id('hist:1'));
  assert.equal(d.berth(['history', '--format', '{{.Size}}|{{.Comment}}', '--human=false', 'hist:1']).stdout.split('\n')[0], '30000|add a blob');
  assert.match(d.berth(['history', 'nosuch']).stderr, /No such image: nosuch:latest/);
  if (hasDockerCli()) assert.equal(d.docker(['history', '-q', 'hist:1']).stdout, d.berth(['history', '-q', 'hist:1']).stdout);
  d.berth(['rm', 'h1']);
});

test('image prune: dangling only by default, -a keeps what containers use, filters', () => {
  const ran = d.berth(['run', '--name', 'p1', 'busybox', 'true']);
  assert.equal(ran.code, 0, `${ran.stdout}\n${ran.stderr}`);
  const dangling = d.berth(['commit', 'p1']).stdout.trim();
  assert.equal(d.berth(['commit', '-c', 'LABEL keep=yes', 'p1', 'labelled:1']).code, 0);
  assert.equal(d.berth(['commit', 'p1', 'plain:1']).code, 0);
  const r = d.berth(['image', 'prune', '-f']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Deleted Images:\ndeleted: ${dangling}\n\nTotal reclaimed space: `));
  assert.equal(d.berth(['image', 'inspect', dangling]).code, 1);
  // Nothing dangling left: nothing to do.
  assert.equal(d.berth(['image', 'prune', '-f']).stdout, 'Total reclaimed space: 0B\n');
  // -a with a label filter: only unlabelled unused images go; busybox stays (p1 uses it).
  const all = d.berth(['image', 'prune', '-a', '-f', '--filter', 'label!=keep']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /untagged: plain:1\ndeleted: sha256:[a-f0-9]{64}\n/);
  assert.doesNotMatch(all.stdout, /busybox|labelled/);
  assert.equal(d.berth(['image', 'inspect', 'labelled:1']).code, 0);
  assert.equal(d.berth(['image', 'inspect', 'busybox']).code, 0);
  assert.match(d.berth(['image', 'prune', '-f', '--filter', 'bogus=1']).stderr, /invalid filter 'bogus'/);
  // Without -f, a "no" answer changes nothing.
  const asked = d.berth(['image', 'prune', '-a'], { input: 'n\n' });
  assert.match(asked.stdout, /WARNING! This will remove all images without at least one container associated to them\.\nAre you sure you want to continue\? \[y\/N\] $/);
  assert.equal(d.berth(['image', 'inspect', 'labelled:1']).code, 0);
  d.berth(['rm', 'p1']);
});

test('images REPOSITORY and --filter reference: only the names that match are listed, a registry port is no tag', () => {
  for (const t of ['mytag:1', 'mytag:2', 'localhost:5000/team/app:1.0']) assert.equal(d.berth(['tag', 'busybox', t]).code, 0);
  try {
    const rows = (args: string[]): string => d.berth(['images', ...args, '--format', '{{.Repository}}:{{.Tag}}']).stdout.split('\n').filter(Boolean).sort().join(' ');
    assert.equal(rows(['mytag']), 'mytag:1 mytag:2');
    assert.equal(rows(['mytag:2']), 'mytag:2');
    assert.equal(rows(['--filter', 'reference=mytag:*']), 'mytag:1 mytag:2');
    assert.equal(rows(['--filter', 'reference=busy*']), 'busybox:latest');
    assert.equal(rows(['--filter', 'reference=localhost:5000/team/app']), 'localhost:5000/team/app:1.0');
    assert.equal(rows(['--filter', 'reference=*/team/*:1.0']), 'localhost:5000/team/app:1.0');
    assert.equal(rows(['--filter', 'reference=team/*']), '', 'the registry is part of the name');
    assert.equal(rows(['--filter', 'reference=nomatch']), '');
    if (hasDockerCli()) {
      const docker = d.docker(['images', 'mytag', '--format', '{{.Repository}}:{{.Tag}}']).stdout.split('\n').filter(Boolean).sort().join(' ');
      assert.equal(docker, 'mytag:1 mytag:2');
    }
  } finally {
    d.berth(['rmi', 'mytag:1', 'mytag:2', 'localhost:5000/team/app:1.0']);
  }
});
