// commit against real containers: the new layer really adds, changes and
// deletes (whiteouts through stacked overlays), config changes stick, and
// bad requests change nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { daemonWithBusybox, hasDockerCli } from './harness.js';

const d = daemonWithBusybox();

const inspect = (name: string): Record<string, unknown> => (JSON.parse(d.berth(['image', 'inspect', name]).stdout) as Record<string, unknown>[])[0]!;

test('commit makes a layer with additions, changes and deletions that a new container sees', () => {
  const r = d.berth(['run', '--name', 'src1', '-v', '/avol', 'busybox', 'sh', '-c',
    'echo new > /added; rm /etc/group; echo extra >> /etc/passwd; mkdir -p /opt/d; echo f > /opt/d/f']);
  assert.equal(r.code, 0, r.stderr);
  const c = d.berth(['commit', '-m', 'first commit', '-a', 'Jo <jo@example.com>', '-c', 'ENV STAGE=one', '-c', 'CMD ["cat", "/added"]', 'src1', 'snap:1']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /^sha256:[a-f0-9]{64}\n$/);
  const img = inspect('snap:1');
  assert.equal(img.Id, c.stdout.trim());
  assert.equal(img.Parent, inspect('busybox').Id);
  assert.equal(img.Comment, 'first commit');
  assert.equal(img.Author, 'Jo <jo@example.com>');
  assert.equal((img.RootFS as { Layers: string[] }).Layers.length, 2);
  const cfg = img.Config as { Cmd: string[]; Env: string[] };
  assert.deepEqual(cfg.Cmd, ['cat', '/added']);
  assert.ok(cfg.Env.includes('STAGE=one'));
  assert.equal(d.berth(['run', '--rm', 'snap:1']).stdout, 'new\n');
  const seen = d.berth(['run', '--rm', 'snap:1', 'sh', '-c', 'ls /etc/group 2>&1; tail -1 /etc/passwd; cat /opt/d/f; echo $STAGE']);
  assert.match(seen.stdout, /No such file or directory\nextra\nf\none\n$/);
  // Berth's own mount points and the volume never land in the layer.
  const upper = (img.GraphDriver as { Data: { UpperDir: string } }).Data.UpperDir;
  assert.ok(existsSync(join(upper, 'added')));
  assert.ok(!existsSync(join(upper, 'etc/hosts')) && !existsSync(join(upper, 'etc/resolv.conf')) && !existsSync(join(upper, 'avol')));
});

test('a second generation: deleting a committed directory and replacing it makes an opaque directory', () => {
  assert.equal(d.berth(['run', '--name', 'src2', 'snap:1', 'sh', '-c', 'rm -rf /opt/d && mkdir /opt/d && echo g > /opt/d/g']).code, 0);
  // As Docker's overlay diff: the replaced directory is deleted, then its new content added.
  assert.equal(d.berth(['diff', 'src2']).stdout, 'C /opt\nD /opt/d\nA /opt/d/g\n');
  assert.equal(d.berth(['commit', 'src2', 'snap:2']).code, 0);
  assert.equal(d.berth(['run', '--rm', 'snap:2', 'ls', '/opt/d']).stdout, 'g\n');
  assert.equal((inspect('snap:2').RootFS as { Layers: string[] }).Layers.length, 3);
  // The image keeps snap:1's config, which came through the container.
  assert.deepEqual((inspect('snap:2').Config as { Cmd: string[] }).Cmd, ['sh', '-c', 'rm -rf /opt/d && mkdir /opt/d && echo g > /opt/d/g']);
});

test('commit of a running container pauses it only while reading, and keeps it running', () => {
  assert.equal(d.berth(['run', '-d', '--name', 'live', 'busybox', 'sh', '-c', 'echo live > /state; exec sleep 1000']).code, 0);
  for (let i = 0; i < 50 && d.berth(['exec', 'live', 'cat', '/state']).code !== 0; i++) { /* wait for the write */ }
  const lc = d.berth(['commit', 'live', 'live:snap']);
  assert.equal(lc.code, 0, lc.stderr);
  assert.equal(d.berth(['inspect', '-f', '{{.State.Status}}', 'live']).stdout, 'running\n');
  const np = d.berth(['commit', '--pause=false', 'live']);
  assert.equal(np.code, 0, np.stderr);
  assert.equal(d.berth(['run', '--rm', 'live:snap', 'cat', '/state']).stdout, 'live\n');
  d.berth(['rm', '-f', 'live']);
});

