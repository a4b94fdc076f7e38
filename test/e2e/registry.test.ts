// push, pull and login against a real registry server (Debian's
// docker-registry), anonymous and behind a bearer-token server, with real
// interrupted downloads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, Daemon, daemonWithBusybox, hasDockerCli, eventually } from './harness.js';
import { TestRegistry, TOKEN_USER, TOKEN_PASSWORD, freePort } from '../helpers/registry.js';

const d = daemonWithBusybox();
const open = new TestRegistry();
const locked = new TestRegistry();
const basic = new TestRegistry();
const broken = new TestRegistry();
let fakePort = 0;
const dockerConfig = mkdtempSync('/tmp/bt-dcfg-');
const env = { DOCKER_CONFIG: dockerConfig };
let started = false;

async function setup(): Promise<void> {
  if (started) return;
  started = true;
  await open.start();
  await locked.start({ token: true });
  await basic.start({ htpasswd: true });
  fakePort = await broken.fake();
  const mk = d.berth(['run', '--name', 'mk', 'busybox', 'sh', '-c', 'echo payload > /payload; rm /etc/group']);
  assert.equal(mk.code, 0, mk.stderr);
  assert.equal(d.berth(['commit', '-c', 'CMD ["cat", "/payload"]', 'mk', 'app:src']).code, 0);
  d.berth(['rm', 'mk']);
}
after(async () => {
  await open.stop();
  await locked.stop();
  await basic.stop();
  await broken.stop();
  rmSync(dockerConfig, { recursive: true, force: true });
});

const berth = (args: string[], input?: string): ReturnType<typeof d.berth> => d.berth(args, { env, ...(input !== undefined ? { input } : {}) });
const inspect = (ref: string): Record<string, unknown> => (JSON.parse(berth(['image', 'inspect', ref]).stdout) as Record<string, unknown>[])[0]!;
const layerDirs = (): string[] => readdirSync(join(d.dataRoot, 'layers')).filter((f) => /^[a-f0-9]{64}$/.test(f));

test('push then pull: same image id, runs, RepoDigests, pull by digest, up to date', async () => {
  await setup();
  const ref = `${open.host}/team/app:1.2`;
  assert.equal(berth(['tag', 'app:src', ref]).code, 0);
  const push = berth(['push', ref]);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, new RegExp(`^The push refers to repository \\[${open.host}/team/app\\]\n`));
  assert.match(push.stdout, /[a-f0-9]{12}: Pushed\n/);
  const m = /1\.2: digest: (sha256:[a-f0-9]{64}) size: \d+\n$/.exec(push.stdout);
  assert.ok(m, push.stdout);
  const id = inspect(ref).Id;
  assert.deepEqual(inspect(ref).RepoDigests, [`${open.host}/team/app@${m[1]}`]);
  // Gone locally, then back from the registry.
  assert.equal(berth(['rmi', ref, 'app:src']).code, 0);
  const pull = berth(['pull', ref]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, /^1\.2: Pulling from team\/app\n/);
  assert.match(pull.stdout, /[a-f0-9]{12}: Pull complete\n/);
  assert.match(pull.stdout, new RegExp(`Digest: ${m[1]}\nStatus: Downloaded newer image for ${open.host}/team/app:1.2\n${open.host}/team/app:1.2\n$`));
  assert.equal(inspect(ref).Id, id);
  assert.equal(berth(['run', '--rm', ref]).stdout, 'payload\n');
  assert.match(berth(['run', '--rm', ref, 'ls', '/etc/group']).stderr, /No such file/);
  const again = berth(['pull', ref]);
  assert.match(again.stdout, /Already exists\n/);
  assert.match(again.stdout, new RegExp(`Status: Image is up to date for ${open.host}/team/app:1.2\n`));
  // By digest: no new tag, found by the digest reference.
  assert.equal(berth(['rmi', ref]).code, 0);
  const byDigest = berth(['pull', '-q', `${open.host}/team/app@${m[1]}`]);
  assert.equal(byDigest.code, 0, byDigest.stderr);
  assert.equal(byDigest.stdout, `${open.host}/team/app@${m[1]}\n`);
  assert.equal(inspect(`${open.host}/team/app@${m[1]}`).Id, id);
  assert.deepEqual(inspect(id as string).RepoTags, []);
  assert.equal(berth(['tag', id as string, ref]).code, 0);
  assert.equal(berth(['tag', id as string, 'app:src']).code, 0);
});

test('a second repository on the same registry mounts the layers instead of uploading them', async () => {
  await setup();
  const other = `${open.host}/team/other:1`;
  assert.equal(berth(['tag', `${open.host}/team/app:1.2`, other]).code, 0);
  const push = berth(['push', other]);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, /[a-f0-9]{12}: Mounted from team\/app\n/);
  assert.doesNotMatch(push.stdout, /: Pushed\n/);
  const again = berth(['push', other]);
  assert.match(again.stdout, /Layer already exists\n/);
});

