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
// 256 KiB of memory for a context: small contexts fit, the big one below does not.
writeFileSync(join(d.dir, 'daemon.json'), JSON.stringify({ 'build-context-memory': 256 * 1024 }));
const ctx = mkdtempSync('/tmp/bt-bstore-');
after(() => rmSync(ctx, { recursive: true, force: true }));

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const buildTmp = (): string[] => (existsSync(join(d.dataRoot, 'build', 'tmp')) ? readdirSync(join(d.dataRoot, 'build', 'tmp')) : []);
const buildMounts = (): string[] => d.mounts().filter((l) => l.includes(join(d.dataRoot, 'build')));

test('a small context is read from memory, a big one from disk; both build the same and leave nothing behind', () => {
  for (const [name, bytes, fsType] of [['small', 1000, 'tmpfs'], ['big', 3 * 1024 * 1024, 'ext2/ext3']] as const) {
    const dir = join(ctx, name);
    mkdirSync(join(dir, 'data'), { recursive: true });
    const blob = randomBytes(bytes);
    writeFileSync(join(dir, 'data/blob'), blob);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY data/ /data/\nRUN --mount=type=bind,target=/ctx stat -f -c %T /ctx > /fstype\n');
    const r = d.berth(['build', '-q', '-t', `ctx-${name}`, dir]);
    assert.equal(r.code, 0, r.stderr);
    const out = d.berth(['run', '--rm', `ctx-${name}`, 'sh', '-c', 'cat /fstype; wc -c < /data/blob; md5sum /data/blob']).stdout.split('\n');
    const seenFs = out[0]!;
    // Where the disk is not ext4 (CI machines vary), it is at least not tmpfs.
    if (fsType === 'tmpfs') assert.equal(seenFs, 'tmpfs');
    else assert.notEqual(seenFs, 'tmpfs');
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
