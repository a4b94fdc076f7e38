// The in-process packer of small uppers must mean exactly what GNU tar's
// archive means: the same members, in the same order, with the same
// metadata and contents. Runs as root (mknod, chown, trusted xattrs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, linkSync, lutimesSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { packSmallUpper, SMALL_UPPER_BYTES, SMALL_UPPER_ENTRIES } from '../../../src/image/small-upper.js';
import { packWithGnuTar } from '../../../src/image/layer-diff.js';
import { syscallServer } from '../../../src/lib/syscall-server.js';
import { tempDir } from '../../helpers/tmp.js';

interface Member { name: string; type: string; mode: number; uid: number; gid: number; mtime: number; size: number; linkname: string; dev: string; body: string }

async function members(stream: Readable): Promise<Member[]> {
  const ex = tarStream.extract();
  const out: Member[] = [];
  ex.on('entry', (h, s, next) => {
    const hash = createHash('sha256');
    s.on("data", (d: unknown) => { hash.update(d as Buffer); });
    s.on('end', () => {
      out.push({
        // GNU tar's hard link sizes are 0 as ours; a directory's name ends in `/` in both.
        name: h.name, type: h.type ?? 'file', mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0,
        mtime: h.mtime ? h.mtime.getTime() : 0, size: h.size ?? 0, linkname: h.linkname ?? '',
        dev: h.type === 'character-device' || h.type === 'block-device' ? `${h.devmajor}:${h.devminor}` : '',
        body: hash.digest('hex'),
      });
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => { ex.on('finish', resolve); ex.on('error', reject); });
  stream.pipe(ex as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

/** An upper with every kind of member an overlay upper can hold. */
function richUpper(): string {
  const u = tempDir('berth-small-upper-');
  mkdirSync(join(u, 'etc'));
  writeFileSync(join(u, 'etc/app.conf'), 'conf');
  symlinkSync('app.conf', join(u, 'etc/link'));
  symlinkSync('/'.padEnd(150, 'x'), join(u, 'etc/long-link'));
  linkSync(join(u, 'etc/app.conf'), join(u, 'etc/hard'));
  execFileSync('mknod', [join(u, 'etc/passwd'), 'c', '0', '0']);
  execFileSync('mknod', [join(u, 'null'), 'c', '1', '3']);
  execFileSync('mknod', [join(u, 'loop9'), 'b', '7', '300']);
  execFileSync('mkfifo', [join(u, 'pipe')]);
  mkdirSync(join(u, 'cache'));
  writeFileSync(join(u, 'cache/new'), 'n');
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(u, 'cache')]);
  writeFileSync(join(u, 'etc/hosts'), 'excluded');
  mkdirSync(join(u, 'run/secrets'), { recursive: true });
  writeFileSync(join(u, 'run/secrets/token'), 'excluded with its directory');
  const long = 'd'.repeat(120);
  mkdirSync(join(u, long));
  writeFileSync(join(u, long, 'f'.repeat(110)), 'long name');
  writeFileSync(join(u, 'naïve café'), 'utf-8');
  writeFileSync(join(u, '-rf'), 'dash');
  writeFileSync(join(u, 'B-upper'), 'sorted by bytes: before a-lower');
  writeFileSync(join(u, 'a-lower'), Buffer.alloc(70_000, 7));
  writeFileSync(join(u, 'setuid'), '#!/bin/sh\n');
  chmodSync(join(u, 'setuid'), 0o4755);
  mkdirSync(join(u, 'tmp'));
  chmodSync(join(u, 'tmp'), 0o1777);
  writeFileSync(join(u, 'owned'), 'owned');
  chownSync(join(u, 'owned'), 1234, 5678);
  lutimesSync(join(u, 'etc/link'), new Date(1_000_000_000_500), new Date(1_000_000_000_500));
  utimesSync(join(u, 'owned'), new Date(1_600_000_000_900), new Date(1_600_000_000_900));
  return u;
}

test('a small upper packed in-process lists the same members as GNU tar, metadata and contents alike', async () => {
  const u = richUpper();
  const opts = { exclude: new Set(['/etc/hosts', '/run/secrets']) };
  const ours = await packSmallUpper(u, opts);
  assert.ok(ours, 'small enough, and no capabilities');
  const mine = await members(ours);
  const gnu = await members(packWithGnuTar(u, opts));
  assert.deepEqual(mine, gnu);
  const names = mine.map((m) => m.name);
  assert.ok(names.includes('cache/.wh..wh..opq') && names.includes('etc/.wh.passwd'), 'whiteouts as OCI entries');
  assert.ok(!names.some((n) => n.startsWith('run/secrets/') || n === 'etc/hosts'), 'excluded paths stay out');
  assert.ok(names.includes('run/'), 'the parent of an excluded directory stays');
  assert.equal(mine.find((m) => m.name === 'etc/hard')?.type, 'link');
  // SOURCE_DATE_EPOCH clamps every mtime, as GNU tar's --clamp-mtime.
  const clamped = { ...opts, clampMtime: 1_500_000_000 };
  assert.deepEqual(await members((await packSmallUpper(u, clamped))!), await members(packWithGnuTar(u, clamped)));
});

test('an empty upper is two zero blocks, as Docker\'s empty layer', async () => {
  const chunks: Buffer[] = [];
  for await (const c of (await packSmallUpper(tempDir('berth-small-empty-')))!) chunks.push(c as Buffer);
  assert.deepEqual(Buffer.concat(chunks), Buffer.alloc(1024));
});

test('left to GNU tar: a file capability, too many entries, too many bytes', async () => {
  const caps = tempDir('berth-small-caps-');
  mkdirSync(join(caps, 'bin'));
  writeFileSync(join(caps, 'bin/ping'), 'x');
  // cap_net_raw+ep, as `setcap cap_net_raw+ep` writes it
  execFileSync('setfattr', ['-n', 'security.capability', '-v', '0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=', join(caps, 'bin/ping')]);
  assert.equal(await packSmallUpper(caps), undefined);
  const scan = await syscallServer()!.scanXattrs(caps, 10);
  assert.deepEqual(scan, { capabilities: true, opaque: new Set() });

  const many = tempDir('berth-small-many-');
  for (let i = 0; i <= SMALL_UPPER_ENTRIES; i++) writeFileSync(join(many, `f${i}`), '');
  assert.equal(await packSmallUpper(many), undefined);
  assert.equal(await syscallServer()!.scanXattrs(many, SMALL_UPPER_ENTRIES), undefined);

  const big = tempDir('berth-small-big-');
  writeFileSync(join(big, 'blob'), Buffer.alloc(SMALL_UPPER_BYTES + 1));
  assert.equal(await packSmallUpper(big), undefined);
});

test('the xattr scan finds opaque directories at any depth, the root too, and not a directory marked otherwise', async () => {
  const u = tempDir('berth-small-opaque-');
  mkdirSync(join(u, 'a/b c/d'), { recursive: true });
  mkdirSync(join(u, 'other'));
  for (const d of ['', 'a/b c', 'a/b c/d']) execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(u, d)]);
  execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'n', join(u, 'other')]);
  const scan = await syscallServer()!.scanXattrs(u, 100);
  assert.deepEqual(scan, { capabilities: false, opaque: new Set(['', 'a/b c', 'a/b c/d']) });
  const names = (await members((await packSmallUpper(u))!)).map((m) => m.name);
  assert.deepEqual(names, ['.wh..wh..opq', 'a/', 'a/b c/', 'a/b c/.wh..wh..opq', 'a/b c/d/', 'a/b c/d/.wh..wh..opq', 'other/']);
  await assert.rejects(syscallServer()!.scanXattrs(join(u, 'missing'), 100), /No such file/);
});
