// save and load with real images: Berth's own archives, archives other tools
// write (skopeo's docker-archive and oci-archive), and broken ones.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
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
  // The same uncompressed (as docker save writes layers): its digest is what must match.
  const plainTampered = await makeTar([
    { name: 'manifest.json', body: JSON.stringify([{ Config: 'c.json', RepoTags: ['tampered:2'], Layers: ['l/layer.tar'] }]) },
    { name: 'c.json', body: config },
    { name: 'l/layer.tar', body: bad.toString('latin1') },
  ]);
  const pt = d.berth(['load'], { input: plainTampered });
  assert.equal(pt.code, 1);
  assert.match(pt.stderr, /diff id mismatch/);
  // A gzip layer cut short (real gzip bytes this time): refused as such, nothing kept.
  const cutGzip = await makeTar([
    { name: 'manifest.json', body: JSON.stringify([{ Config: 'c.json', RepoTags: ['tampered:3'], Layers: ['l/layer.tar.gz'] }]) },
    { name: 'c.json', body: config },
    { name: 'l/layer.tar.gz', body: gzipSync(Buffer.concat([bad, randomBytes(2_000_000)])).subarray(0, 1_500_000) },
  ]);
  const cg = d.berth(['load'], { input: cutGzip });
  assert.equal(cg.code, 1);
  assert.match(cg.stderr, /invalid gzip data: unexpected end of file/);
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

test('an uncompressed layer loads with its digest as its diff id, and its files are whole', async () => {
  const layer = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/greeting', body: 'plain layer\n' }]);
  const diffId = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['x'] }, rootfs: { type: 'layers', diff_ids: [diffId] } });
  const archive = await makeTar([
    { name: 'manifest.json', body: JSON.stringify([{ Config: 'c.json', RepoTags: ['plain:1'], Layers: ['l/layer.tar'] }]) },
    { name: 'c.json', body: config },
    { name: 'l/layer.tar', body: layer.toString('latin1') },
  ]);
  const r = d.berth(['load'], { input: archive });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(d.berth(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'plain:1']).stdout.trim(), JSON.stringify([diffId]));
  assert.equal(d.berth(['create', '--name', 'plainc', 'plain:1']).code, 0);
  const out = join(work, 'greeting');
  assert.equal(d.berth(['cp', 'plainc:/etc/greeting', out]).code, 0);
  assert.equal(readFileSync(out, 'utf8'), 'plain layer\n');
  d.berth(['rm', 'plainc']);
  d.berth(['rmi', 'plain:1']);
});

test('gzip and zstd layers of an archive load whole, small ones and big ones (inflated while the archive arrives)', async () => {
  setup();
  const big = randomBytes(3_000_000).toString('base64');
  for (const [tag, kind] of [['zipped:1', 'gzip'], ['zstded:1', 'zstd']] as const) {
    const layers = await Promise.all([
      makeTar([{ name: 'small', body: `${kind} small\n` }]),
      makeTar([{ name: 'big', body: big }]),
    ]);
    const packed = layers.map((l) => (kind === 'gzip' ? gzipSync(l) : execFileSync('zstd', ['-c', '-q'], { input: l, maxBuffer: 64 << 20 })));
    const diffIds = layers.map((l) => `sha256:${createHash('sha256').update(l).digest('hex')}`);
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['x'] }, rootfs: { type: 'layers', diff_ids: diffIds } });
    const archive = await makeTar([
      { name: 'manifest.json', body: JSON.stringify([{ Config: 'c.json', RepoTags: [tag], Layers: ['a/layer', 'b/layer'] }]) },
      { name: 'c.json', body: config },
      { name: 'a/layer', body: packed[0]! },
      { name: 'b/layer', body: packed[1]! },
    ]);
    const r = d.berth(['load'], { input: archive });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(d.berth(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', tag]).stdout.trim(), JSON.stringify(diffIds));
    assert.equal(d.berth(['create', '--name', 'packed', tag]).code, 0);
    for (const [file, want] of [['small', `${kind} small\n`], ['big', big]] as const) {
      const out = join(work, `${kind}-${file}`);
      assert.equal(d.berth(['cp', `packed:/${file}`, out]).code, 0);
      assert.equal(readFileSync(out, 'utf8'), want, `${kind} ${file}`);
    }
    d.berth(['rm', 'packed']);
    d.berth(['rmi', tag]);
  }
});

