// save and load with real images: Berth's own archives, archives other tools
// write (skopeo's docker-archive and oci-archive), and broken ones.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { daemonWithBusybox, hasDockerCli } from './harness.js';
import { makeTar } from '../helpers/tar.js';

const d = daemonWithBusybox();
let work = '';
let ready = false;
/** Top-level before hooks of one file may run before the daemon's own start hook, so tests call this. */
function setup(): void {
  if (ready) return;
  ready = true;
  work = mkdtempSync('/tmp/bt-save-');
  // An image with two layers and a deletion, to see whiteouts survive the trip.
  const mk = d.berth(['run', '--name', 'mk', 'busybox', 'sh', '-c', 'rm /etc/group; echo two > /two']);
  assert.equal(mk.code, 0, mk.stderr);
  assert.equal(d.berth(['commit', '-c', 'CMD ["cat", "/two"]', 'mk', 'two:layers']).code, 0);
  d.berth(['rm', 'mk']);
}
after(() => { if (work) rmSync(work, { recursive: true, force: true }); });

const imageId = (ref: string): string => d.berth(['image', 'inspect', '-f', '{{.Id}}', ref]).stdout.trim();
const layerCount = (): number => readdirSync(join(d.dataRoot, 'layers')).filter((f) => /^[a-f0-9]{64}$/.test(f)).length;
const tarList = (file: string): string[] => execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);

test('save writes an OCI layout with Docker\'s manifest.json; load brings the same images back', () => {
  setup();
  const file = join(work, 'both.tar');
  const ids = { busybox: imageId('busybox'), two: imageId('two:layers') };
  const r = d.berth(['save', '-o', file, 'busybox', 'two:layers']);
  assert.equal(r.code, 0, r.stderr);
  const names = tarList(file);
  for (const n of ['index.json', 'manifest.json', 'oci-layout', 'repositories', `blobs/sha256/${ids.two.slice(7)}`]) assert.ok(names.includes(n), n);
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', file, 'manifest.json'], { encoding: 'utf8' })) as { RepoTags: string[]; Layers: string[] }[];
  assert.deepEqual(manifest.map((m) => m.RepoTags), [['busybox:latest'], ['two:layers']]);
  assert.equal(manifest[1]!.Layers.length, 2);
  // Remove both, then load them back: same ids, and the image still runs with its deletion intact.
  assert.equal(d.berth(['rmi', 'two:layers', 'busybox']).code, 0);
  assert.equal(layerCount(), 0);
  const l = d.berth(['load', '-i', file]);
  assert.equal(l.code, 0, l.stderr);
  assert.equal(l.stdout, 'Loaded image: busybox:latest\nLoaded image: two:layers\n');
  assert.equal(imageId('busybox'), ids.busybox);
  assert.equal(imageId('two:layers'), ids.two);
  assert.equal(d.berth(['run', '--rm', 'two:layers']).stdout, 'two\n');
  assert.match(d.berth(['run', '--rm', 'two:layers', 'ls', '/etc/group']).stderr, /No such file/);
  // Loading again is harmless; through stdin and quietly too.
  const again = d.berth(['load', '-q'], { input: readFileSync(file) });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, 'Loaded image: busybox:latest\nLoaded image: two:layers\n');
});

test('save by id writes no tag; load says "Loaded image ID"; a moved tag is reported', () => {
  setup();
  const file = join(work, 'byid.tar');
  const id = imageId('two:layers');
  assert.equal(d.berth(['save', '-o', file, id.slice(7, 19)]).code, 0);
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', file, 'manifest.json'], { encoding: 'utf8' })) as { RepoTags: string[] }[];
  assert.deepEqual(manifest[0]!.RepoTags, []);
  assert.equal(d.berth(['load', '-i', file]).stdout, `Loaded image ID: ${id}\n`);
  // Point busybox:latest at another image, then load the original busybox: the tag moves back with a notice.
  const bb = join(work, 'bb.tar');
  assert.equal(d.berth(['save', '-o', bb, 'busybox']).code, 0);
  assert.equal(d.berth(['tag', 'two:layers', 'busybox:latest']).code, 0);
  const l = d.berth(['load', '-i', bb]);
  assert.equal(l.stdout, `The image busybox:latest already exists, renaming the old one with ID ${id} to empty string\nLoaded image: busybox:latest\n`);
});

