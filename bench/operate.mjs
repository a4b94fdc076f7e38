#!/usr/bin/env node
// Operating containers, side by side with Docker: `exec c true` latency and
// `stats --no-stream` over 50 running containers. Interleaved runs, medians.
//
// Needs: a running dockerd (apt-get install docker.io; dockerd &), root.
// Usage: node bench/operate.mjs [--runs 20]
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

// The CLI is executed as users run it, through its shebang.
const berth = (args) => [join(ROOT, 'dist/berth.js'), ['-H', `unix://${sock}`, ...args]];
const dockerOnBerth = (args) => ['docker', ['-H', `unix://${sock}`, ...args]];
const docker = (args) => ['docker', ['-H', 'unix:///var/run/docker.sock', ...args]];
const must = ([cmd, args]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const time = (c) => { const t0 = process.hrtime.bigint(); must(c); return Number(process.hrtime.bigint() - t0) / 1e9; };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

must(berth(['import', tar, 'busybox:latest']));
const haveDocker = existsSync('/var/run/docker.sock') && spawnSync('docker', ['-H', 'unix:///var/run/docker.sock', 'version'], { stdio: 'ignore' }).status === 0;
if (haveDocker) must(docker(['import', tar, 'busybox:latest']));
const engines = { 'berth CLI → berthd': berth, 'docker CLI → berthd': dockerOnBerth };
if (haveDocker) engines['docker CLI → dockerd'] = docker;
const onEngine = { 'berth CLI → berthd': 'berth', 'docker CLI → berthd': 'berth', 'docker CLI → dockerd': 'docker' };

// 50 sleeping containers on each engine.
for (const [k, e] of [['berth', berth], ...(haveDocker ? [['docker', docker]] : [])]) {
  for (let i = 0; i < 50; i++) must(e(['run', '-d', '--name', `op${k}${i}`, 'busybox', 'sleep', '3600']));
}
const results = { 'exec op0 true': {}, 'stats --no-stream (50 running)': {} };
for (const e of Object.keys(engines)) { results['exec op0 true'][e] = []; results['stats --no-stream (50 running)'][e] = []; }
for (let i = 0; i < runs; i++) {
  for (const [name, e] of Object.entries(engines)) results['exec op0 true'][name].push(time(e(['exec', `op${onEngine[name]}0`, 'true'])));
}
for (let i = 0; i < Math.min(runs, 5); i++) {
  for (const [name, e] of Object.entries(engines)) results['stats --no-stream (50 running)'][name].push(time(e(['stats', '--no-stream'])));
}
console.log(`# ${new Date().toISOString().slice(0, 10)}, ${runs} interleaved runs (stats: ${Math.min(runs, 5)}), medians in seconds`);
for (const [sname, byEngine] of Object.entries(results)) {
  const line = Object.entries(byEngine).map(([e, xs]) => `${e}: ${median(xs).toFixed(4)}`);
  const ref = byEngine['docker CLI → dockerd'];
  if (ref) for (const e of ['berth CLI → berthd', 'docker CLI → berthd']) line.push(`ratio ${e.split(' ')[0]} CLI/docker: ${(median(byEngine[e]) / median(ref)).toFixed(2)}`);
  console.log(`${sname}\n  ${line.join('\n  ')}`);
}
if (haveDocker) {
  const ids = must(docker(['ps', '-aq', '--filter', 'name=opdocker'])).split('\n').filter(Boolean);
  if (ids.length) must(docker(['rm', '-f', ...ids]));
}
const ids = must(berth(['ps', '-aq'])).split('\n').filter(Boolean);
if (ids.length) must(berth(['rm', '-f', ...ids]));
berthd.kill('SIGTERM');
await new Promise((r) => berthd.once('exit', r));
spawnSync('sh', ['-c', `for id in $(runc --root ${dir}/run/runtime list -q); do runc --root ${dir}/run/runtime delete -f $id; done; grep -o ' ${dir}[^ ]*' /proc/self/mountinfo | xargs -r -n1 umount -l`]);
rmSync(dir, { recursive: true, force: true });