test('an interrupted download resumes with a Range request and the image is whole', async () => {
  await setup();
  const proxy = await open.flakyProxy(100_000);
  const ref = `127.0.0.1:${proxy.port}/team/app:1.2`;
  // Nothing of the image may be local, or there is nothing to download.
  const id = inspect('app:src').Id as string;
  assert.equal(berth(['rmi', '-f', id, 'busybox']).code, 0);
  const pull = berth(['pull', ref]);
  assert.equal(pull.code, 0, pull.stderr);
  const log = proxy.log();
  assert.ok(log.some((l) => l.startsWith('CUT ')), `the proxy broke a download:\n${log.join('\n')}\n${pull.stdout}`);
  const cut = /^CUT (\S+) at/.exec(log.find((l) => l.startsWith('CUT '))!)![1]!;
  const again = log.filter((l) => l.startsWith(`GET ${cut} `)).slice(1);
  assert.equal(again.length, 1, log.join('\n'));
  const from = Number(/range=bytes=(\d+)-$/.exec(again[0]!)?.[1]);
  assert.ok(from > 0 && from <= 100_000, `the client resumed from where it stopped, not from 0:\n${log.join('\n')}`);
  assert.equal(berth(['run', '--rm', ref]).stdout, 'payload\n');
  assert.equal(inspect(ref).Id, id);
  assert.equal(berth(['tag', ref, 'app:src']).code, 0);
  await d.importBusybox();
});

test('pull and push errors: unknown manifest, no registry, bad names, nothing local; no leftovers', async () => {
  await setup();
  const layersBefore = layerDirs().length;
  const unknown = berth(['pull', `${open.host}/team/nope:9`]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, new RegExp(`Error response from daemon: manifest for ${open.host}/team/nope:9 not found: manifest unknown: manifest unknown`));
  const closed = await freePort();
  const down = berth(['pull', `127.0.0.1:${closed}/x:1`]);
  assert.match(down.stderr, new RegExp(`Get "http://127\\.0\\.0\\.1:${closed}/v2/": dial tcp 127\\.0\\.0\\.1:${closed}: connect: connection refused`));
  assert.match(berth(['pull', 'Bad/Name']).stderr, /invalid reference format/);
  const nolocal = berth(['push', `${open.host}/team/none:1`]);
  assert.equal(nolocal.code, 1);
  assert.match(nolocal.stderr, new RegExp(`An image does not exist locally with the tag: ${open.host}/team/none`));
  assert.equal(layerDirs().length, layersBefore);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'content', 'ingest')), []);
});