test('archives written by skopeo load: docker-archive (old layout) and oci-archive', () => {
  setup();
  const ours = join(work, 'ours.tar');
  assert.equal(d.berth(['save', '-o', ours, 'two:layers']).code, 0);
  const legacy = join(work, 'legacy.tar');
  const oci = join(work, 'oci.tar');
  execFileSync('skopeo', ['copy', '-q', `docker-archive:${ours}`, `docker-archive:${legacy}:skopeo/legacy:1`]);
  execFileSync('skopeo', ['copy', '-q', `docker-archive:${ours}`, `oci-archive:${oci}:v2`]);
  assert.ok(!tarList(legacy).includes('index.json'));
  const a = d.berth(['load', '-i', legacy]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, 'Loaded image: skopeo/legacy:1\n');
  assert.equal(d.berth(['run', '--rm', 'skopeo/legacy:1']).stdout, 'two\n');
  const b = d.berth(['load', '-i', oci]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /^Loaded image ID: sha256:[a-f0-9]{64}\n$/);
  assert.equal(d.berth(['run', '--rm', b.stdout.trim().split(' ').pop()!]).stdout, 'two\n');
});

test('bad archives: not a tar, no manifest, a tampered layer, a missing layer — clear errors, nothing left behind', async () => {
  setup();
  const layersBefore = layerCount();
  const imagesBefore = d.berth(['images', '-q', '-a']).stdout;
  const garbage = d.berth(['load'], { input: Buffer.from('definitely not a tar archive\n'.repeat(40)) });
  assert.equal(garbage.code, 1);
  assert.match(garbage.stderr, /Error response from daemon: invalid (tar )?archive/);
  const empty = d.berth(['load'], { input: await makeTar([{ name: 'hello.txt', body: 'hi' }]) });
  assert.match(empty.stderr, /neither manifest.json nor index.json/);
  // A layer whose content does not match the config's diff id.
  const bad = await makeTar([{ name: 'evil', body: 'swapped' }]);
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${'1'.repeat(64)}`] } });
  const tampered = await makeTar([
    { name: 'manifest.json', body: JSON.stringify([{ Config: 'c.json', RepoTags: ['tampered:1'], Layers: ['l/layer.tar'] }]) },
    { name: 'c.json', body: config },
    { name: 'l/layer.tar', body: gzipSync(bad).toString('latin1') },
  ]);
  const t = d.berth(['load'], { input: tampered });
  assert.equal(t.code, 1);
  assert.match(t.stderr, /diff id mismatch|invalid/);
  const missing = await makeTar([
    { name: 'manifest.json', body: JSON.stringify([{ Config: 'c.json', RepoTags: ['missing:1'], Layers: ['nope/layer.tar'] }]) },
    { name: 'c.json', body: config },
  ]);
  assert.match(d.berth(['load'], { input: missing }).stderr, /layer nope\/layer.tar is missing/);
  const escape = await makeTar([{ name: '../../etc/x', body: 'x' }]);
  assert.match(d.berth(['load'], { input: escape }).stderr, /escapes the archive/);
  // A truncated archive of a real image.
  const ours = join(work, 'ours.tar');
  const cut = readFileSync(ours).subarray(0, 3000);
  assert.equal(d.berth(['load'], { input: cut }).code, 1);
  assert.equal(layerCount(), layersBefore);
  assert.equal(d.berth(['images', '-q', '-a']).stdout, imagesBefore);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'content', 'ingest')), [], 'no temporary files left');
});

test('save errors: unknown image fails before writing, a terminal is refused', () => {
  setup();
  const file = join(work, 'never.tar');
  const r = d.berth(['save', '-o', file, 'busybox', 'nosuch:9']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /No such image: nosuch:9/);
  assert.ok(!existsSync(file));
  assert.ok(readdirSync(work).every((f) => !f.startsWith('never')));
});

test('docker CLI: save | load', { skip: !hasDockerCli() }, () => {
  setup();
  const file = join(work, 'docker.tar');
  assert.equal(d.docker(['save', '-o', file, 'two:layers']).code, 0);
  const l = d.docker(['load', '-i', file]);
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, /Loaded image: two:layers/);
  writeFileSync(join(work, 'x'), '');
});
