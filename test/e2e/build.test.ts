// berth build against a real daemon: multi-stage with build args, .dockerignore,
// the cache (also across a daemon restart), --target, -f, heredocs, and the
// errors a user meets.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { daemonWithBusybox, hasDockerCli, eventually } from './harness.js';
import { execFileSync, spawn } from 'node:child_process';
import { freePort } from '../helpers/registry.js';
import { makeTar } from '../helpers/tar.js';
import http from 'node:http';

// These tests read the classic build stream (`Step 1/5 : …`, ` ---> Using cache`), as
// `DOCKER_BUILDKIT=0 docker build` shows it; the BuildKit-style display is tested in build-progress.test.ts.
process.env.DOCKER_BUILDKIT = '0';
const d = daemonWithBusybox();
const ctx = mkdtempSync('/tmp/bt-build-');
after(() => rmSync(ctx, { recursive: true, force: true }));

const DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM $BASE AS deps
WORKDIR /app
COPY deps.txt ./
RUN echo "installing $(cat deps.txt)" && cp deps.txt installed.txt

FROM deps AS builder
ARG APP_VERSION=0.0.1
COPY src/ ./src/
RUN echo "$APP_VERSION" > version && cat src/main.txt >> version

FROM busybox
LABEL org.example.team=blue
ENV GREETING="hello world"
COPY --from=builder /app/version /srv/version
COPY --from=deps /app/installed.txt /srv/
EXPOSE 8000
HEALTHCHECK --interval=5s CMD true
CMD ["cat", "/srv/version"]
`;

function writeContext(): void {
  mkdirSync(join(ctx, 'src'), { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(ctx, 'deps.txt'), 'fastapi uvicorn\n');
  writeFileSync(join(ctx, 'src/main.txt'), 'main v1\n');
  writeFileSync(join(ctx, '.env'), 'SECRET=hunter2\n');
  writeFileSync(join(ctx, '.dockerignore'), '# secrets stay home\n.env\n*.log\n');
  writeFileSync(join(ctx, 'debug.log'), 'noise\n');
}

const cacheLines = (out: string): string[] => out.split('\n').filter((l, i, all) => all[i + 1] === ' ---> Using cache' && l.startsWith('Step '));

test('a multi-stage build with build args, labels, env, expose, healthcheck; the image runs', () => {
  writeContext();
  const r = d.berth(['build', '-t', 'task-api:v1', '--build-arg', 'APP_VERSION=1.2.3', ctx]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^Step 1\/16 : FROM \$BASE AS deps\n/);
  assert.match(r.stdout, /installing fastapi uvicorn\n/);
  assert.match(r.stdout, /Successfully built [a-f0-9]{12}\nSuccessfully tagged task-api:v1\n$/);
  assert.equal(d.berth(['run', '--rm', 'task-api:v1']).stdout, '1.2.3\nmain v1\n');
  const img = (JSON.parse(d.berth(['image', 'inspect', 'task-api:v1']).stdout) as { Config: Record<string, unknown> }[])[0]!.Config;
  assert.deepEqual(img.Labels, { 'org.example.team': 'blue' });
  assert.ok((img.Env as string[]).includes('GREETING=hello world'));
  assert.deepEqual(img.ExposedPorts, { '8000/tcp': {} });
  assert.deepEqual((img.Healthcheck as { Test: string[] }).Test, ['CMD-SHELL', 'true']);
  assert.equal(d.berth(['run', '--rm', 'task-api:v1', 'cat', '/srv/installed.txt']).stdout, 'fastapi uvicorn\n');
  // .dockerignore: the secret never reaches the daemon, so COPY . cannot take it.
  writeFileSync(join(ctx, 'Dockerfile.all'), 'FROM busybox\nCOPY . /ctx/\nCMD ["ls", "-a", "/ctx"]\n');
  const all = d.berth(['build', '-q', '-f', join(ctx, 'Dockerfile.all'), ctx]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^sha256:[a-f0-9]{64}\n$/);
  const listing = d.berth(['run', '--rm', all.stdout.trim()]).stdout.split('\n');
  assert.ok(listing.includes('deps.txt') && listing.includes('src'));
  assert.ok(!listing.includes('.env') && !listing.includes('debug.log'), listing.join(' '));
});

test('the cache: a rebuild is all cached; a source change rebuilds from its COPY only; --no-cache rebuilds all; the cache survives a restart', async () => {
  const again = d.berth(['build', '-t', 'task-api:v1', '--build-arg', 'APP_VERSION=1.2.3', ctx]);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /Running in/);
  assert.equal(cacheLines(again.stdout).length, 13, again.stdout);
  writeFileSync(join(ctx, 'src/main.txt'), 'main v2\n');
  writeFileSync(join(ctx, 'debug.log'), 'ignored files change nothing\n');
  const changed = d.berth(['build', '-t', 'task-api:v2', '--build-arg', 'APP_VERSION=1.2.3', ctx]);
  assert.equal(changed.code, 0, changed.stderr);
  const cached = cacheLines(changed.stdout).map((l) => l.replace(/^Step \d+\/\d+ : /, ''));
  assert.ok(cached.includes('COPY deps.txt ./'), 'the dependency layer stays cached');
  assert.ok(cached.includes('RUN echo "installing $(cat deps.txt)" && cp deps.txt installed.txt'));
  assert.ok(!cached.includes('COPY src/ ./src/'), 'the changed COPY is rebuilt');
  assert.equal(d.berth(['run', '--rm', 'task-api:v2']).stdout, '1.2.3\nmain v2\n');
  await d.stop();
  await d.start();
  const afterRestart = d.berth(['build', '-t', 'task-api:v2', '--build-arg', 'APP_VERSION=1.2.3', ctx]);
  assert.doesNotMatch(afterRestart.stdout, /Running in/, 'still cached after a restart');
  const nocache = d.berth(['build', '--no-cache', '-t', 'task-api:v3', '--build-arg', 'APP_VERSION=1.2.3', ctx]);
  assert.equal(nocache.code, 0, nocache.stderr);
  assert.equal(cacheLines(nocache.stdout).filter((l) => /RUN|COPY/.test(l)).length, 0);
});

test('COPY --from is cached by the files it takes: a stage rebuilt to the same file keeps the step cached, a changed file does not', () => {
  const dir = join(ctx, 'from-cache');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'input.txt'), 'one\n');
  writeFileSync(join(dir, 'Dockerfile'), `FROM busybox AS builder
