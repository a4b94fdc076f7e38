// Where a build's files go, and that the fast paths mean exactly what the
// careful ones do: the context on tmpfs or (when too big) on disk, COPY of a
// tree by tar with owners, modes, merges and exclusions, build steps' upper
// directories taken as layers (whiteouts included) that still save and load
// to the same files. And nothing left behind: no mount, no temporary file,
// also after a kill -9 in the middle of a build.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { daemonWithBusybox, eventually, ROOT } from './harness.js';

const d = daemonWithBusybox();
// 4 MiB of memory for a context (tmpfs takes a page per small file): the many-files one below fits, the big one does not.
writeFileSync(join(d.dir, 'daemon.json'), JSON.stringify({ 'build-context-memory': 4 * 1024 * 1024 }));
const ctx = mkdtempSync('/tmp/bt-bstore-');
after(() => rmSync(ctx, { recursive: true, force: true }));

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const buildTmp = (): string[] => (existsSync(join(d.dataRoot, 'build', 'tmp')) ? readdirSync(join(d.dataRoot, 'build', 'tmp')) : []);
const buildMounts = (): string[] => d.mounts().filter((l) => l.includes(join(d.dataRoot, 'build')));
/** More entries than berthd unpacks itself: such a context goes through GNU tar. */
const addFiller = (dir: string): void => {
  mkdirSync(join(dir, 'fill'), { recursive: true });
  for (let i = 0; i < 300; i++) writeFileSync(join(dir, 'fill', `f${i}`), `${i}`);
};

test('a small context is unpacked by berthd itself, one with many files on tmpfs, a big one on disk; all build the same and leave nothing behind', () => {
  for (const [name, bytes, filler, onTmpfs] of [['small', 1000, false, false], ['many', 1000, true, true], ['big', 5 * 1024 * 1024, false, false]] as const) {
    const dir = join(ctx, name);
    mkdirSync(join(dir, 'data'), { recursive: true });
    if (filler) addFiller(dir);
    const blob = randomBytes(bytes);
    writeFileSync(join(dir, 'data/blob'), blob);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY data/ /data/\nRUN --mount=type=bind,target=/ctx stat -f -c %T /ctx > /fstype\n');
    const r = d.berth(['build', '-q', '-t', `ctx-${name}`, dir]);
    assert.equal(r.code, 0, r.stderr);
    const out = d.berth(['run', '--rm', `ctx-${name}`, 'sh', '-c', 'cat /fstype; wc -c < /data/blob; md5sum /data/blob']).stdout.split('\n');
    const seenFs = out[0]!;
    // Where the disk is not ext4 (CI machines vary), it is at least not tmpfs.
    if (onTmpfs) assert.equal(seenFs, 'tmpfs', name);
    else assert.notEqual(seenFs, 'tmpfs', name);
    assert.equal(Number(out[1]), bytes);
    assert.equal(out[2]!.split(' ')[0], md5(blob));
  }
  assert.deepEqual(buildMounts(), []);
  assert.deepEqual(buildTmp(), []);
});

