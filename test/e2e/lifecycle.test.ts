// The container lifecycle through the berth CLI and the docker CLI against a real berthd.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon, daemonWithBusybox, hasDockerCli, eventually, sleep } from './harness.js';

const d = daemonWithBusybox();
/** ids of detached containers, to look for their cgroups at the end */
const createdIds = new Set<string>();

for (const cli of ['berth', 'docker'] as const) {
  describe(`${cli} CLI`, { skip: cli === 'docker' && !hasDockerCli() }, () => {
    const c = (args: string[], opts?: Parameters<Daemon['berth']>[1]): ReturnType<Daemon['berth']> =>
      cli === 'berth' ? d.berth(args, opts) : d.docker(args, opts);

    test('run --rm prints output and leaves nothing behind', () => {
      const listed = c(['ps', '-a', '-q', '--no-trunc']).stdout;
      const r = c(['run', '--rm', 'busybox', 'echo', 'hello']);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, 'hello\n');
      assert.equal(r.code, 0);
      assert.equal(c(['ps', '-a', '-q', '--no-trunc']).stdout, listed);
    });

    test('run returns the exit code and keeps stdout and stderr apart', () => {
      const r = c(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
      assert.equal(r.code, 3);
      assert.equal(r.stdout, 'out\n');
      assert.equal(r.stderr, 'err\n');
    });

    test('env, workdir, user, hostname, entrypoint and labels reach the container', () => {
      const r = c(['run', '--rm', '-e', 'FOO=bar', '-w', '/tmp', '-u', 'nobody', '--hostname', 'box1',
        'busybox', 'sh', '-c', 'echo $FOO $(pwd) $(id -u) $(hostname)']);
      assert.equal(r.stdout, 'bar /tmp 65534 box1\n', r.stderr);
      const e = c(['run', '--rm', '--entrypoint', 'echo', 'busybox', 'from', 'entrypoint']);
      assert.equal(e.stdout, 'from entrypoint\n', e.stderr);
    });

    test('--cidfile gets the id, an existing one is refused; ps --format json', () => {
      const dir = mkdtempSync(join(tmpdir(), 'berth-cid-'));
      const file = join(dir, 'cid');
      try {
        const r = c(['run', '-d', '--cidfile', file, '-v', `vol-${cli}:/data`, '-l', 'x=<y>', '--name', `cid-${cli}`, 'busybox', 'sleep', '100']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(readFileSync(file, 'utf8'), r.stdout.trim());
        const again = c(['run', '-d', '--cidfile', file, 'busybox', 'true']);
        assert.equal(again.code, 125);
        assert.equal(again.stderr, `${cli}: container ID file found, make sure the other container isn't running or delete ${file}\n\nRun '${cli} run --help' for more information\n`);
        const again2 = c(['create', '--cidfile', file, 'busybox', 'true']);
        assert.deepEqual([again2.code, again2.stderr], [1, `container ID file found, make sure the other container isn't running or delete ${file}\n`]);
        rmSync(file);
        const bad = c(['create', '--cidfile', file, 'busybox:nosuchtag', 'true']);
        assert.notEqual(bad.code, 0);
        assert.ok(!existsSync(file), 'no id file is left when the create fails');

        const rows = c(['ps', '--filter', `name=cid-${cli}`, '--format', 'json']).stdout.trim().split('\n');
        assert.equal(rows.length, 1, rows.join('\n'));
        const row = JSON.parse(rows[0]!) as Record<string, string>;
        assert.deepEqual(Object.keys(row), ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Names', 'Networks', 'Platform', 'Ports', 'RunningFor', 'Size', 'State', 'Status']);
        assert.deepEqual([row.Names, row.Labels, row.LocalVolumes, row.Mounts, row.Networks, row.State], [`cid-${cli}`, 'x=<y>', '1', `vol-${cli}`, 'bridge', 'running']);
        assert.match(rows[0]!, /"Labels":"x=\\u003cy\\u003e"/);
        assert.equal(c(['rm', '-f', '-v', `cid-${cli}`]).code, 0);
        c(['volume', 'rm', `vol-${cli}`]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('detached container: ps, logs, stop, rm', async () => {
      const name = `web-${cli}`;
      const r = c(['run', '-d', '--name', name, '-l', 'app=web', 'busybox', 'sh', '-c', 'echo started; exec sleep 1000']);
      assert.equal(r.code, 0, r.stderr);
      const id = r.stdout.trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      createdIds.add(id);
      const ps = c(['ps']);
      assert.match(ps.stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n/);
      const line = ps.stdout.split('\n').find((l) => l.startsWith(id.slice(0, 12)));
      assert.ok(line, ps.stdout);
      assert.match(line!, /busybox\s+"sh -c 'echo started…"\s+.*ago\s+Up (Less than a second|\d+ seconds?)\s+web-/);
      const logs = await eventually(() => {
        const l = c(['logs', name]);
        return l.stdout === 'started\n' ? l : undefined;
      });
      assert.ok(logs, 'logs show the output');
      const stop = c(['stop', '-t', '1', name]);
      assert.equal(stop.stdout, `${name}\n`);
      const after = c(['ps', '-a', '--filter', `name=${name}`]);
      assert.match(after.stdout, /Exited \(137\) (Less than a second|\d+ seconds?) ago/);
      const rm = c(['rm', name]);
      assert.equal(rm.stdout, `${name}\n`);
      assert.equal(c(['ps', '-a', '-q', '--filter', `name=${name}`]).stdout, '');
    });

    test('stop sends SIGTERM first: a process that exits on TERM stops at once', () => {
      const name = `term-${cli}`;
      c(['run', '-d', '--name', name, 'busybox', 'sh', '-c', "trap 'exit 0' TERM; while true; do sleep 0.1; done"]);
      const t0 = Date.now();
      assert.equal(c(['stop', name]).code, 0);
      assert.ok(Date.now() - t0 < 8000);
      const code = c(['inspect', '-f', '{{.State.ExitCode}}', name]);
      if (code.code === 0) assert.equal(code.stdout.trim(), '0');
      c(['rm', name]);
    });

    test('unknown image, unknown container, name conflict', () => {
      const r = c(['run', '--rm', 'nosuchimage']);
      assert.equal(r.code, 125);
      assert.match(r.stderr, /Unable to find image 'nosuchimage:latest' locally/);
      const rm = c(['rm', 'nosuchcontainer']);
      assert.equal(rm.code, 1);
      assert.match(rm.stderr, /Error response from daemon: No such container: nosuchcontainer/);
      const name = `dup-${cli}`;
      assert.equal(c(['create', '--name', name, 'busybox', 'true']).code, 0);
      const dup = c(['create', '--name', name, 'busybox', 'true']);
      assert.equal(dup.code, 1);
      assert.match(dup.stderr, new RegExp(`Conflict. The container name "/${name}" is already in use by container`));
      c(['rm', name]);
    });

    test('command not found exits 127, not executable 126', () => {
      const r = c(['run', '--rm', 'busybox', 'nosuchcmd']);
      assert.equal(r.code, 127);
      assert.match(r.stderr, /executable file not found in \$PATH/);
      const r2 = c(['run', '--rm', 'busybox', '/etc/passwd']);
      assert.equal(r2.code, 126, r2.stderr);
    });

    test('kill, restart, rename, wait', async () => {
      const name = `k-${cli}`;
      c(['run', '-d', '--name', name, 'busybox', 'sleep', '1000']);
      assert.equal(c(['kill', '-s', 'KILL', name]).stdout, `${name}\n`);
      const w = c(['wait', name]);
      assert.equal(w.stdout, '137\n');
      assert.equal(c(['restart', '-t', '0', name]).code, 0);
      assert.match(c(['ps', '--filter', `name=${name}`]).stdout, /Up/);
      assert.equal(c(['rename', name, `${name}-new`]).code, 0);
      const rmRunning = c(['rm', `${name}-new`]);
      assert.equal(rmRunning.code, 1);
      assert.match(rmRunning.stderr, /container is running: stop the container before removing or force remove/);
      assert.equal(c(['rm', '-f', `${name}-new`]).code, 0);
      await sleep(10);
    });

    test('as dockerd: -e NAME with NAME unset on the client unsets it; the primary group is among the groups; a bad stop signal is refused', () => {
      // The client's environment lacks UNSET_HERE, so `-e UNSET_HERE` reaches the daemon as a bare name.
      const env = { UNSET_HERE: '' };
      delete (env as Record<string, string | undefined>).UNSET_HERE;
      // (A bare HOSTNAME drops dockerd's default; busybox's sh sets its own, so look at env.)
      const bare = c(['run', '--rm', '-e', 'A=1', '-e', 'UNSET_HERE', '-e', 'HOSTNAME', 'busybox', 'sh', '-c', 'echo "$A-${UNSET_HERE-unset}"; env | grep -c -e ^HOSTNAME= -e ^UNSET_HERE || true']);
      assert.equal(bare.code, 0, bare.stderr);
      assert.equal(bare.stdout, '1-unset\n0\n');
      assert.equal(c(['run', '--rm', '-u', 'nobody', 'busybox', 'id']).stdout, 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n');
      assert.equal(c(['run', '--rm', '-u', '4242:4242', 'busybox', 'id', '-G']).stdout, '4242\n');
      const name = `groups-${cli}`;
      assert.equal(c(['run', '-d', '--name', name, '--group-add', '1234', '-e', 'KEEP=1', 'busybox', 'sleep', '100']).code, 0);
      try {
        // An exec gets the same: the user's group first, then --group-add; and it can unset a variable too.
        assert.equal(c(['exec', '-u', '4242:4242', name, 'id', '-G']).stdout, '4242 1234\n');
        assert.equal(c(['exec', '-e', 'KEEP', name, 'sh', '-c', 'echo ${KEEP-unset}']).stdout, 'unset\n');
        assert.equal(c(['exec', name, 'sh', '-c', 'echo $KEEP']).stdout, '1\n');
      } finally {
        c(['rm', '-f', name]);
      }
      const badSignal = c(['run', '--rm', '--stop-signal', 'FOO', 'busybox', 'true']);
      assert.equal(badSignal.code, 125);
      assert.match(badSignal.stderr, /Error response from daemon: Invalid signal: FOO/);
      assert.equal(c(['create', '--name', `${name}-signal`, '--stop-signal', 'sigusr1', 'busybox']).code, 0);
      assert.equal(c(['rm', `${name}-signal`]).code, 0);
      const badMount = c(['run', '--rm', '--mount', 'type=foo,target=/x', 'busybox', 'true']);
      assert.equal(badMount.code, 125);
      assert.match(badMount.stderr, /invalid mount config for type "foo": mount type unknown/);
    });
  });
}

test('an --rm container\'s rootfs skips syncs (volatile); a kept container\'s does not', () => {
  const rm = d.berth(['run', '-d', '--rm', 'busybox', 'sleep', '60']).stdout.trim();
  const kept = d.berth(['run', '-d', 'busybox', 'sleep', '60']).stdout.trim();
  const options = (id: string): string => {
    const line = d.mounts().find((l) => l.includes(`/containers/${id}/rootfs`));
    assert.ok(line, `rootfs of ${id} mounted`);
    return line;
  };
  assert.match(options(rm), /[ ,=]volatile\b/); // `volatile`, or `fsync=volatile` on newer kernels
  assert.doesNotMatch(options(kept), /volatile/);
  assert.equal(d.berth(['rm', '-f', rm, kept]).code, 0);
});

test('restart of an --rm container brings it back (as Docker: not removed by the restart\'s stop); its next stop removes it', async () => {
  const id = d.berth(['run', '-d', '--rm', 'busybox', 'sleep', '60']).stdout.trim();
  const pid = d.berth(['inspect', '-f', '{{.State.Pid}}', id]).stdout.trim();
  const r = d.berth(['restart', '-t', '1', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(d.berth(['inspect', '-f', '{{.State.Status}}', id]).stdout.trim(), 'running');
  assert.notEqual(d.berth(['inspect', '-f', '{{.State.Pid}}', id]).stdout.trim(), pid, 'a new process');
  // Mounted volatile again over the same work directory (overlayfs' marker of the first mount is cleared).
  assert.match(d.mounts().find((l) => l.includes(`/containers/${id}/rootfs`)) ?? '', /[ ,=]volatile\b/);
  assert.equal(d.berth(['stop', '-t', '1', id]).code, 0);
  await eventually(() => !d.berth(['ps', '-a', '-q', '--no-trunc']).stdout.includes(id) || undefined);
  assert.equal(d.berth(['inspect', id]).code, 1, 'removed after its own stop');
});

test('nothing leaks after containers are removed: mounts, monitors, runtime state, cgroups', async () => {
  assert.equal(d.berth(['ps', '-a', '-q']).stdout, '');
  // A removal deletes the container's directories after it has answered.
  await eventually(() => readdirSync(join(d.dataRoot, 'containers')).length === 0 || undefined);
  const rootfsMounts = d.mounts().filter((l) => l.includes('/rootfs'));
  assert.deepEqual(rootfsMounts, []);
  const monitors = spawnSync('pgrep', ['-f', `conmon.*${d.dir}`], { encoding: 'utf8' }).stdout.trim();
  assert.equal(monitors, '');
  const runtimeState = spawnSync('runc', ['--root', join(d.execRoot, 'runtime'), 'list', '-q'], { encoding: 'utf8' }).stdout.trim();
  assert.equal(runtimeState, '');
  assert.deepEqual(readdirSync(join(d.execRoot, 'containers')), []);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'containers')), []);
  // conmon's short-address links to the bundles
  assert.deepEqual(readdirSync(join(d.execRoot, 'sockets')), []);
  // Every hierarchy (v1 controllers, the hybrid's unified one, or v2 itself).
  for (const dir of ['/sys/fs/cgroup/berth', ...readdirSync('/sys/fs/cgroup').map((c) => `/sys/fs/cgroup/${c}/berth`)]) {
    if (!existsSync(dir)) continue;
    const left = readdirSync(dir).filter((f) => /^[0-9a-f]{64}$/.test(f) && createdIds.has(f));
    assert.deepEqual(left, [], `${dir}: cgroups left`);
  }
});

test('the CLI starts from the code cache made by the build', () => {
  const r = d.berth(['--version'], { env: { BERTH_CODE_CACHE_REPORT: '1' } });
  assert.equal(r.code, 0);
  assert.equal(r.stderr, 'code cache: accepted\n');
});

test('a reader that goes away ends the CLI quietly (exit 141, no stack trace); --format json for single objects', async () => {
  const ev = d.berthSpawn(['events', '--filter', 'type=container', '--format', 'json']);
  let stderr = '';
  ev.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  const first = new Promise<string>((resolve) => ev.stdout!.once('data', (b: Buffer) => resolve(b.toString())));
  await sleep(300);
  assert.equal(d.berth(['create', '--name', 'pipe1', 'busybox', 'true']).code, 0);
  const line = await first;
  assert.equal((JSON.parse(line.split('\n')[0]!) as { Action: string }).Action, 'create');
  ev.stdout!.destroy();
  const exited = new Promise<number | null>((resolve) => ev.on('exit', (code) => resolve(code)));
  assert.equal(d.berth(['rm', 'pipe1']).code, 0);
  assert.equal(await exited, 141);
  assert.equal(stderr, '');

  const inspected = d.berth(['inspect', '--format', 'json', 'busybox']);
  assert.equal(inspected.stdout.split('\n').length, 2, 'one line');
  assert.equal((JSON.parse(inspected.stdout) as Array<{ RepoTags: string[] }>)[0]!.RepoTags[0], 'busybox:latest');
  assert.equal((JSON.parse(d.berth(['version', '--format', 'json']).stdout) as { Client: { Version: string } }).Client.Version, '0.1.0');
  const bad = d.berth(['version', '--format', '{{.Client']);
  assert.deepEqual([bad.code, bad.stderr], [1, 'template parsing error: template: :1: unclosed action\n']);
});