test('load -i and import of a missing file or of a directory fail before anything is sent, in Go\'s words', () => {
  setup();
  for (const args of [['load', '-i'], ['import']]) {
    const missing = d.berth([...args, join(work, 'no-such.tar')]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), `open ${join(work, 'no-such.tar')}: no such file or directory`);
    const dir = d.berth([...args, work]);
    assert.equal(dir.code, 1);
    assert.equal(dir.stderr.trim(), `read ${work}: is a directory`);
  }
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

test('multi-platform OCI archives: load takes this machine\'s platform (not the first), --platform another; save --platform checks', () => {
  setup();
  const dir = mkdtempSync(join(work, 'multi-'));
  const layout = join(dir, 'layout');
  const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
  const blob = (content: Buffer | string): { digest: string; size: number } => {
    const hex = sha(content);
    writeFileSync(join(layout, 'blobs', 'sha256', hex), content);
    return { digest: `sha256:${hex}`, size: Buffer.byteLength(content) };
  };
  // Two images, each saved by Berth; their blobs go into one layout.
  const images: Record<string, { config: Record<string, unknown>; manifest: { layers: unknown[] } }> = {};
  for (const arch of ['amd64', 'arm64']) {
    assert.equal(d.berth(['run', '--name', `plat-${arch}`, 'busybox', 'sh', '-c', `echo ${arch} > /which`]).code, 0);
    assert.equal(d.berth(['commit', `plat-${arch}`, `plat-${arch}:1`]).code, 0);
    d.berth(['rm', `plat-${arch}`]);
    const x = join(dir, arch);
    execFileSync('mkdir', ['-p', x]);
    assert.equal(d.berth(['save', '-o', join(x, 'img.tar'), `plat-${arch}:1`]).code, 0);
    execFileSync('tar', ['-xf', join(x, 'img.tar'), '-C', x]);
    execFileSync('mkdir', ['-p', join(layout, 'blobs', 'sha256')]);
    execFileSync('sh', ['-c', `cp ${x}/blobs/sha256/* ${layout}/blobs/sha256/`]);
    const top = (JSON.parse(readFileSync(join(x, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }).manifests[0]!;
    const manifest = JSON.parse(readFileSync(join(x, 'blobs', 'sha256', top.digest.slice(7)), 'utf8')) as { config: { digest: string }; layers: unknown[] };
    images[arch] = { config: JSON.parse(readFileSync(join(x, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8')) as Record<string, unknown>, manifest };
  }
  // The second image claims arm64; the index lists it first, as many registries' indexes do.
  const entries = ['arm64', 'amd64'].map((arch) => {
    const config = blob(JSON.stringify({ ...images[arch]!.config, architecture: arch }));
    const manifest = blob(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: images[arch]!.manifest.layers }));
    return { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, platform: { os: 'linux', architecture: arch } };
  });
  const index = blob(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }));
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...index, annotations: { 'io.containerd.image.name': 'docker.io/library/multi:1' } }] }));
  const archive = join(dir, 'multi.tar');
  execFileSync('tar', ['-cf', archive, '-C', layout, '.']);

  assert.equal(d.berth(['load', '-i', archive]).code, 0);
  assert.equal(d.berth(['run', '--rm', 'multi:1', 'cat', '/which']).stdout, 'amd64\n');
  assert.equal(d.berth(['rmi', 'multi:1']).code, 0);
  const arm = d.berth(['load', '--platform', 'linux/arm64', '-i', archive]);
  assert.equal(arm.code, 0, arm.stderr);
  assert.equal(d.berth(['image', 'inspect', '-f', '{{.Architecture}}', 'multi:1']).stdout, 'arm64\n');
  const none = d.berth(['load', '--platform', 'linux/s390x', '-i', archive]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no matching manifest for linux\/s390x/);
  // A Docker-format archive (manifest.json) of another platform is refused with --platform, loaded without.
  const bad = d.berth(['load', '--platform', 'linux/arm64', '-i', join(dir, 'amd64', 'img.tar')]);
  assert.deepEqual([bad.code, bad.stderr], [1, 'Error response from daemon: no image in the archive matches the specified platform: wanted linux/arm64\n']);
  // save --platform: the image's own platform is fine, another one is an error and writes nothing.
  assert.equal(d.berth(['save', '--platform', 'linux/amd64', '-o', join(dir, 'ok.tar'), 'plat-amd64:1']).code, 0);
  const wrong = d.berth(['save', '--platform', 'linux/arm64', '-o', join(dir, 'no.tar'), 'plat-amd64:1']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /image with reference plat-amd64:1 was found but does not match the specified platform: wanted linux\/arm64, actual: linux\/amd64/);
  assert.ok(!existsSync(join(dir, 'no.tar')));
  d.berth(['rmi', 'multi:1', 'plat-amd64:1', 'plat-arm64:1']);
});
