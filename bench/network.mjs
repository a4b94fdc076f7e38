#!/usr/bin/env node
// Networking, side by side with Docker:
// - HTTP through a published port on 127.0.0.1 (wrk against busybox httpd):
//   requests per second and p99 latency. Docker serves 127.0.0.1 through its
//   userland docker-proxy; Berth through the kernel's DNAT.
// - Setup time: network create, 20 containers attached to it, all removed,
//   network rm.
// Interleaved runs, medians, ratios.
//
// Needs: a running dockerd (apt-get install docker.io; dockerd &), wrk
// (apt-get install wrk), root.
// Usage: node bench/network.mjs [--runs 5]
import { spawnSync } from 'node:child_process';
import { must, median, report, runsFromArgs, setup } from './harness.mjs';

const runs = runsFromArgs(5);
if (spawnSync('wrk', ['--version']).error) {
  console.error('wrk is missing: apt-get install wrk');
  process.exit(1);
}
const { berth, docker, engines, haveDocker, teardown } = await setup();

// ---- HTTP through a published port -------------------------------------------
const servers = { berthd: [berth, 18080], ...(haveDocker ? { dockerd: [docker, 18081] } : {}) };
for (const [name, [e, port]] of Object.entries(servers)) {
  must(e(['run', '-d', '--name', `web-${name}`, '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c',
    'mkdir -p /www && head -c 1024 /dev/zero > /www/index.html && exec httpd -f -p 80 -h /www']));
}
await new Promise((r) => setTimeout(r, 500));

function wrk(port) {
  const out = must(['wrk', ['-t2', '-c16', '-d5s', '--latency', `http://127.0.0.1:${port}/index.html`]]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p99Text = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99 = p99Text ? Number(p99Text[1]) * { us: 1e-3, ms: 1, s: 1000 }[p99Text[2]] : NaN;
  return { rps, p99 };
}

const http = {};
for (const name of Object.keys(servers)) http[name] = { rps: [], p99: [] };
for (let i = 0; i < runs; i++) {
  for (const [name, [, port]] of Object.entries(servers)) {
    const r = wrk(port);
    http[name].rps.push(r.rps);
    http[name].p99.push(r.p99);
  }
}
console.log(`# ${new Date().toISOString().slice(0, 10)}, HTTP via 127.0.0.1 published port, wrk -t2 -c16 -d5s, ${runs} interleaved runs, medians`);
for (const [name, r] of Object.entries(http)) console.log(`  ${name}: ${median(r.rps).toFixed(0)} req/s, p99 ${median(r.p99).toFixed(2)} ms`);
if (haveDocker) {
  console.log(`  ratio berthd/dockerd: throughput ${(median(http.berthd.rps) / median(http.dockerd.rps)).toFixed(2)}, p99 ${(median(http.berthd.p99) / median(http.dockerd.p99)).toFixed(2)}`);
}
for (const [name, [e]] of Object.entries(servers)) must(e(['rm', '-f', `web-${name}`]));

// ---- network + 20 containers: create and tear down ----------------------------
const setupTimes = {};
for (const name of Object.keys(engines)) setupTimes[name] = [];
const cycle = (e, tag) => () => {
  must(e(['network', 'create', `bn-${tag}`]));
  for (let i = 0; i < 20; i++) must(e(['run', '-d', '--name', `bn-${tag}-${i}`, '--network', `bn-${tag}`, 'busybox', 'sleep', '600']));
  must(e(['rm', '-f', ...Array.from({ length: 20 }, (_, i) => `bn-${tag}-${i}`)]));
  must(e(['network', 'rm', `bn-${tag}`]));
};
const timeFn = (fn) => {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};
const setupRuns = Math.min(runs, 3);
for (let i = 0; i < setupRuns; i++) {
  for (const [name, e] of Object.entries(engines)) setupTimes[name].push(timeFn(cycle(e, name.split(' ')[0] + i)));
}
report({ 'network create + 20 × run -d --network + rm -f + network rm': setupTimes }, `${setupRuns} interleaved runs`);
await teardown();
