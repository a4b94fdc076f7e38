#!/usr/bin/env node
// Side-by-side container lifecycle latency: Berth (driven by the berth CLI and
// by the docker CLI) against Docker's dockerd on the same machine. Runs are
// interleaved so drift affects both equally; we report medians and ratios.
//
// Needs: a running dockerd (apt-get install docker.io; dockerd &), root.
// Usage: node bench/lifecycle.mjs [--runs 20]
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import http from 'node:http';

const ROOT = resolve(import.meta.dirname, '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 20;
const dir = mkdtempSync('/tmp/berth-bench-');
const sock = join(dir, 'b.sock');
writeFileSync(join(dir, 'daemon.json'), '{}');
const tar = join(dir, 'busybox.tar');
spawnSync('sh', [join(ROOT, 'scripts/make-busybox-rootfs.sh'), tar], { stdio: 'inherit' });

const berthd = spawn(process.execPath, [join(ROOT, 'dist/berthd.js'), '--config-file', join(dir, 'daemon.json'),
  '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'run'), '-H', `unix://${sock}`, '-l', 'warn'], { stdio: 'inherit' });
const ping = () => new Promise((r) => { const q = http.get({ socketPath: sock, path: '/_ping' }, (s) => { s.resume(); r(true); }); q.on('error', () => r(false)); });
for (let i = 0; i < 100 && !(await ping()); i++) await new Promise((r) => setTimeout(r, 50));

// The CLI is executed as users run it (`berth` is a link to this file), through its shebang.
const berth = (args) => [join(ROOT, 'dist/berth.js'), ['-H', `unix://${sock}`, ...args]];
const dockerOnBerth = (args) => ['docker', ['-H', `unix://${sock}`, ...args]];
const docker = (args) => ['docker', ['-H', 'unix:///var/run/docker.sock', ...args]];
const must = ([cmd, args]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
must(berth(['import', tar, 'busybox:latest']));
const haveDocker = existsSync('/var/run/docker.sock') && spawnSync('docker', ['-H', 'unix:///var/run/docker.sock', 'version'], { stdio: 'ignore' }).status === 0;
if (haveDocker) must(docker(['import', tar, 'busybox:latest']));

function time([cmd, args]) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const t = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return t;
}
/** Start `total` containers with `width` CLI processes in flight at a time; seconds until all are up. */
async function timeFleet(e, tag, total = 50, width = 10) {
  const t0 = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const [cmd, args] = e(['run', '-d', '--name', `fleet${tag}-${next++}`, 'busybox', 'sleep', '600']);
      const code = await new Promise((r) => spawn(cmd, args, { stdio: 'ignore' }).on('exit', r));
      if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}`);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  const t = Number(process.hrtime.bigint() - t0) / 1e9;
  const ids = must(e(['ps', '-aq', '--filter', `name=fleet${tag}-`])).split('\n').filter(Boolean);
  if (ids.length !== total) throw new Error(`expected ${total} containers, found ${ids.length}`);
  must(e(['rm', '-f', ...ids]));
  return t;
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const engines = { 'berth CLI → berthd': berth, 'docker CLI → berthd': dockerOnBerth };
if (haveDocker) engines['docker CLI → dockerd'] = docker;

const scenarios = {
  'run --rm busybox true': (e) => time(e(['run', '--rm', 'busybox', 'true'])),
  'run -d busybox sleep 600': (e, i) => time(e(['run', '-d', '--name', `bench${i}`, 'busybox', 'sleep', '600'])),
  'rm -f (running)': (e, i) => time(e(['rm', '-f', `bench${i}`])),
};
const results = {};
for (const [sname, fn] of Object.entries(scenarios)) {
  results[sname] = {};
  for (const ename of Object.keys(engines)) results[sname][ename] = [];
  for (let i = 0; i < runs; i++) {
    Object.entries(engines).forEach(([ename, e], k) => results[sname][ename].push(fn(e, `${i}-${k}`)));
  }
}
// The fleet is slow to run and to clean up: a few rounds are enough for a median.
const fleetRuns = Math.min(runs, 5);
results['50 × run -d, 10 at a time'] = {};
for (const ename of Object.keys(engines)) results['50 × run -d, 10 at a time'][ename] = [];
for (let i = 0; i < fleetRuns; i++) {
  for (const [k, [ename, e]] of Object.entries(engines).entries()) results['50 × run -d, 10 at a time'][ename].push(await timeFleet(e, `${i}-${k}`));
}
console.log(`# ${new Date().toISOString().slice(0, 10)}, ${runs} interleaved runs, medians in seconds`);
for (const [sname, byEngine] of Object.entries(results)) {
  const line = Object.entries(byEngine).map(([e, xs]) => `${e}: ${median(xs).toFixed(4)}`);
  const ref = byEngine['docker CLI → dockerd'];
  if (ref) {
    for (const e of ['berth CLI → berthd', 'docker CLI → berthd']) line.push(`ratio ${e.split(' ')[0]} CLI/docker: ${(median(byEngine[e]) / median(ref)).toFixed(2)}`);
  }
  console.log(`${sname}\n  ${line.join('\n  ')}`);
}
berthd.kill('SIGTERM');
await new Promise((r) => berthd.once('exit', r));
spawnSync('sh', ['-c', `for id in $(runc --root ${dir}/run/runtime list -q); do runc --root ${dir}/run/runtime delete -f $id; done; grep -o ' ${dir}[^ ]*' /proc/self/mountinfo | xargs -r -n1 umount -l`]);
rmSync(dir, { recursive: true, force: true });