/** Owner, group, mode, size and name of everything under `paths`, as the container sees it. */
const listing = (image: string, paths: string): string => {
  const r = d.berth(['run', '--rm', image, 'sh', '-c', `find ${paths} | sort | while read f; do stat -c '%u:%g %a %s %F %N' "$f"; done`]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};

test('COPY of a tree: --chown, --chmod, --exclude, merged into existing directories, files replaced; RUN deletions are whiteouts; save and load give the same files', () => {
  const dir = join(ctx, 'tree');
  mkdirSync(join(dir, 'tree/keep/deeper'), { recursive: true });
  mkdirSync(join(dir, 'tree/new'), { recursive: true });
  writeFileSync(join(dir, 'tree/keep/file'), 'new content');
  writeFileSync(join(dir, 'tree/keep/deeper/x'), 'x');
  writeFileSync(join(dir, 'tree/new/a.txt'), 'a');
  writeFileSync(join(dir, 'tree/new/b.skip'), 'skipped');
  writeFileSync(join(dir, 'Dockerfile'), `FROM busybox
RUN mkdir -p /app/keep /gone/sub && echo old > /app/keep/file && echo base > /app/base && echo bye > /gone/sub/f && chown 7:7 /app/keep
RUN rm -rf /gone && rm /app/base
COPY tree/ /app/
COPY --chown=1234:5678 --chmod=640 tree/new/ /owned/
COPY --exclude=**/*.skip tree/ /filtered/
`);
  const r = d.berth(['build', '-q', '-t', 'tree-copy', dir]);
  assert.equal(r.code, 0, r.stderr);
  const before = listing('tree-copy', '/app /owned /filtered /gone');
  assert.match(before, /^0:0 644 11 regular file \/app\/keep\/file$/m, 'the file in the image was replaced');
  // A directory the context also has takes the context's owner and mode, as with Docker's classic builder.
  assert.match(before, /^0:0 755 \d+ directory \/app\/keep$/m);
  assert.doesNotMatch(before, /\/app\/base|\/gone/, 'what RUN deleted stays deleted');
  assert.match(before, /^1234:5678 640 1 regular file \/owned\/a.txt$/m);
  assert.match(before, /^1234:5678 755 \d+ directory \/owned$/m);
  assert.match(before, /\/filtered\/new\/a.txt$/m);
  assert.doesNotMatch(before, /filtered\/new\/b.skip/);
  assert.equal(d.berth(['run', '--rm', 'tree-copy', 'cat', '/app/keep/file', '/app/keep/deeper/x']).stdout, 'new contentx');
  // The layers as other engines get them: save, remove, load, same files.
  const tar = join(ctx, 'tree-copy.tar');
  assert.equal(d.berth(['save', '-o', tar, 'tree-copy']).code, 0);
  assert.equal(d.berth(['rmi', 'tree-copy']).code, 0);
  assert.equal(d.berth(['builder', 'prune', '-f']).code, 0);
  const loaded = d.berth(['load', '-i', tar]);
  assert.equal(loaded.code, 0, loaded.stderr);
  assert.equal(listing('tree-copy', '/app /owned /filtered /gone'), before);
});

test('a build killed with -9 in the middle leaves no mount and no temporary files after the restart', async () => {
  const dir = join(ctx, 'killed');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'small'), 'x');
  // On tmpfs: the mount must go too.
  addFiller(dir);
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY small /small\nRUN --mount=type=bind,target=/ctx sleep 60\n');
  const build = spawn(process.execPath, [join(ROOT, 'dist/berth.js'), '-H', `unix://${d.socket}`, 'build', '--progress=plain', '--no-cache', dir], { stdio: 'ignore' });
  const running = await eventually(() => buildMounts().some((l) => l.includes(' tmpfs ')) && d.berth(['ps', '-q']).stdout.trim() !== '', 20_000);
  assert.ok(running, 'the build reached its RUN step');
  await d.kill9();
  build.kill('SIGKILL');
  await d.start();
  assert.deepEqual(buildMounts(), []);
  assert.deepEqual(buildTmp(), []);
  // The step's container went with the build.
  assert.equal(d.berth(['ps', '-a', '-q']).stdout, '');
  assert.equal(d.berth(['run', '--rm', 'busybox', 'true']).code, 0);
});

