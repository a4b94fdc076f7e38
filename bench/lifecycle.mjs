#!/usr/bin/env node
// Side-by-side container lifecycle latency: Berth (driven by the berth CLI and
// by the docker CLI) against Docker's dockerd on the same machine. Runs are
// interleaved so drift affects both equally; we report medians and ratios.
//
// Needs: a running dockerd (apt-get install docker.io; dockerd &), root.
// Usage: node bench/lifecycle.mjs [--runs 20] [--podman]   (--podman: Podman too, when installed)
import { spawn } from 'node:child_process';
import { must, time, report, runsFromArgs, setup } from './harness.mjs';

const runs = runsFromArgs();
const { engines, teardown } = await setup();

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
report(results, `${runs} interleaved runs`);
await teardown();