test('commit errors: unknown container, invalid name; nothing is created', () => {
  const before = d.berth(['images', '-q', '-a']).stdout;
  const missing = d.berth(['commit', 'nosuch', 'x:1']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No such container: nosuch/);
  const bad = d.berth(['commit', 'src1', 'Bad Name']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /invalid reference format/);
  assert.equal(d.berth(['images', '-q', '-a']).stdout, before);
});

test('rmi of a base image with children is refused by id and only untags by name; removing the child prunes untagged parents', () => {
  const base = inspect('snap:1').Id as string;
  const byId = d.berth(['rmi', base]);
  assert.match(byId.stderr, /unable to delete [a-f0-9]{12} \(cannot be forced\) - image has dependent child images/);
  d.berth(['rm', '-f', 'src1', 'src2']);
  assert.equal(d.berth(['rmi', 'snap:1']).stdout, 'Untagged: snap:1\n');
  const rm2 = d.berth(['rmi', 'snap:2']);
  assert.equal(rm2.code, 0, rm2.stderr);
  assert.match(rm2.stdout, new RegExp(`Deleted: ${base}`), 'the untagged parent went with its child');
  assert.equal(d.berth(['image', 'inspect', base]).code, 1);
});

test('docker CLI: commit with changes', { skip: !hasDockerCli() }, () => {
  assert.equal(d.berth(['run', '--name', 'dk', 'busybox', 'sh', '-c', 'echo dk > /dk']).code, 0);
  const r = d.docker(['commit', '-c', 'WORKDIR /tmp', '-c', 'LABEL team=blue', 'dk', 'dkimg:v1']);
  assert.equal(r.code, 0, r.stderr);
  const img = inspect('dkimg:v1');
  assert.equal((img.Config as { WorkingDir: string }).WorkingDir, '/tmp');
  assert.deepEqual((img.Config as { Labels: Record<string, string> }).Labels, { team: 'blue' });
  assert.equal(d.docker(['run', '--rm', 'dkimg:v1', 'cat', '/dk']).stdout, 'dk\n');
  d.berth(['rm', '-f', 'dk']);
});

test('a file capability (setcap) is kept in the committed layer, its saved tar and the next container', () => {
  assert.equal(d.berth(['run', '--name', 'capsrc', 'busybox', 'sh', '-c', 'cp /bin/busybox /pinger; echo plain > /plain']).code, 0);
  const id = d.berth(['inspect', '-f', '{{.Id}}', 'capsrc']).stdout.trim();
  const set = spawnSync('setcap', ['cap_net_raw+ep', join(d.dataRoot, 'containers', id, 'upper', 'pinger')], { encoding: 'utf8' });
  assert.equal(set.status, 0, set.stderr);
  assert.equal(d.berth(['commit', 'capsrc', 'capimg:1']).code, 0);

  // The layer as it travels (save, push): a pax record for that file only.
  const work = mkdtempSync(join(tmpdir(), 'berth-cap-'));
  try {
    assert.equal(d.berth(['save', '-o', join(work, 'img.tar'), 'capimg:1']).code, 0);
    execFileSync('tar', ['-x', '-f', join(work, 'img.tar'), '-C', work]);
    const manifest = JSON.parse(readFileSync(join(work, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
    const top = join(work, manifest[0]!.Layers.at(-1)!);
    const listing = execFileSync('tar', ['-t', '-v', '--xattrs', '-f', top], { encoding: 'utf8' });
    assert.match(listing, /pinger/);
    mkdirSync(join(work, 'layer'));
    execFileSync('tar', ['-x', '-p', '--xattrs', '--xattrs-include=*', '-f', top, '-C', join(work, 'layer')]);
    assert.match(execFileSync('getcap', [join(work, 'layer', 'pinger')], { encoding: 'utf8' }), /cap_net_raw[=+]ep/);
    assert.equal(execFileSync('getcap', [join(work, 'layer', 'plain')], { encoding: 'utf8' }).trim(), '');
    // Only the file with a capability gets an extended header (no times, no pid: reproducible).
    const blob = readFileSync(top);
    const raw = (blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob).toString('latin1');
    assert.equal(raw.match(/SCHILY\.xattr\.security\.capability=/g)?.length, 1);
    assert.doesNotMatch(raw, /\d+ (atime|ctime)=/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  // A container of the new image runs the file with its capability.
  assert.equal(d.berth(['run', '-d', '--name', 'capuse', 'capimg:1', 'sleep', '100']).code, 0);
  const pid = d.berth(['inspect', '-f', '{{.State.Pid}}', 'capuse']).stdout.trim();
  assert.match(execFileSync('getcap', [`/proc/${pid}/root/pinger`], { encoding: 'utf8' }), /cap_net_raw[=+]ep/);
  d.berth(['rm', '-f', 'capuse', 'capsrc']);
});