test('a pull that runs out of disk space fails with the reason and leaves nothing behind; with room again it works', async () => {
  await setup();
  const mk = berth(['run', '--name', 'big', 'busybox', 'sh', '-c', 'head -c 400000 /dev/urandom > /big']);
  assert.equal(mk.code, 0, mk.stderr);
  const ref = `${open.host}/team/big:1`;
  assert.equal(berth(['commit', 'big', ref]).code, 0);
  berth(['rm', 'big']);
  assert.equal(berth(['push', ref]).code, 0);
  assert.equal(berth(['rmi', ref]).code, 0);
  const layersBefore = layerDirs().length;
  // The content store on a filesystem with 64 KiB to spare, too little for the 400 KB layer
  // (a filesystem of its own for the whole store: downloads are renamed from ingest/ to blobs/).
  const content = join(d.dataRoot, 'content');
  const used = Number(execFileSync('du', ['-sk', content]).toString().split('\t')[0]);
  const saved = mkdtempSync('/tmp/bt-content-');
  execFileSync('cp', ['-a', `${content}/.`, saved]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${used + 1024}k`, 'tmpfs', content]);
  try {
    execFileSync('cp', ['-a', `${saved}/.`, content]);
    const avail = Number(execFileSync('df', ['--output=avail', '-k', content]).toString().trim().split('\n')[1]);
    execFileSync('fallocate', ['-l', `${(avail - 64) * 1024}`, join(content, 'filler')]);
    const full = berth(['pull', ref]);
    assert.equal(full.code, 1, full.stdout);
    assert.match(full.stderr, /failed to write blob: ENOSPC: no space left on device/, full.stdout);
    assert.deepEqual(readdirSync(join(content, 'ingest')), []);
  } finally {
    execFileSync('umount', [content]);
    rmSync(saved, { recursive: true, force: true });
  }
  assert.equal(layerDirs().length, layersBefore);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'layers')).filter((f) => f.startsWith('.tmp-')), []);
  const again = berth(['pull', ref]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(berth(['run', '--rm', ref, 'sh', '-c', 'wc -c < /big']).stdout.trim(), '400000');
});

test('token auth: anonymous is refused, login stores credentials in config.json, push and pull with them, logout', async () => {
  await setup();
  const ref = `${locked.host}/private/app:1`;
  const tag = berth(['tag', 'app:src', ref]);
  assert.equal(tag.code, 0, tag.stderr);
  const anon = berth(['push', ref]);
  assert.equal(anon.code, 1);
  assert.match(anon.stderr, /unauthorized|denied/);
  const bad = berth(['login', '-u', TOKEN_USER, '--password-stdin', locked.host], 'wrong');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unauthorized|401/);
  assert.ok(!existsSync(join(dockerConfig, 'config.json')));
  const good = berth(['login', '-u', TOKEN_USER, '--password-stdin', locked.host], TOKEN_PASSWORD);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.stdout, 'Login Succeeded\n');
  const cfg = JSON.parse(readFileSync(join(dockerConfig, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(Buffer.from(cfg.auths[locked.host]!.auth, 'base64').toString(), `${TOKEN_USER}:${TOKEN_PASSWORD}`);
  const push = berth(['push', ref]);
  assert.equal(push.code, 0, push.stderr);
  assert.equal(berth(['rmi', ref]).code, 0);
  const pull = berth(['pull', ref]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal(berth(['logout', locked.host]).stdout, `Removing login credentials for ${locked.host}\n`);
  assert.equal(berth(['logout', locked.host]).stdout, `Not logged in to ${locked.host}\n`);
  const denied = berth(['pull', `${locked.host}/private/app:1`]);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /pull access denied for 127\.0\.0\.1:\d+\/private\/app, repository does not exist or may require 'docker login'/);
});

test('docker CLI against berthd: login, push, pull', { skip: !hasDockerCli() }, async () => {
  await setup();
  const ref = `${locked.host}/private/dk:2`;
  assert.equal(berth(['tag', 'app:src', ref]).code, 0);
  const login = d.docker(['login', '-u', TOKEN_USER, '--password-stdin', locked.host], { input: TOKEN_PASSWORD, env });
  assert.equal(login.code, 0, login.stderr);
  const push = d.docker(['push', ref], { env });
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, /2: digest: sha256:[a-f0-9]{64} size: \d+/);
  assert.equal(berth(['rmi', ref]).code, 0);
  const pull = d.docker(['pull', ref], { env });
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, /Status: Downloaded newer image/);
  assert.equal(d.docker(['run', '--rm', ref], { env }).stdout, 'payload\n');
});

test('kill -9 of berthd in the middle of a pull, then of a load: the restarted store is whole and usable', async () => {
  await setup();
  // A 6 MB layer of noise, served at 2 MB/s: the pull is surely in flight when berthd dies.
  assert.equal(berth(['run', '--name', 'big', 'busybox', 'sh', '-c', 'head -c 6000000 /dev/urandom > /noise']).code, 0);
  assert.equal(berth(['commit', 'big', `${open.host}/team/big:1`]).code, 0);
  berth(['rm', 'big']);
  assert.equal(berth(['push', `${open.host}/team/big:1`]).code, 0);
  const saved = join(dockerConfig, 'big.tar');
  assert.equal(berth(['save', '-o', saved, `${open.host}/team/big:1`]).code, 0);
  const bigId = inspect(`${open.host}/team/big:1`).Id as string;
  assert.equal(berth(['rmi', `${open.host}/team/big:1`]).code, 0);
  const slow = await open.flakyProxy(0, 2_000_000);
  const ref = `127.0.0.1:${slow.port}/team/big:1`;
  const pull = d.berthSpawn(['pull', ref]);
  await eventually(() => readdirSync(join(d.dataRoot, 'content', 'ingest')).length > 0 || undefined, 20_000);
  await d.kill9();
  pull.kill('SIGKILL');
  await d.start();
  assert.equal(berth(['image', 'inspect', ref]).code, 1, 'no half-pulled image is visible');
  assert.deepEqual(readdirSync(join(d.dataRoot, 'content', 'ingest')), []);
  assert.equal(berth(['run', '--rm', 'busybox', 'true']).code, 0, 'the store still runs containers');
  const again = berth(['pull', ref]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(inspect(ref).Id, bigId);
  assert.equal(berth(['run', '--rm', ref, 'wc', '-c', '/noise']).stdout.trim(), '6000000 /noise');
  assert.equal(berth(['rmi', ref]).code, 0);

  // The same for load, fed slowly through stdin.
  const load = d.berthSpawn(['load']);
  load.stdin!.on('error', () => undefined);
  const data = readFileSync(saved);
  let fed = 0;
  const feeder = setInterval(() => {
    if (fed >= data.length) return;
    load.stdin!.write(data.subarray(fed, fed + 200_000));
    fed += 200_000;
  }, 50);
  await eventually(() => (fed > data.length / 2 ? true : undefined), 20_000);
  await d.kill9();
  clearInterval(feeder);
  load.kill('SIGKILL');
  await d.start();
  assert.equal(berth(['image', 'inspect', bigId]).code, 1);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'content', 'ingest')), []);
  const ok = berth(['load', '-i', saved]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(inspect(bigId).Id, bigId);
});

test('basic auth (htpasswd): refused without login, push and pull after it', async () => {
  await setup();
  const ref = `${basic.host}/team/basic:1`;
  assert.equal(berth(['tag', 'app:src', ref]).code, 0);
  const anon = berth(['push', ref]);
  assert.equal(anon.code, 1);
  assert.match(anon.stderr, /unauthorized/);
  assert.match(berth(['login', '-u', TOKEN_USER, '--password-stdin', basic.host], 'nope').stderr, /failed with status: 401 Unauthorized/);
  assert.equal(berth(['login', '-u', TOKEN_USER, '--password-stdin', basic.host], TOKEN_PASSWORD).code, 0);
  const push = berth(['push', ref]);
  assert.equal(push.code, 0, push.stderr);
  assert.equal(berth(['rmi', ref]).code, 0);
  const pull = berth(['pull', ref]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal(berth(['run', '--rm', ref]).stdout, 'payload\n');
  berth(['logout', basic.host]);
});

test('a misbehaving registry: bad JSON, unknown media type, 403, 429, 500, 503 and a digest mismatch; nothing is stored', async () => {
  await setup();
  const layersBefore = layerDirs().length;
  const blobsBefore = readdirSync(join(d.dataRoot, 'content', 'blobs', 'sha256')).length;
  const host = `127.0.0.1:${fakePort}`;
  const cases: [string, RegExp][] = [
    ['json', /invalid manifest for 127\.0\.0\.1:\d+\/bad\/json:1: /],
    ['mediatype', /unsupported manifest media type and no default available: application\/vnd\.example\.unknown\+json/],
    ['forbidden', /pull access denied for 127\.0\.0\.1:\d+\/bad\/forbidden/],
    ['ratelimit', /toomanyrequests: You have reached your pull rate limit\./],
    ['server', /received unexpected HTTP status: 500 Internal Server Error/],
    ['flaky', /unavailable: service unavailable/],
    ['digest', /filesystem layer verification failed for digest sha256:[a-f0-9]{64}/],
  ];
  for (const [kind, expected] of cases) {
    const r = berth(['pull', `${host}/bad/${kind}:1`]);
    assert.equal(r.code, 1, kind);
    assert.match(r.stderr, expected, kind);
  }
  // The well-behaved repository of the same server works.
  const ok = berth(['pull', `${host}/bad/fine:1`]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(berth(['run', '--rm', `${host}/bad/fine:1`, 'cat', '/hello']).stderr, /executable file not found/, 'a real image, with only a file in it');
  assert.equal(berth(['rmi', `${host}/bad/fine:1`]).code, 0);
  assert.equal(layerDirs().length, layersBefore);
  assert.equal(readdirSync(join(d.dataRoot, 'content', 'blobs', 'sha256')).length, blobsBefore);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'content', 'ingest')), []);
});

test('skopeo reads what Berth pushed', async () => {
  await setup();
  const ref = `${open.host}/team/skopeo:1`;
  assert.equal(berth(['tag', 'app:src', ref]).code, 0);
  assert.equal(berth(['push', ref]).code, 0);
  const out = execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' });
  const info = JSON.parse(out) as { Digest: string; Layers: string[] };
  assert.equal(info.Layers.length, 2);
  assert.ok((inspect(ref).RepoDigests as string[]).includes(`${open.host}/team/skopeo@${info.Digest}`));
});

test('run pulls a missing image (progress on stderr), --pull always refreshes, a missing remote image is exit 125', async () => {
  await setup();
  const ref = `${open.host}/team/runpull:1`;
  assert.equal(berth(['tag', 'app:src', ref]).code, 0);
  assert.equal(berth(['push', ref]).code, 0);
  assert.equal(berth(['rmi', ref]).code, 0);
  const r = berth(['run', '--rm', ref]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'payload\n');
  assert.match(r.stderr, new RegExp(`^Unable to find image '${ref}' locally\n1: Pulling from team/runpull\n`));
  assert.match(r.stderr, new RegExp(`Status: Downloaded newer image for ${ref}\n$`));
  const again = berth(['run', '--rm', '--pull', 'always', ref]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /Status: Image is up to date for/);
  const missing = berth(['run', '--rm', `${open.host}/team/absent:1`]);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /berth: Error response from daemon: manifest for 127\.0\.0\.1:\d+\/team\/absent:1 not found: manifest unknown: manifest unknown/);
});

test('build FROM a private image: the CLI sends its logins (X-Registry-Config) and the pull uses them; logged out, it is denied', async () => {
  await setup();
  const base = `${locked.host}/private/base:1`;
  assert.equal(berth(['login', '-u', TOKEN_USER, '--password-stdin', locked.host], TOKEN_PASSWORD).code, 0);
  assert.equal(berth(['tag', 'app:src', base]).code, 0);
  assert.equal(berth(['push', base]).code, 0);
  assert.equal(berth(['rmi', base]).code, 0);
  const dir = mkdtempSync('/tmp/bt-privbuild-');
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${base}\nRUN cat /payload > /copied\n`);
  const built = berth(['build', '-q', '-t', 'from-private', dir]);
  assert.equal(built.code, 0, built.stderr);
  assert.equal(berth(['run', '--rm', 'from-private', 'cat', '/copied']).stdout, 'payload\n');
  assert.equal(berth(['rmi', 'from-private', base]).code, 0);
  assert.equal(berth(['logout', locked.host]).code, 0);
  const denied = berth(['build', '-q', '--no-cache', dir]);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /pull access denied|unauthorized/);
  rmSync(dir, { recursive: true, force: true });
});


