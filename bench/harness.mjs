// What every benchmark here shares: a berthd of its own with temporary roots
// and a local busybox image, the three ways of driving an engine (berth CLI →
// berthd, docker CLI → berthd, docker CLI → dockerd), timing, medians and the
// report of ratios. The berth CLI is executed as users run it, through its shebang.
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import http from 'node:http';

export const ROOT = resolve(import.meta.dirname, '..');

export function runsFromArgs(dflt = 20) {
  return Number(process.argv[process.argv.indexOf('--runs') + 1]) || dflt;
}

export const must = ([cmd, args]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

export const time = (c) => {
  const t0 = process.hrtime.bigint();
  must(c);
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Start berthd on temporary roots, import busybox into it (and into dockerd if one runs). */
export async function setup() {
  const dir = mkdtempSync('/tmp/berth-bench-');
  const sock = join(dir, 'b.sock');
  writeFileSync(join(dir, 'daemon.json'), '{}');
  const tar = join(dir, 'busybox.tar');
  spawnSync('sh', [join(ROOT, 'scripts/make-busybox-rootfs.sh'), tar], { stdio: 'inherit' });
  // A bridge of its own, removed at the end: each run has a new data root, and
  // a shared default bridge would keep every run's subnet.
  const bridge = `bbench${process.pid % 100000}`;
  // With the Node flags of berthd's shebang (scripts/build.mjs), as it ships.
  const flags = readFileSync(join(ROOT, 'dist/berthd.js'), 'utf8').slice(0, 300).split('\n')[0].split(' ').filter((a) => a.startsWith('--'));
  const berthd = spawn(process.execPath, [...flags, join(ROOT, 'dist/berthd.js'), '--config-file', join(dir, 'daemon.json'),
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'run'), '-H', `unix://${sock}`, '--bridge', bridge, '-l', 'warn'], { stdio: 'inherit' });
  const ping = () => new Promise((r) => { const q = http.get({ socketPath: sock, path: '/_ping' }, (s) => { s.resume(); r(true); }); q.on('error', () => r(false)); });
  for (let i = 0; i < 100 && !(await ping()); i++) await new Promise((r) => setTimeout(r, 50));

  const berth = (args) => [join(ROOT, 'dist/berth.js'), ['-H', `unix://${sock}`, ...args]];
  const dockerOnBerth = (args) => ['docker', ['-H', `unix://${sock}`, ...args]];
  const docker = (args) => ['docker', ['-H', 'unix:///var/run/docker.sock', ...args]];
  must(berth(['import', tar, 'busybox:latest']));
  const haveDocker = existsSync('/var/run/docker.sock') && spawnSync('docker', ['-H', 'unix:///var/run/docker.sock', 'version'], { stdio: 'ignore' }).status === 0;
  if (haveDocker) must(docker(['import', tar, 'busybox:latest']));
  const engines = { 'berth CLI → berthd': berth, 'docker CLI → berthd': dockerOnBerth };
  if (haveDocker) engines['docker CLI → dockerd'] = docker;
  // Podman on request (`--podman`, apt-get install podman): the goals
  // are set against the better of Docker and Podman.
  if (process.argv.includes('--podman') && spawnSync('podman', ['--version'], { stdio: 'ignore' }).status === 0) {
    must(podman(['import', tar, 'busybox:latest']));
    engines['podman CLI → podman'] = podman;
  }

  const teardown = async () => {
    berthd.kill('SIGTERM');
    await new Promise((r) => berthd.once('exit', r));
    spawnSync('sh', ['-c', `for id in $(runc --root ${dir}/run/runtime list -q); do runc --root ${dir}/run/runtime delete -f $id; done; grep -o ' ${dir}[^ ]*' /proc/self/mountinfo | xargs -r -n1 umount -l`]);
    rmSync(dir, { recursive: true, force: true });
    removeBridge(bridge);
  };
  return { berth, docker, engines, haveDocker, teardown };
}

/**
 * Podman, driven as Docker is. Two differences of its defaults are taken
 * out: it sets RLIMIT_NOFILE and RLIMIT_NPROC in every container, which
 * fails without CAP_SYS_RESOURCE (these machines lack it), so it is given
 * limits below the current ones; and its `rm -f` stops with SIGTERM and a
 * 10 s timeout where Docker's kills at once, so it gets `-t 0`.
 */
function podman(args) {
  if (args[0] === 'run' || args[0] === 'create') return ['podman', [args[0], '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', ...args.slice(1)]];
  if (args[0] === 'rm' && args.includes('-f')) return ['podman', ['rm', '-t', '0', ...args.slice(1)]];
  return ['podman', args];
}

/** Medians per engine, and each Berth path as a ratio of Docker's median.
 *  An engine with no samples (not installed, not running, or left out of this
 *  benchmark) is reported as absent rather than breaking the report. */
export function report(results, note) {
  console.log(`# ${new Date().toISOString().slice(0, 10)}, ${note}, medians in seconds`);
  const med = (xs) => (xs && xs.length ? median(xs) : undefined);
  for (const [sname, byEngine] of Object.entries(results)) {
    const line = Object.entries(byEngine).map(([e, xs]) => `${e}: ${med(xs)?.toFixed(4) ?? 'n/a (no samples)'}`);
    const ref = med(byEngine['docker CLI → dockerd']);
    if (ref !== undefined) {
      for (const e of ['berth CLI → berthd', 'docker CLI → berthd']) {
        const m = med(byEngine[e]);
        if (m !== undefined) line.push(`ratio ${e.split(' ')[0]} CLI/docker: ${(m / ref).toFixed(2)}`);
      }
    } else {
      line.push('no Docker samples: no ratios');
    }
    const pref = med(byEngine['podman CLI → podman']);
    if (pref !== undefined) {
      for (const e of ['berth CLI → berthd', 'docker CLI → berthd']) {
        const m = med(byEngine[e]);
        if (m !== undefined) line.push(`ratio ${e.split(' ')[0]} CLI/podman: ${(m / pref).toFixed(2)}`);
      }
    }
    console.log(`${sname}\n  ${line.join('\n  ')}`);
  }
}

/** The bridge of a benchmark's berthd and its BERTH chains (berthd leaves them, as dockerd leaves docker0). */
function removeBridge(bridge) {
  spawnSync('sh', [join(ROOT, 'scripts/remove-bridge.sh'), bridge]);
}
