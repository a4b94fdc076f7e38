#!/usr/bin/env node
// Operating containers, side by side with Docker: `exec c true` latency and
// `stats --no-stream` over 50 running containers. Interleaved runs, medians.
//
// Needs: a running dockerd (apt-get install docker.io; dockerd &), root.
// Usage: node bench/operate.mjs [--runs 20]
import { must, time, report, runsFromArgs, setup } from './harness.mjs';

const runs = runsFromArgs();
const { berth, docker, engines, haveDocker, teardown } = await setup();
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
report(results, `${runs} interleaved runs (stats: ${Math.min(runs, 5)})`);
if (haveDocker) {
  const ids = must(docker(['ps', '-aq', '--filter', 'name=opdocker'])).split('\n').filter(Boolean);
  if (ids.length) must(docker(['rm', '-f', ...ids]));
}
const ids = must(berth(['ps', '-aq'])).split('\n').filter(Boolean);
if (ids.length) must(berth(['rm', '-f', ...ids]));
await teardown();