test('SOURCE_DATE_EPOCH: two builds from scratch give the same image id; created times and file mtimes are the epoch; a bad value is refused', () => {
  const dir = join(ctx, 'epoch');
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src/app.txt'), 'app');
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nARG SOURCE_DATE_EPOCH\nENV MODE=prod\nCOPY src/ /app/\nRUN echo "built at $SOURCE_DATE_EPOCH" > /app/stamp && mkdir /app/made\nLABEL stage=final\n');
  const epoch = 1700000000;
  const ids = [0, 1].map(() => {
    const r = d.berth(['build', '-q', '--no-cache', '--build-arg', `SOURCE_DATE_EPOCH=${epoch}`, dir]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  });
  assert.equal(ids[0], ids[1], 'the same inputs and epoch give the same image');
  // From the environment, as buildx takes it, to the same image again.
  const fromEnv = d.berth(['build', '-q', '--no-cache', '-t', 'epoch', dir], { env: { SOURCE_DATE_EPOCH: String(epoch) } });
  assert.equal(fromEnv.stdout.trim(), ids[0]);
  const inspect = JSON.parse(d.berth(['image', 'inspect', 'epoch']).stdout) as { Created: string }[];
  assert.equal(inspect[0]!.Created, '2023-11-14T22:13:20Z');
  const history = d.berth(['history', '--no-trunc', '--format', '{{.CreatedAt}} {{.CreatedBy}}', 'epoch']).stdout.split('\n').filter(Boolean);
  assert.ok(history.slice(0, 5).every((l) => l.startsWith('2023-11-14T22:13:20')), history.join('\n'));
  const run = d.berth(['run', '--rm', 'epoch', 'sh', '-c', 'cat /app/stamp; stat -c %Y /app/stamp /app/made /app/app.txt /app']);
  const [stamp, ...mtimes] = run.stdout.trim().split('\n');
  assert.equal(stamp, `built at ${epoch}`);
  for (const m of mtimes) assert.ok(Number(m) <= epoch, `mtime ${m} is not after the epoch`);
  // Without the epoch the same Dockerfile makes another image (its times are now).
  const plain = d.berth(['build', '-q', '--no-cache', dir]);
  assert.notEqual(plain.stdout.trim(), ids[0]);
  const bad = d.berth(['build', '-q', '--build-arg', 'SOURCE_DATE_EPOCH=yesterday', dir]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid SOURCE_DATE_EPOCH: yesterday/);
});

test('RUN --mount=type=cache directories are the build cache of system df; builder prune empties them, but not one a running step uses', async () => {
  const dir = join(ctx, 'cachemount');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nARG N=1\nRUN --mount=type=cache,id=dl,target=/cache head -c 200000 /dev/zero > /cache/blob-$N && ls /cache > /seen\n');
  for (const n of ['1', '2']) assert.equal(d.berth(['build', '-q', '--build-arg', `N=${n}`, '-t', 'cm', dir]).code, 0);
  const row = (): string[] => d.berth(['system', 'df']).stdout.split('\n').find((l) => l.startsWith('Build Cache'))!.split(/\s{2,}/);
  const [, total, active, size] = row();
  assert.deepEqual([total, active], ['1', '0']);
  assert.match(size!, /^4\d\d(\.\d+)?kB$/, 'two blobs of 200 kB');
  const verbose = d.berth(['system', 'df', '-v']).stdout;
  assert.match(verbose, /^Build cache usage: 4\d\d(\.\d+)?kB$/m);
  assert.match(verbose, /^[a-f0-9]{12}\s+exec\.cachemount\s+4\d\d(\.\d+)?kB\s+.+ ago\s+.+ ago\s+2\s+false$/m);
  assert.equal(d.berth(['run', '--rm', 'cm', 'cat', '/seen']).stdout, 'blob-1\nblob-2\n');
  // In use by a running step: shown as active, kept by a prune.
  writeFileSync(join(dir, 'Dockerfile.slow'), 'FROM busybox\nRUN --mount=type=cache,id=dl,target=/cache sleep 5\n');
  const slow = spawn(process.execPath, [join(ROOT, 'dist/berth.js'), '-H', `unix://${d.socket}`, 'build', '-q', '--no-cache', '-f', join(dir, 'Dockerfile.slow'), dir], { stdio: 'ignore' });
  const slowDone = new Promise((r) => slow.once('exit', r));
  assert.ok(await eventually(() => row()[2] === '1', 20_000), 'the cache mount shows as active while the step runs');
  const kept = d.berth(['builder', 'prune', '-f']);
  assert.equal(kept.code, 0, kept.stderr);
  assert.doesNotMatch(kept.stdout, /^[a-f0-9]{32}$/m);
  await slowDone;
  const pruned = d.berth(['builder', 'prune', '-f']);
  assert.match(pruned.stdout, /^[a-f0-9]{32}$/m);
  assert.match(pruned.stdout, /Total reclaimed space: 4\d\d(\.\d+)?kB/);
  assert.deepEqual(row().slice(1, 4), ['0', '0', '0B']);
  assert.equal(d.berth(['build', '-q', '--no-cache', '--build-arg', 'N=3', '-t', 'cm', dir]).code, 0);
  assert.equal(d.berth(['run', '--rm', 'cm', 'cat', '/seen']).stdout, 'blob-3\n', 'the pruned cache starts empty');
});
