// berth build's BuildKit-style output (plain and tty), --iidfile, the contexts
// that are not a directory (stdin, a URL), `-f -`, COPY --exclude and the
// build options that reach the RUN steps (--network, --add-host) or the base
// images (--pull, --platform), against a real daemon.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { daemonWithBusybox, eventually, ROOT } from './harness.js';
import { freePort } from '../helpers/registry.js';
import http from 'node:http';

const d = daemonWithBusybox();
const root = mkdtempSync('/tmp/bt-buildprog-');
after(() => rmSync(root, { recursive: true, force: true }));

function context(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), body);
  }
  return dir;
}

test('plain progress: BuildKit\'s #N lines on stderr, the output of RUN, CACHED on a rebuild, --iidfile', () => {
  const dir = context('plain', {
    Dockerfile: 'FROM busybox\nWORKDIR /app\nCOPY hello.txt ./\nRUN cat hello.txt && echo second line\nENV MODE=prod\nCMD ["cat", "/app/hello.txt"]\n',
    'hello.txt': 'hello from the context\n',
  });
  const iid = join(root, 'iid');
  const r = d.berth(['build', '--progress=plain', '--iidfile', iid, '-t', 'plain:1', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '', 'the display goes to stderr');
  const e = r.stderr;
  assert.match(e, /^#1 \[internal\] load build definition from Dockerfile\n#1 transferring dockerfile: \d+B done\n#1 DONE \d+\.\ds\n\n/);
  assert.match(e, /#\d+ \[internal\] load build context\n#\d+ transferring context: [\d.]+k?B done\n#\d+ DONE \d+\.\ds\n/);
  assert.match(e, /#\d+ \[internal\] load metadata for docker\.io\/library\/busybox:latest\n/);
  assert.match(e, /#\d+ \[1\/4\] FROM docker\.io\/library\/busybox:latest\n/);
  assert.match(e, /#(\d+) \[2\/4\] WORKDIR \/app\n#\1 DONE/);
  assert.match(e, /#(\d+) \[4\/4\] RUN cat hello\.txt && echo second line\n#\1 \d+\.\d{3} hello from the context\n#\1 \d+\.\d{3} second line\n#\1 DONE \d+\.\ds\n/);
  assert.doesNotMatch(e, /ENV MODE/, 'config-only instructions are not steps of their own');
  assert.match(e, /#(\d+) exporting to image\n#\1 exporting layers done\n#\1 writing image sha256:[a-f0-9]{64} done\n#\1 naming to docker\.io\/library\/plain:1 done\n#\1 DONE/);
  const id = d.berth(['image', 'inspect', '-f', '{{.Id}}', 'plain:1']).stdout.trim();
  assert.equal(readFileSync(iid, 'utf8'), id);
  assert.equal(d.berth(['run', '--rm', 'plain:1']).stdout, 'hello from the context\n');
  // Not a terminal and no --progress: plain as well.
  const again = d.berth(['build', '-t', 'plain:1', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /#(\d+) \[3\/4\] COPY hello\.txt \.\/\n#\1 CACHED\n/);
  assert.match(again.stderr, /#(\d+) \[4\/4\] RUN cat hello\.txt && echo second line\n#\1 CACHED\n/);
  // -q: the id alone, on stdout.
  const q = d.berth(['build', '-q', dir]);
  assert.equal(q.stdout, `${id}\n`);
  assert.equal(q.stderr, '');
});

test('a failing RUN: BuildKit\'s error block with the step\'s output and the Dockerfile around it, exit 1', () => {
  const dir = context('fail', { Dockerfile: 'FROM busybox\nENV A=1\nRUN echo about to fail && exit 3\nCMD ["true"]\n' });
  const r = d.berth(['build', '--progress=plain', dir]);
  assert.equal(r.code, 1);
  const e = r.stderr;
  assert.match(e, /#(\d+) \[2\/2\] RUN echo about to fail && exit 3\n#\1 \d+\.\d{3} about to fail\n#\1 ERROR: process "\/bin\/sh -c echo about to fail && exit 3" did not complete successfully: exit code: 3\n/);
  assert.match(e, /------\n > \[2\/2\] RUN echo about to fail && exit 3:\n\d+\.\d{3} about to fail\n------\n/);
  assert.match(e, /Dockerfile:3\n--------------------\n {3}1 \| {5}FROM busybox\n {3}2 \| {5}ENV A=1\n {3}3 \| >>> RUN echo about to fail && exit 3\n {3}4 \| {5}CMD \["true"\]\n/);
  assert.match(e, /ERROR: failed to solve: process "\/bin\/sh -c echo about to fail && exit 3" did not complete successfully: exit code: 3\n$/);
});

test('a step\'s output is never clipped (BuildKit stops at 2 MiB)', () => {
  const dir = context('big', { Dockerfile: 'FROM busybox\nRUN seq 1 300000\n' });
  const r = d.berth(['build', '--progress=plain', '--no-cache', dir], { timeout: 120_000 });
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const lines = r.stderr.split('\n').filter((l) => /^#\d+ \d+\.\d{3} \d+$/.test(l));
  assert.equal(lines.length, 300000);
  assert.match(lines[lines.length - 1]!, / 300000$/);
});

test('tty progress: redrawn in place, FINISHED at the end; a failure keeps the whole output in a file', () => {
  const dir = context('tty', {
    Dockerfile: 'FROM busybox AS one\nRUN echo stage one\nFROM busybox\nCOPY --from=one /bin/busybox /copied\nRUN echo done\n',
  });
  const cmd = (args: string): string => `stty cols 160 rows 50; ${join(ROOT, 'dist/berth.js')} -H unix://${d.socket} ${args}`;
  // `script` gives the CLI a real terminal.
  const r = spawnSync('script', ['-qfec', cmd(`build --progress=tty -t tty:1 ${dir}`), '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout);
  assert.ok(/\[\d+A\r/.test(r.stdout) && r.stdout.includes(`${String.fromCharCode(27)}[`), "the display moves the cursor up to redraw");
  assert.match(r.stdout, /\[\+\] Building \d+\.\ds \((\d+)\/\1\) FINISHED/);
  assert.match(r.stdout, / => \[one 2\/2\] RUN echo stage one/);
  assert.match(r.stdout, / => \[stage-1 2\/3\] COPY --from=one \/bin\/busybox \/copied/);
  assert.match(r.stdout, / => => naming to docker\.io\/library\/tty:1/);
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nRUN for i in $(seq 1 50); do echo line $i; done; exit 7\n');
  const f = spawnSync('script', ['-qfec', cmd(`build --progress=tty ${dir}`), '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
  assert.notEqual(f.status, 0);
  assert.match(f.stdout, / => ERROR \[2\/2\] RUN for i in/);
  assert.match(f.stdout, /line 50\r?\n/, 'the error block shows the last lines');
  const log = /The whole build output is in (\S+)/.exec(f.stdout)?.[1];
  assert.ok(log && existsSync(log), f.stdout);
  const kept = readFileSync(log, 'utf8');
  assert.match(kept, / line 1\n/);
  assert.match(kept, / line 50\n/);
  rmSync(join(log, '..'), { recursive: true, force: true });
});

test('contexts: a Dockerfile on stdin, a tar on stdin, -f - with a directory, a URL to a tar or a Dockerfile', async () => {
  const viaStdin = d.berth(['build', '-q', '-'], { input: 'FROM busybox\nRUN echo from stdin > /f\nCMD ["cat", "/f"]\n' });
  assert.equal(viaStdin.code, 0, viaStdin.stderr);
  assert.equal(d.berth(['run', '--rm', viaStdin.stdout.trim()]).stdout, 'from stdin\n');
  const dir = context('tarctx', { Dockerfile: 'FROM busybox\nCOPY data.txt /data.txt\nCMD ["cat", "/data.txt"]\n', 'data.txt': 'from a tar\n', 'Other.dockerfile': 'FROM busybox\nCOPY data.txt /other\nCMD ["cat", "/other"]\n' });
  const tar = execFileSync('tar', ['-cz', '-C', dir, '.']);
  const viaTar = d.berth(['build', '-q', '-t', 'tarctx', '-'], { input: tar });
  assert.equal(viaTar.code, 0, viaTar.stderr);
  assert.equal(d.berth(['run', '--rm', 'tarctx']).stdout, 'from a tar\n');
  const named = d.berth(['build', '-q', '-f', 'Other.dockerfile', '-'], { input: tar });
  assert.equal(d.berth(['run', '--rm', named.stdout.trim()]).stdout, 'from a tar\n');
  const dashF = d.berth(['build', '-q', '-f', '-', dir], { input: 'FROM busybox\nCOPY data.txt /dash-f\nCMD ["cat", "/dash-f"]\n' });
  assert.equal(dashF.code, 0, dashF.stderr);
  assert.equal(d.berth(['run', '--rm', dashF.stdout.trim()]).stdout, 'from a tar\n');
  assert.match(d.berth(['build', '-f', '-', '-'], { input: 'x' }).stderr, /can't use stdin for both build context and dockerfile/);

  const served = mkdtempSync('/tmp/bt-ctxserve-');
  writeFileSync(join(served, 'ctx.tar.gz'), tar);
  writeFileSync(join(served, 'Dockerfile'), 'FROM busybox\nRUN echo remote dockerfile > /r\nCMD ["cat", "/r"]\n');
  const port = await freePort();
  const server = spawn(process.execPath, ['-e', `require('http').createServer((q, r) => { require('fs').readFile(require('path').join(${JSON.stringify(served)}, require('path').basename(q.url)), (e, b) => { if (e) { r.writeHead(404); r.end(); return; } r.end(b); }); }).listen(${port}, '127.0.0.1')`], { stdio: 'ignore' });
  try {
    await eventually(async () => { try { await fetch(`http://127.0.0.1:${port}/x`); return true; } catch { return undefined; } });
    const remoteTar = d.berth(['build', '-q', `http://127.0.0.1:${port}/ctx.tar.gz`]);
    assert.equal(remoteTar.code, 0, remoteTar.stderr);
    assert.equal(d.berth(['run', '--rm', remoteTar.stdout.trim()]).stdout, 'from a tar\n');
    const remoteFile = d.berth(['build', '-q', `http://127.0.0.1:${port}/Dockerfile`]);
    assert.equal(remoteFile.code, 0, remoteFile.stderr);
    assert.equal(d.berth(['run', '--rm', remoteFile.stdout.trim()]).stdout, 'remote dockerfile\n');
    assert.match(d.berth(['build', `http://127.0.0.1:${port}/missing.tar`]).stderr, /unable to download remote context http:\/\/127\.0\.0\.1:\d+\/missing\.tar: 404/);
  } finally {
    server.kill('SIGKILL');
    rmSync(served, { recursive: true, force: true });
  }
});

test('COPY --exclude leaves files behind, and changing an excluded file keeps the step cached', () => {
  const dir = context('exclude', {
    Dockerfile: 'FROM busybox\nCOPY --exclude=*.md --exclude=secret/ . /app/\nCOPY --exclude=*.log logs/ /logs/\nCMD ["sh", "-c", "cd /app && find . -type f | sort; ls /logs"]\n',
    'keep.txt': 'k', 'README.md': 'r', 'sub/nested.md': 'n', 'secret/key': 's', 'logs/a.log': 'a', 'logs/b.txt': 'b',
  });
  const r = d.berth(['build', '--progress=plain', '-t', 'exclude:1', dir]);
  assert.equal(r.code, 0, r.stderr);
  const files = d.berth(['run', '--rm', 'exclude:1']).stdout.split('\n').filter(Boolean);
  // *.md matches at the top of the copied directory only, as .dockerignore patterns do.
  assert.deepEqual(files, ['./Dockerfile', './keep.txt', './logs/a.log', './logs/b.txt', './sub/nested.md', 'b.txt']);
  writeFileSync(join(dir, 'README.md'), 'changed, but excluded');
  const again = d.berth(['build', '--progress=plain', '-t', 'exclude:1', dir]);
  assert.match(again.stderr, /#(\d+) \[2\/3\] COPY --exclude=\*\.md --exclude=secret\/ \. \/app\/\n#\1 CACHED\n/);
});

test('--network none and --add-host reach the RUN steps; --platform and --pull are honoured', () => {
  const dir = context('net', { Dockerfile: 'FROM busybox\nRUN grep -c eth0 /proc/net/dev > /eth || true; grep myhost /etc/hosts > /hosts\nCMD ["cat", "/eth", "/hosts"]\n' });
  const r = d.berth(['build', '-q', '--network', 'none', '--add-host', 'myhost:10.9.8.7', dir]);
  assert.equal(r.code, 0, r.stderr);
  const [eth, hosts] = d.berth(['run', '--rm', r.stdout.trim()]).stdout.split('\n');
  assert.equal(eth, '0', 'no eth0 with --network none');
  assert.match(hosts!, /^10\.9\.8\.7\s+myhost$/);
  assert.match(d.berth(['build', '--network', 'bogus', dir]).stderr, /network mode "bogus" not supported/);
  assert.match(d.berth(['build', '--platform', 'linux/arm64', dir]).stderr, /no match for platform linux\/arm64/);
  // An image that is here under a registry's name: used as is, unless --pull asks the registry.
  assert.equal(d.berth(['tag', 'busybox', '127.0.0.1:9/local/busybox:1']).code, 0);
  writeFileSync(join(dir, 'Dockerfile'), 'FROM 127.0.0.1:9/local/busybox:1\nRUN true\n');
  assert.equal(d.berth(['build', '-q', dir]).code, 0);
  const pulled = d.berth(['build', '--pull', '--progress=plain', dir]);
  assert.equal(pulled.code, 1);
  assert.match(pulled.stderr, /#\d+ \[1\/2\] FROM 127\.0\.0\.1:9\/local\/busybox:1\n(.*\n)*#\d+ ERROR: .*127\.0\.0\.1:9/);
});

test('RUN cmd <<EOF hands the heredocs to the shell; ADD unpacks bzip2 and xz tars; a bzip2 context on stdin', () => {
  const dir = context('heredoc', { 'payload/x.txt': 'in bzip2\n', 'payload2/y.txt': 'in xz\n' });
  execFileSync('tar', ['-cjf', join(dir, 'a.tar.bz2'), '-C', join(dir, 'payload'), '.']);
  execFileSync('tar', ['-cJf', join(dir, 'b.tar.xz'), '-C', join(dir, 'payload2'), '.']);
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nENV WHO=world\nRUN cat <<EOF > /f && cat <<-"TWO" >> /f\nhello $WHO\nEOF\n\tsecond $WHO\n\tTWO\nADD a.tar.bz2 /bz/\nADD b.tar.xz /xz/\nCMD ["cat", "/f", "/bz/x.txt", "/xz/y.txt"]\n');
  const r = d.berth(['build', '-q', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(d.berth(['run', '--rm', r.stdout.trim()]).stdout, 'hello world\nsecond $WHO\nin bzip2\nin xz\n');
  const bz = d.berth(['build', '-q', '-'], { input: execFileSync('tar', ['-cj', '-C', dir, '.']) });
  assert.equal(bz.code, 0, bz.stderr);
  assert.equal(d.berth(['run', '--rm', bz.stdout.trim()]).stdout, 'hello world\nsecond $WHO\nin bzip2\nin xz\n');
});

test('RUN --mount=type=secret and type=ssh: usable in the step, never in the image, its history or the daemon\'s disk', async () => {
  const secretFile = join(root, 'token.txt');
  writeFileSync(secretFile, 's3cr3t');
  const sock = join(root, 'agent.sock');
  // A stand-in for ssh-agent: any listening unix socket, in its own process.
  const agent = spawn(process.execPath, ['-e', `require('net').createServer(() => {}).listen(${JSON.stringify(sock)})`], { stdio: 'ignore' });
  try {
    await eventually(() => (existsSync(sock) ? true : undefined));
    const dir = context('secret', {
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /len',
        'RUN --mount=type=secret,id=token,env=TOKEN sh -c \'test "${#TOKEN}" = 6 && echo env-ok > /env\'',
        'RUN --mount=type=secret,id=token,target=/opt/tok,uid=1000,mode=0440 stat -c "%u %a" /opt/tok > /owner',
        'RUN --mount=type=secret,id=absent true',
        'RUN --mount=type=ssh sh -c \'test -S "$SSH_AUTH_SOCK" && echo ssh-ok > /ssh\'',
        'CMD ["sh", "-c", "cat /len /env /owner /ssh; ls -A /run/secrets /opt | wc -w; env | grep -c TOKEN"]',
        '',
      ].join('\n'),
    });
    const r = d.berth(['build', '--progress=plain', '--secret', `id=token,src=${secretFile}`, '--ssh', `default=${sock}`, '-t', 'secret:1', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(d.berth(['run', '--rm', 'secret:1']).stdout, '6\nenv-ok\n1000 440\nssh-ok\n0\n0\n');
    assert.doesNotMatch(d.berth(['history', '--no-trunc', 'secret:1']).stdout, /s3cr3t/);
    const saved = join(root, 'secret.tar');
    assert.equal(d.berth(['save', '-o', saved, 'secret:1']).code, 0);
    assert.equal(spawnSync('sh', ['-c', `tar -xOf ${saved} | zcat -f | grep -c s3cr3t`], { encoding: 'utf8' }).stdout.trim(), '0', 'the secret is in no layer or config');
    assert.deepEqual(spawnSync('sh', ['-c', `ls -A ${join(d.execRoot, 'build-secrets')} 2>/dev/null`], { encoding: 'utf8' }).stdout, '', 'secrets are gone after the build');
    // A secret by environment variable; a required secret that was not given.
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nRUN --mount=type=secret,id=API_KEY,env=K sh -c \'test "$K" = from-env\'\nRUN --mount=type=secret,id=needed,required=true true\n');
    const missing = d.berth(['build', '--progress=plain', '--secret', 'id=API_KEY', dir], { env: { API_KEY: 'from-env' } });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /#\d+ \[2\/3\] RUN --mount=type=secret,id=API_KEY,env=K .*\n#\d+ DONE/);
    assert.match(missing.stderr, /secret needed not found \(use --secret id=needed,src=FILE\)/);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nRUN --mount=type=ssh true\n');
    assert.match(d.berth(['build', dir]).stderr, /no SSH key "default" forwarded from the client \(use --ssh default\)/);
  } finally {
    agent.kill('SIGKILL');
  }
});

test('git contexts: a repository served by git daemon, by branch, tag, commit and subdirectory, from the CLI and from the API; a bad ref fails clearly', async () => {
  const repos = join(root, 'git-repos');
  const work = join(root, 'git-work');
  mkdirSync(join(work, 'sub'), { recursive: true });
  const g = (...args: string[]): string => execFileSync('git', ['-C', work, '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { encoding: 'utf8' }).trim();
  execFileSync('git', ['init', '-q', '-b', 'main', work]);
  writeFileSync(join(work, 'Dockerfile'), 'FROM busybox\nCOPY . /src/\nCMD ["cat", "/src/which.txt"]\n');
  writeFileSync(join(work, 'which.txt'), 'root v1\n');
  writeFileSync(join(work, 'sub/Dockerfile'), 'FROM busybox\nCOPY which.txt /which.txt\n');
  writeFileSync(join(work, 'sub/which.txt'), 'sub\n');
  g('add', '.');
  g('commit', '-q', '-m', 'v1');
  g('tag', 'v1');
  const first = g('rev-parse', 'HEAD');
  writeFileSync(join(work, 'which.txt'), 'root v2\n');
  g('commit', '-q', '-am', 'v2');
  mkdirSync(repos);
  execFileSync('git', ['clone', '-q', '--bare', work, join(repos, 'app.git')]);
  const port = await freePort();
  const daemon = spawn('git', ['daemon', '--reuseaddr', '--export-all', `--base-path=${repos}`, '--listen=127.0.0.1', `--port=${port}`, repos], { stdio: 'ignore' });
  try {
    const url = `git://127.0.0.1:${port}/app.git`;
    assert.ok(await eventually(() => spawnSync('git', ['ls-remote', url], { stdio: 'ignore' }).status === 0, 10_000), 'git daemon is up');
    const built = (ref: string, extra: string[] = []): string => {
      const r = d.berth(['build', '-q', ...extra, `${url}${ref}`]);
      assert.equal(r.code, 0, r.stderr);
      return d.berth(['run', '--rm', r.stdout.trim(), 'cat', ref.includes(':sub') ? '/which.txt' : '/src/which.txt']).stdout;
    };
    assert.equal(built(''), 'root v2\n');
    assert.equal(built('#main'), 'root v2\n');
    assert.equal(built('#v1'), 'root v1\n');
    assert.equal(built(`#${first}`), 'root v1\n');
    assert.equal(built('#main:sub'), 'sub\n');
    // The .git directory is not part of the context.
    const ls = d.berth(['build', '-q', url]);
    assert.equal(d.berth(['run', '--rm', ls.stdout.trim(), 'ls', '-a', '/src']).stdout.split('\n').includes('.git'), false);
    // API clients (docker-py's remote=) have berthd clone it.
    const api = await new Promise<string>((resolve, reject) => {
      const req = http.request({ socketPath: d.socket, method: 'POST', path: `/build?q=1&remote=${encodeURIComponent(`${url}#v1`)}` }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
    const id = /"stream":"(sha256:[a-f0-9]{64})\\n"/.exec(api)?.[1];
    assert.ok(id, api);
    assert.equal(d.berth(['run', '--rm', id, 'cat', '/src/which.txt']).stdout, 'root v1\n');
    const bad = d.berth(['build', '-q', `${url}#no-such-branch`]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unable to prepare context: unable to 'git clone' to temporary context directory: .*no-such-branch/s);
    const badDir = d.berth(['build', '-q', `${url}#main:nope`]);
    assert.match(badDir.stderr, /subdirectory "nope" not found/);
  } finally {
    daemon.kill();
  }
});