COPY input.txt /input.txt
RUN echo fixed > /out && cat /input.txt > /seen
FROM busybox
COPY --from=builder /out /out
COPY --from=builder /seen /seen
CMD ["cat", "/out", "/seen"]
`);
  const first = d.berth(['build', '-t', 'from-cache', dir]);
  assert.equal(first.code, 0, first.stderr);
  const id1 = d.berth(['image', 'inspect', '-f', '{{.Id}}', 'from-cache']).stdout.trim();
  writeFileSync(join(dir, 'input.txt'), 'two\n');
  const second = d.berth(['build', '-t', 'from-cache', dir]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /Running in/, 'the builder stage ran again');
  const cached = cacheLines(second.stdout).map((l) => l.replace(/^Step \d+\/\d+ : /, ''));
  assert.ok(cached.includes('COPY --from=builder /out /out'), `the same /out keeps its step cached:\n${second.stdout}`);
  assert.ok(!cached.includes('COPY --from=builder /seen /seen'), 'a changed /seen is copied again');
  assert.equal(d.berth(['run', '--rm', 'from-cache']).stdout, 'fixed\ntwo\n');
  // Nothing changed: every step cached, the same image.
  const id2 = d.berth(['image', 'inspect', '-f', '{{.Id}}', 'from-cache']).stdout.trim();
  assert.notEqual(id2, id1);
  const third = d.berth(['build', '-t', 'from-cache', dir]);
  assert.equal(third.code, 0, third.stderr);
  assert.doesNotMatch(third.stdout, /Running in/);
  assert.equal(cacheLines(third.stdout).length, 5, third.stdout);
  assert.equal(d.berth(['image', 'inspect', '-f', '{{.Id}}', 'from-cache']).stdout.trim(), id2);
  // Back to the first input: the first image again, all from the cache.
  writeFileSync(join(dir, 'input.txt'), 'one\n');
  const fourth = d.berth(['build', '-t', 'from-cache', dir]);
  assert.doesNotMatch(fourth.stdout, /Running in/);
  assert.equal(d.berth(['image', 'inspect', '-f', '{{.Id}}', 'from-cache']).stdout.trim(), id1);
});

test('--target builds only what the target needs; -f picks another Dockerfile; heredocs', () => {
  const t = d.berth(['build', '--target', 'deps', '-t', 'deps-only', ctx]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^Step 1\/4 : /, "only the deps stage: FROM, WORKDIR, COPY, RUN");
  assert.equal(d.berth(['run', '--rm', 'deps-only', 'cat', '/app/installed.txt']).stdout, 'fastapi uvicorn\n');
  writeFileSync(join(ctx, 'Dockerfile.prod'), 'FROM busybox\nRUN <<EOF\necho one > /one\necho two >> /one\nEOF\nCOPY <<CONF /etc/app.conf\nmode=$MODE\nCONF\nARG MODE=prod\nCMD ["cat", "/one", "/etc/app.conf"]\n');
  const f = d.berth(['build', '-f', join(ctx, 'Dockerfile.prod'), '-t', 'prod:1', ctx]);
  assert.equal(f.code, 0, f.stderr + f.stdout);
  assert.equal(d.berth(['run', '--rm', 'prod:1']).stdout, 'one\ntwo\nmode=\n');
});

test('build errors: unknown instruction with its line, failing RUN with its code, missing COPY source, bad target, hostile context', async () => {
  const bad = join(ctx, 'bad');
  mkdirSync(bad, { recursive: true });
  writeFileSync(join(bad, 'Dockerfile'), 'FROM busybox\n\nRUNN echo\n');
  const unknown = d.berth(['build', bad]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /dockerfile parse error on line 3: unknown instruction: RUNN/);
  writeFileSync(join(bad, 'Dockerfile'), 'FROM busybox\nRUN echo before && exit 3\n');
  const run = d.berth(['build', bad]);
  assert.equal(run.code, 3);
  assert.match(run.stdout, /before\n/);
  assert.match(run.stderr, /The command '\/bin\/sh -c echo before && exit 3' returned a non-zero code: 3/);
  writeFileSync(join(bad, 'Dockerfile'), 'FROM busybox\nCOPY nothere.txt /x\n');
  assert.match(d.berth(['build', bad]).stderr, /COPY failed: file not found in build context or excluded by \.dockerignore: stat nothere\.txt: file does not exist/);
  writeFileSync(join(bad, 'Dockerfile'), 'FROM busybox\nCOPY a b /dest\n');
  writeFileSync(join(bad, 'a'), 'a');
  writeFileSync(join(bad, 'b'), 'b');
  assert.match(d.berth(['build', bad]).stderr, /When using COPY with more than one source file, the destination must be a directory and end with a \//);
  assert.match(d.berth(['build', '--target', 'nope', bad]).stderr, /failed to reach build target nope in Dockerfile/);
  assert.match(d.berth(['build', join(ctx, 'missing-dir')]).stderr, /unable to prepare context: path ".*missing-dir" not found/);
  // A context tar with an escaping entry, sent straight to the API.
  const evil = await makeTar([{ name: 'Dockerfile', body: 'FROM busybox\n' }, { name: '../../escape', body: 'x' }]);
  const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method: 'POST', path: '/build', headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(evil);
  });
  // Refused before the build said anything: an HTTP error, as dockerd answers it.
  assert.equal(r.status, 400);
  assert.match((JSON.parse(r.body) as { message: string }).message, /invalid tar entry "..\/..\/escape": path escapes/);
  assert.deepEqual(d.mounts().filter((m) => m.includes('/build/')), [], 'no build mount is left');
});

test('docker CLI (classic builder) against berthd', { skip: !hasDockerCli() }, () => {
  const r = d.docker(['build', '-t', 'from-docker:1', '--build-arg', 'APP_VERSION=9', ctx], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /Successfully tagged from-docker:1/);
  assert.equal(d.docker(['run', '--rm', 'from-docker:1']).stdout, '9\nmain v2\n');
});

test('classic failures as dockerd gives them: before the first step an HTTP error; with -q the steps\' output only on failure; an unknown COPY --from', () => {
  const bad = join(ctx, 'classic-bad');
  mkdirSync(bad, { recursive: true });
  const both = (args: string[]): { cli: string; code: number; stdout: string; stderr: string }[] => [
    { cli: 'berth', ...d.berth(['build', ...args, bad]) },
    ...(hasDockerCli() ? [{ cli: 'docker', ...d.docker(['build', ...args, bad], { env: { DOCKER_BUILDKIT: '0' } }) }] : []),
  ];
  writeFileSync(join(bad, 'Dockerfile'), 'FROM busybox\nBOGUS x\n');
  for (const r of both(['-q'])) {
    assert.equal(r.code, 1, r.cli);
    assert.match(r.stderr, /Error response from daemon: dockerfile parse error on line 2: unknown instruction: BOGUS\n/, r.cli);
  }
  writeFileSync(join(bad, 'Dockerfile'), 'FROM busybox\nRUN echo said-before && exit 3\n');
  assert.match(d.berth(['build', '--target', 'nope', bad]).stderr, /Error response from daemon: failed to reach build target nope in Dockerfile/);
  for (const r of both(['-q'])) {
    assert.equal(r.code, 3, r.cli);
    assert.equal(r.stdout, '', r.cli);
    assert.match(r.stderr, /Step 2\/2 : RUN echo said-before && exit 3\n(.|\n)*said-before\n(.|\n)*The command '\/bin\/sh -c echo said-before && exit 3' returned a non-zero code: 3/, r.cli);
  }
  writeFileSync(join(bad, 'Dockerfile'), 'FROM busybox\nRUN echo fine\n');
  for (const r of both(['-q'])) {
    assert.equal(r.code, 0, r.cli + r.stderr);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/, r.cli);
    assert.doesNotMatch(r.stderr, /fine|Step/, r.cli);
  }
  writeFileSync(join(bad, 'Dockerfile'), 'FROM busybox\nCOPY --from=127.0.0.1:1/nowhere:1 /x /y\n');
  for (const r of both([])) {
    assert.equal(r.code, 1, r.cli);
    assert.match(r.stderr, /invalid from flag value 127\.0\.0\.1:1\/nowhere:1: /, r.cli);
  }
});

test('COPY through a symlink in the image lands inside the image, never on the host', () => {
  const hostOnly = mkdtempSync('/tmp/bt-hostonly-');
  const dir = join(ctx, 'symlink');
  mkdirSync(join(dir, 'payload'), { recursive: true });
  writeFileSync(join(dir, 'payload/pwned'), 'x');
  // A directory of the context whose name is a symlink in the image: copied "onto" it, not through it to the host.
  mkdirSync(join(dir, 'tree/escape'), { recursive: true });
  writeFileSync(join(dir, 'tree/escape/nested'), 'n');
  writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\nRUN ln -s ${hostOnly} /escape && ln -s ../../..${hostOnly} /relative\nCOPY payload/ /escape/\nCOPY payload/pwned /relative/again\nCOPY tree/ /\n`);
  const r = d.berth(['build', '-t', 'symlink-test', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.deepEqual(readdirSync(hostOnly), [], 'nothing was written on the host');
  assert.equal(d.berth(['run', '--rm', 'symlink-test', 'cat', `${hostOnly}/pwned`, `${hostOnly}/again`]).stdout, 'xx');
  // The context's directory replaces the image's symlink of that name (as Docker's classic builder does).
  assert.equal(d.berth(['run', '--rm', 'symlink-test', 'cat', '/escape/nested']).stdout, 'n');
  rmSync(hostOnly, { recursive: true, force: true });
});