test('credential helpers: credsStore keeps the password out of config.json; push, pull, build and logout go through it; credHelpers per registry; a missing helper is a clear error', async () => {
  await setup();
  const dir = mkdtempSync('/tmp/bt-helper-');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'docker-credential-berthtest'),
    `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, 'build/test/helpers/credential-helper.js')} "$@"\n`, { mode: 0o755 });
  const creds = join(dir, 'creds.json');
  const cfgDir = join(dir, 'cfg');
  mkdirSync(cfgDir);
  const cfgFile = join(cfgDir, 'config.json');
  writeFileSync(cfgFile, JSON.stringify({ credsStore: 'berthtest' }));
  const henv = { DOCKER_CONFIG: cfgDir, PATH: `${bin}:${process.env.PATH ?? ''}`, BERTH_TEST_CREDS: creds };
  const b = (args: string[], input?: string): ReturnType<typeof d.berth> => d.berth(args, { env: henv, ...(input !== undefined ? { input } : {}) });
  try {
    const login = b(['login', '-u', TOKEN_USER, '--password-stdin', locked.host], TOKEN_PASSWORD);
    assert.equal(login.code, 0, login.stderr);
    assert.equal(login.stdout, 'Login Succeeded\n');
    assert.doesNotMatch(login.stderr, /unencrypted/);
    // config.json names the server, the secret is in the helper's store only.
    const cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as { auths: Record<string, unknown>; credsStore: string };
    assert.deepEqual([cfg.credsStore, cfg.auths[locked.host]], ['berthtest', {}]);
    assert.doesNotMatch(readFileSync(cfgFile, 'utf8'), new RegExp(TOKEN_PASSWORD));
    assert.deepEqual(JSON.parse(readFileSync(creds, 'utf8')), { [locked.host]: { Username: TOKEN_USER, Secret: TOKEN_PASSWORD } });

    const ref = `${locked.host}/helper/app:1`;
    assert.equal(b(['tag', 'app:src', ref]).code, 0);
    const push = b(['push', ref]);
    assert.equal(push.code, 0, push.stderr);
    assert.equal(b(['rmi', ref]).code, 0);
    const pull = b(['pull', ref]);
    assert.equal(pull.code, 0, pull.stderr);
    // build sends what `list` + `get` return (X-Registry-Config).
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${ref}\nRUN cat /payload > /copied\n`);
    assert.equal(b(['rmi', ref]).code, 0);
    const built = b(['build', '-q', '-t', 'via-helper', dir]);
    assert.equal(built.code, 0, built.stderr);
    assert.equal(b(['rmi', 'via-helper', ref]).code, 0);
    assert.match(readFileSync(`${creds}.log`, 'utf8'), /^store\nget\n(get\n)*list\nget\n/m);

    assert.equal(b(['logout', locked.host]).stdout, `Removing login credentials for ${locked.host}\n`);
    assert.deepEqual(JSON.parse(readFileSync(creds, 'utf8')), {});
    assert.deepEqual((JSON.parse(readFileSync(cfgFile, 'utf8')) as { auths: Record<string, unknown> }).auths, {});
    assert.equal(b(['logout', locked.host]).stdout, `Not logged in to ${locked.host}\n`);
    assert.match(b(['pull', ref]).stderr, /pull access denied/);

    // credHelpers names the helper of one registry; the others use credsStore,
    // here one that is not installed: that is an error, as with the docker CLI.
    writeFileSync(cfgFile, JSON.stringify({ credsStore: 'nosuchhelper', credHelpers: { [locked.host]: 'berthtest' } }));
    assert.equal(b(['login', '-u', TOKEN_USER, '--password-stdin', locked.host], TOKEN_PASSWORD).code, 0);
    assert.equal(b(['pull', ref]).code, 0);
    const other = b(['pull', `${open.host}/none/such:1`]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /docker-credential-nosuchhelper": executable file not found in \$PATH/);
    assert.equal(b(['rmi', ref]).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--cache-from: a second engine reuses the steps of an image built with BUILDKIT_INLINE_CACHE=1 and pushed; a change rebuilds from there on', async () => {
  await setup();
  // The base comes from the registry on both engines: the same image id, the start of every chain.
  const base = `${open.host}/cache/base:1`;
  assert.equal(berth(['tag', 'busybox', base]).code, 0);
  assert.equal(berth(['push', base]).code, 0);
  const dir = mkdtempSync('/tmp/bt-cachefrom-');
  const d2 = new Daemon();
  try {
    writeFileSync(join(dir, 'Dockerfile'), [
      `FROM ${base}`,
      'RUN head -c 16 /dev/urandom | od -An -tx1 > /rand1',
      'ENV STAGE=two',
      'COPY f /f',
      'RUN head -c 16 /dev/urandom | od -An -tx1 > /rand2',
      'CMD ["cat", "/rand1", "/rand2", "/f"]',
    ].join('\n') + '\n');
    writeFileSync(join(dir, 'f'), 'one\n');
    const app = `${open.host}/cache/app:1`;
    const plain = `${open.host}/cache/plain:1`;
    assert.equal(berth(['build', '-q', '--build-arg', 'BUILDKIT_INLINE_CACHE=1', '-t', app, dir]).code, 0);
    assert.equal(berth(['build', '-q', '--no-cache', '-t', plain, dir]).code, 0);
    assert.equal(berth(['push', app]).code, 0);
    assert.equal(berth(['push', plain]).code, 0);
    const first = berth(['run', '--rm', app]).stdout;
    assert.match(first, /^( [0-9a-f]{2}){16}\n( [0-9a-f]{2}){16}\none\n$/);

    await d2.start();
    const b2 = (args: string[]): ReturnType<Daemon['berth']> => d2.berth(args, { env });
    // All steps from the pushed image: the RUN steps did not run again.
    const cached = b2(['build', '--progress=plain', '--cache-from', app, '-t', 'again', dir]);
    assert.equal(cached.code, 0, cached.stderr);
    assert.equal((cached.stderr.match(/^#\d+ CACHED$/gm) ?? []).length, 3, cached.stderr);
    assert.equal(b2(['run', '--rm', 'again']).stdout, first);
    // The layers are the pushed image's.
    const layers = (ref: string, x: (a: string[]) => ReturnType<Daemon['berth']>): string => x(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', ref]).stdout;
    assert.equal(layers('again', b2), layers(app, berth));
    // The same engine remembers them locally now: no --cache-from needed.
    assert.equal((b2(['build', '--progress=plain', '-t', 'again2', dir]).stderr.match(/^#\d+ CACHED$/gm) ?? []).length, 3);

    // A changed file: the steps before the COPY still come from the cache, the rest runs.
    writeFileSync(join(dir, 'f'), 'two\n');
    const changed = b2(['build', '-q', '--cache-from', `type=registry,ref=${app}`, '-t', 'changed', dir]);
    assert.equal(changed.code, 0, changed.stderr);
    const [r1, r2, f] = b2(['run', '--rm', 'changed']).stdout.split('\n');
    const [o1, o2] = first.split('\n');
    assert.deepEqual([r1 === o1, r2 === o2, f], [true, false, 'two']);
    writeFileSync(join(dir, 'f'), 'one\n');

    // An image without an inline cache, or one that cannot be had: a warning, and the steps run.
    assert.equal(b2(['builder', 'prune', '-a', '-f']).code, 0);
    const none = b2(['build', '--progress=plain', '--no-cache', '--cache-from', plain, '--cache-from', `${open.host}/cache/absent:1`, '-t', 'none', dir]);
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stderr, /has no inline cache/);
    assert.match(none.stderr, /failed to import cache 127\.0\.0\.1:\d+\/cache\/absent:1/);
    assert.notEqual(b2(['run', '--rm', 'none']).stdout, first);
    const bad = b2(['build', '--cache-from', 'type=local,src=/tmp', dir]);
    assert.deepEqual([bad.code, bad.stderr], [1, '--cache-from type=local,src=/tmp: only images (IMAGE or type=registry,ref=IMAGE) can be cache sources\n']);
  } finally {
    await d2.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pull --all-tags: every tag of the repository, one status for the repository; berth and docker CLIs', async () => {
  await setup();
  const repo = `${open.host}/every/app`;
  assert.equal(berth(['tag', 'app:src', `${repo}:1`]).code, 0);
  assert.equal(berth(['tag', 'busybox', `${repo}:2`]).code, 0);
  assert.equal(berth(['push', '--all-tags', repo]).code, 0);
  assert.equal(berth(['rmi', `${repo}:1`, `${repo}:2`]).code, 0);
  const r = berth(['pull', '-a', repo]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^1: Pulling from every\/app\n/m);
  assert.match(r.stdout, /^2: Pulling from every\/app\n/m);
  assert.equal((r.stdout.match(/^Status: /gm) ?? []).length, 1, r.stdout);
  assert.match(r.stdout, new RegExp(`Status: Downloaded newer image for ${repo.replace(/\./g, '\\.')}\\n${repo.replace(/\./g, '\\.')}\\n$`));
  assert.equal(berth(['run', '--rm', `${repo}:1`]).stdout, 'payload\n');
  assert.equal(berth(['image', 'inspect', '-f', '{{.Id}}', `${repo}:2`]).stdout, berth(['image', 'inspect', '-f', '{{.Id}}', 'busybox']).stdout);
  const again = berth(['pull', '-a', '-q', repo]);
  assert.deepEqual([again.code, again.stdout], [0, `${repo}\n`]);
  assert.match(berth(['pull', '-a', `${repo}:1`]).stderr, /tag can't be used with --all-tags\/-a/);
  const none = berth(['pull', '-a', `${open.host}/every/none`]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /every\/none/);
  if (hasDockerCli()) {
    assert.equal(berth(['rmi', `${repo}:1`, `${repo}:2`]).code, 0);
    const dr = d.docker(['pull', '-a', repo]);
    assert.equal(dr.code, 0, dr.stderr);
    assert.match(dr.stdout, /Status: Downloaded newer image for /);
    assert.equal(berth(['image', 'inspect', '-f', '{{.Id}}', `${repo}:1`]).code, 0);
  }
});

test('a blob too large for one request (a proxy answers 413) is pushed in chunks, and pulls back whole', async () => {
  await setup();
  // A proxy in front of the real registry that refuses request bodies over 9 MiB,
  // as nginx's client_max_body_size or a CDN's limit does. It runs in a process
  // of its own: the CLI calls below block this one.
  const script = `const http=require('http');const LIMIT=9*1024*1024;let patches=0,refused=0;
http.createServer((req,res)=>{const parts=[];let n=0;
  req.on('data',(c)=>{n+=c.length;if(n<=LIMIT)parts.push(c)});
  req.on('end',()=>{
    if(n>LIMIT){refused++;console.log('refused '+refused);res.writeHead(413);res.end('too large');return;}
    if(req.method==='PATCH'){patches++;console.log('patch '+patches+' '+req.headers['content-range']);}
    const h0={...req.headers};delete h0['transfer-encoding'];h0['content-length']=String(n);
    const up=http.request({host:'127.0.0.1',port:${open.host.split(':')[1]},method:req.method,path:req.url,headers:h0},(r)=>{
      const h={...r.headers};if(h.location)h.location=h.location.replace(/^http:\\/\\/[^/]+/,'');res.writeHead(r.statusCode,h);r.pipe(res)});
    up.on('error',()=>{res.writeHead(502);res.end()});up.end(Buffer.concat(parts));
  });
}).listen(0,'127.0.0.1',function(){console.log('port '+this.address().port)})`;
  const proxy = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let said = '';
  proxy.stdout!.on('data', (b: Buffer) => { said += b.toString(); });
  try {
    const port = await eventually(() => /port (\d+)/.exec(said)?.[1]);
    assert.ok(port);
    const mk = berth(['run', '--name', 'bigblob', 'busybox', 'sh', '-c', 'head -c 20000000 /dev/urandom > /big']);
    assert.equal(mk.code, 0, mk.stderr);
    const ref = `127.0.0.1:${port}/chunked/big:1`;
    assert.equal(berth(['commit', 'bigblob', ref]).code, 0);
    berth(['rm', 'bigblob']);
    const push = berth(['push', ref]);
    assert.equal(push.code, 0, push.stderr);
    // The big layer went in three pieces after one refusal; the small blobs in one request each.
    // (The proxy's output is read once this process's event loop runs again.)
    assert.ok(await eventually(() => /patch 3 /.test(said)), said);
    assert.match(said, /refused 1\n/);
    assert.doesNotMatch(said, /refused 2/);
    assert.match(said, /patch 1 0-8388607\npatch 2 8388608-16777215\npatch 3 16777216-/);
    const id = berth(['image', 'inspect', '-f', '{{.Id}}', ref]).stdout;
    assert.equal(berth(['rmi', ref]).code, 0);
    const pull = berth(['pull', ref]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(berth(['image', 'inspect', '-f', '{{.Id}}', ref]).stdout, id);
    assert.equal(berth(['run', '--rm', ref, 'sh', '-c', 'wc -c < /big']).stdout.trim(), '20000000');
    berth(['rmi', ref]);
  } finally {
    proxy.kill();
  }
});

test('search: the index the term names, with the stored login; filters, limit, --no-trunc, --format; a registry without search; the docker CLI prints the same', async () => {
  await setup();
  const index = await broken.searchIndex();
  const host = `127.0.0.1:${index.port}`;
  const last = (): { path: string; auth: string | null } | undefined => index.asked().pop();
  const table = berth(['search', `${host}/busybox`]);
  assert.equal(table.code, 0, table.stderr);
  assert.equal(table.stdout, [
    'NAME           DESCRIPTION                                     STARS     OFFICIAL',
    'team/busybox   A busybox for the team, with a description l…   12        ',
    'busybox        Busybox base image.                             3400      [OK]',
    ''].join('\n'));
  assert.deepEqual(last(), { path: '/v1/search?q=busybox&n=25', auth: null });
  if (hasDockerCli()) assert.equal(d.docker(['search', `${host}/busybox`], { env }).stdout, table.stdout);

  const official = berth(['search', '--no-trunc', '--filter', 'is-official=true', `${host}/busybox`]);
  assert.equal(official.stdout, 'NAME      DESCRIPTION           STARS     OFFICIAL\nbusybox   Busybox base image.   3400      [OK]\n');
  const starred = berth(['search', '--filter', 'stars=100', '--filter', 'stars=5', '--format', '{{.Name}}', `${host}/busybox`]);
  assert.equal(starred.stdout, 'busybox\n');
  const noTrunc = berth(['search', '--no-trunc', '--limit', '1', '--format', '{{.Description}}|{{.StarCount}}|{{.IsOfficial}}', `${host}/busybox`]);
  assert.equal(noTrunc.stdout, 'A busybox for the team, with a description longer than forty-five characters and a second line|12|\n');
  assert.equal(last()!.path, '/v1/search?q=busybox&n=1');
  const json = await d.api('GET', `/images/search?term=${encodeURIComponent(`${host}/busybox`)}`);
  assert.equal(json.status, 200);
  // is_automated is deprecated and untrustworthy on Docker Hub: always false, as dockerd gives it.
  assert.deepEqual((json.body as { is_automated: boolean }[]).map((r) => r.is_automated), [false, false]);
  assert.deepEqual((await d.api('GET', `/images/search?term=x&filters=${encodeURIComponent('{"is-automated":["true"]}')}`)).body, []);

  // Bad input: refused before the index is asked.
  const before = index.asked().length;
  for (const [args, message] of [
    [['--filter', 'stars=many'], "invalid filter 'stars=many'"],
    [['--filter', 'color=red'], "invalid filter 'color'"],
    [['--filter', 'is-official=maybe'], "invalid filter 'is-official=maybe'"],
    [['--limit', '101'], 'limit 101 is outside the range of [1, 100]'],
  ] as const) {
    const r = berth(['search', ...args, `${host}/busybox`]);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stderr, `Error response from daemon: ${message}\n`);
  }
  assert.equal(index.asked().length, before);
  assert.equal((await d.api('GET', '/images/search')).status, 400);

  // With a login for that host, its credentials go along.
  assert.equal(berth(['login', '-u', 'u', '--password-stdin', host], 'p\n').code, 0);
  assert.equal(berth(['search', `${host}/team/app`]).code, 0);
  assert.deepEqual(last(), { path: '/v1/search?q=team%2Fapp&n=25', auth: `Basic ${Buffer.from('u:p').toString('base64')}` });
  assert.equal(berth(['logout', host]).code, 0);

  // A distribution registry has no search endpoint; nothing listens on the other.
  const noSearch = berth(['search', `${open.host}/team/app`]);
  assert.equal(noSearch.code, 1);
  assert.equal(noSearch.stderr, 'Error response from daemon: Unexpected status code 404\n');
  const port = await freePort();
  const nobody = berth(['search', `127.0.0.1:${port}/x`]);
  assert.equal(nobody.code, 1);
  assert.equal(nobody.stderr, `Error response from daemon: Get "http://127.0.0.1:${port}/v1/search?q=x&n=25": dial tcp 127.0.0.1:${port}: connect: connection refused\n`);
});