test('a RUN step\'s rootfs skips syncs (volatile overlay), and what it writes is in the image', () => {
  const dir = join(ctx, 'volatile');
  mkdirSync(dir, { recursive: true });
  // The step fails unless its root overlay is volatile (`volatile`, or `fsync=volatile` on newer kernels).
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nRUN grep " / / " /proc/self/mountinfo | grep -E "[ ,=]volatile" > /root-mount\n');
  const r = d.berth(['build', '-t', 'volatile-step', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(d.berth(['run', '--rm', 'volatile-step', 'cat', '/root-mount']).stdout, /overlay/);
});

test('ONBUILD triggers run in the child build and are not inherited; builder prune forgets the cache', () => {
  const base = join(ctx, 'onbuild-base');
  const child = join(ctx, 'onbuild-child');
  mkdirSync(base, { recursive: true });
  mkdirSync(child, { recursive: true });
  writeFileSync(join(base, 'Dockerfile'), 'FROM busybox\nONBUILD COPY trigger.txt /from-trigger\nONBUILD RUN echo triggered > /ran\n');
  assert.equal(d.berth(['build', '-t', 'onbuild-base', base]).code, 0);
  assert.equal(d.berth(['image', 'inspect', '-f', '{{json .Config.OnBuild}}', 'onbuild-base']).stdout.trim(), '["COPY trigger.txt /from-trigger","RUN echo triggered > /ran"]');
  writeFileSync(join(child, 'trigger.txt'), 'copied by a trigger\n');
  writeFileSync(join(child, 'Dockerfile'), 'FROM onbuild-base\nCMD ["cat", "/from-trigger", "/ran"]\n');
  const r = d.berth(['build', '-t', 'onbuild-child', child]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /# Executing 2 build triggers\n/);
  assert.equal(d.berth(['run', '--rm', 'onbuild-child']).stdout, 'copied by a trigger\ntriggered\n');
  assert.equal(d.berth(['image', 'inspect', '-f', '{{json .Config.OnBuild}}', 'onbuild-child']).stdout.trim(), 'null');
  const prune = d.berth(['builder', 'prune', '-f']);
  assert.equal(prune.code, 0, prune.stderr);
  assert.match(prune.stdout, /Total reclaimed space: /);
  const rebuilt = d.berth(['build', '-t', 'onbuild-child', child]);
  assert.match(rebuilt.stdout, /Running in/, 'nothing cached after a prune');
  assert.equal(d.berth(['image', 'inspect', 'onbuild-base']).code, 0, 'tagged images stay');
});

test('ADD: local tar archives are unpacked, other files copied, URLs downloaded (mode 600, not unpacked)', async () => {
  const dir = join(ctx, 'add');
  mkdirSync(join(dir, 'tree/sub'), { recursive: true });
  writeFileSync(join(dir, 'tree/sub/inner.txt'), 'inside the archive\n');
  execFileSync('tar', ['-czf', join(dir, 'bundle.tar.gz'), '-C', join(dir, 'tree'), '.']);
  writeFileSync(join(dir, 'plain.txt'), 'plain\n');
  // A file server in its own process (the CLI runs synchronously here).
  const served = mkdtempSync('/tmp/bt-served-');
  execFileSync('cp', [join(dir, 'bundle.tar.gz'), join(served, 'remote.tar.gz')]);
  const port = await freePort();
  const server = spawn(process.execPath, ['-e', `require('http').createServer((q, r) => { const f = require('path').join(${JSON.stringify(served)}, require('path').basename(q.url)); require('fs').readFile(f, (e, b) => { if (e) { r.writeHead(404); r.end(); return; } r.writeHead(200, { 'Last-Modified': 'Wed, 21 Oct 2015 07:28:00 GMT' }); r.end(b); }); }).listen(${port}, '127.0.0.1')`], { stdio: 'ignore' });
  try {
    await eventually(async () => { try { await fetch(`http://127.0.0.1:${port}/x`); return true; } catch { return undefined; } });
    writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\nADD bundle.tar.gz /opt/bundle\nADD plain.txt /opt/\nADD http://127.0.0.1:${port}/remote.tar.gz /downloads/\n`);
    const r = d.berth(['build', '-t', 'add-test', dir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const out = d.berth(['run', '--rm', 'add-test', 'sh', '-c', 'cat /opt/bundle/sub/inner.txt /opt/plain.txt; stat -c "%a %Y" /downloads/remote.tar.gz; tar -tzf /downloads/remote.tar.gz | sort | tail -1']).stdout;
    assert.equal(out, 'inside the archive\nplain\n600 1445412480\n./sub/inner.txt\n');
    const sum = execFileSync('sha256sum', [join(served, 'remote.tar.gz')], { encoding: 'utf8' }).split(' ')[0];
    writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\nADD --checksum=sha256:${sum} http://127.0.0.1:${port}/remote.tar.gz /checked/\n`);
    assert.equal(d.berth(['build', '-q', dir]).code, 0, 'a matching --checksum passes');
    writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/remote.tar.gz /checked/\n`);
    assert.match(d.berth(['build', dir]).stderr, /digest mismatch for http:\/\/127\.0\.0\.1:\d+\/remote\.tar\.gz: expected sha256:0{64}, got sha256:[a-f0-9]{64}/);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nADD --checksum=sha256:abc plain.txt /x\n');
    assert.match(d.berth(['build', dir]).stderr, /checksum can't be specified for non-HTTP\(S\) sources/);
    writeFileSync(join(dir, 'Dockerfile'), `FROM busybox\nADD http://127.0.0.1:${port}/missing.bin /x\n`);
    assert.match(d.berth(['build', dir]).stderr, /failed to download http:\/\/127\.0\.0\.1:\d+\/missing\.bin: 404/);
  } finally {
    server.kill('SIGKILL');
    rmSync(served, { recursive: true, force: true });
  }
});

test('RUN --mount: a cache directory kept across builds, a bind of the context, a tmpfs; none of them in the layer', () => {
  const dir = join(ctx, 'mounts');
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'data/file'), 'from the context\n');
  writeFileSync(join(dir, 'Dockerfile'), [
    'FROM busybox',
    'RUN --mount=type=cache,target=/var/cache/pkgs sh -c "echo run >> /var/cache/pkgs/log; wc -l < /var/cache/pkgs/log > /runs"',
    'RUN --mount=type=bind,source=data,target=/mnt/data cat /mnt/data/file > /copied',
    'RUN --mount=type=tmpfs,target=/scratch sh -c "echo t > /scratch/t && grep -c \' /scratch \' /proc/mounts > /tmpfs-seen"',
    'CMD ["sh", "-c", "cat /runs /copied /tmpfs-seen; ls -A /var/cache/pkgs /mnt/data /scratch 2>&1 | grep -c . || true"]',
    '',
  ].join('\n'));
  const first = d.berth(['build', '-t', 'mounts:1', dir]);
  assert.equal(first.code, 0, first.stderr + first.stdout);
  const second = d.berth(['build', '--no-cache', '-t', 'mounts:2', dir]);
  assert.equal(second.code, 0, second.stderr);
  const out = d.berth(['run', '--rm', 'mounts:2']).stdout.split('\n');
  assert.equal(out[0], '2', 'the cache mount kept the first build\'s file');
  assert.equal(out[1], 'from the context');
  assert.equal(out[2], '1', 'a tmpfs was mounted');
  const leftovers = d.berth(['run', '--rm', 'mounts:2', 'sh', '-c', 'ls -A /var/cache/pkgs /scratch /mnt/data 2>/dev/null | wc -w']).stdout.trim();
  assert.equal(leftovers, '0', 'nothing from the mounts is in the image');
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nRUN --mount=type=bogus,target=/x true\n');
  assert.match(d.berth(['build', dir]).stderr, /unsupported mount type "bogus"/);
});

test('independent stages build at the same time; the output still reads stage after stage', () => {
  const dir = join(ctx, 'parallel');
  mkdirSync(dir, { recursive: true });
  const stage = (name: string): string => `FROM busybox AS ${name}\nRUN cut -d' ' -f1 /proc/uptime > /start && sleep 2 && cut -d' ' -f1 /proc/uptime > /end && echo ${name} done\n`;
  writeFileSync(join(dir, 'Dockerfile'), `${stage('a')}${stage('b')}FROM busybox\nCOPY --from=a /start /a-start\nCOPY --from=a /end /a-end\nCOPY --from=b /start /b-start\nCOPY --from=b /end /b-end\nCMD ["cat", "/a-start", "/a-end", "/b-start", "/b-end"]\n`);
  const r = d.berth(['build', '--no-cache', '-t', 'parallel', dir]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const [aStart, aEnd, bStart, bEnd] = d.berth(['run', '--rm', 'parallel']).stdout.trim().split('\n').map(Number);
  assert.ok(bStart! < aEnd! && aStart! < bEnd!, 'the two RUN steps overlapped in time');
  // Output in Dockerfile order: all of stage a, then all of stage b, then the last stage.
  const lines = r.stdout.split('\n');
  const at = (s: string): number => lines.findIndex((l) => l.startsWith(s));
  assert.ok(at('Step 1/10 : FROM busybox AS a') < at('a done') && at('a done') < at('Step 3/10 : FROM busybox AS b') && at('Step 3/10') < at('b done') && at('b done') < at('Step 5/10 : FROM busybox'), r.stdout);
});
