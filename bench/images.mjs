#!/usr/bin/env node
// Images, side by side with Docker: push and pull of a ~300 MB image with
// 5 layers through the same local registry (Debian's docker-registry), and
// save/load of the same image. Interleaved runs, medians, ratios.
//
// Pushes go to a fresh, empty registry each time so that every byte is
// uploaded (a registry that already has the blobs turns a push into a
// series of HEAD requests). Pulls start from an engine that has only the
// busybox base layer, as both engines import it from the same tar.
//
// Needs: a running dockerd (apt-get install docker.io; dockerd &),
// docker-registry (apt-get install docker-registry), root.
// Usage: node bench/images.mjs [--runs 3]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { must, report, runsFromArgs, setup } from './harness.mjs';

const runs = runsFromArgs(3);
const { berth, docker, haveDocker, teardown } = await setup();
if (!haveDocker) {
  console.error('no dockerd on /var/run/docker.sock: this benchmark compares with Docker');
  process.exit(1);
}
const dir = mkdtempSync('/tmp/berth-bench-img-');

const freePort = () => new Promise((res) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
});

async function registry() {
  const port = await freePort();
  const root = mkdtempSync(join(dir, 'reg-'));
  writeFileSync(join(root, 'config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${root}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const proc = spawn('docker-registry', ['serve', join(root, 'config.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try { await fetch(`http://127.0.0.1:${port}/v2/`); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
  }
  return {
    host: `127.0.0.1:${port}`,
    stop: async () => { proc.kill('SIGKILL'); await new Promise((r) => proc.once('exit', r)); rmSync(root, { recursive: true, force: true }); },
  };
}

const timed = (cmd) => { const t0 = process.hrtime.bigint(); must(cmd); return Number(process.hrtime.bigint() - t0) / 1e9; };

// The image: busybox plus four layers of 75 MB, half noise and half text (gzip shrinks only the text).
const layerCmd = (i) => `head -c 37500000 /dev/urandom > /noise${i} && yes "layer ${i} of the benchmark image, some text that compresses" | head -c 37500000 > /text${i}`;
let src = 'busybox';
for (let i = 1; i <= 4; i++) {
  must(berth(['run', '--name', `mk${i}`, src, 'sh', '-c', layerCmd(i)]));
  must(berth(['commit', `mk${i}`, `bench/img:${i}`]));
  must(berth(['rm', `mk${i}`]));
  src = `bench/img:${i}`;
}
// Docker gets the very same image through a registry.
const seed = await registry();
const ref = `${seed.host}/bench/img:1`;
must(berth(['tag', 'bench/img:4', ref]));
must(berth(['push', ref]));
must(docker(['pull', ref]));
for (let i = 1; i <= 4; i++) must(berth(['rmi', `bench/img:${i}`]));

const results = { 'push (fresh registry)': {}, 'pull (base layer present)': {}, 'save -o': {}, 'load -i': {} };
const engines = { 'berth CLI → berthd': berth, 'docker CLI → dockerd': docker };
for (const r of Object.values(results)) for (const e of Object.keys(engines)) r[e] = [];

for (let run = 0; run < runs; run++) {
  for (const [name, e] of Object.entries(engines)) {
    const reg = await registry();
    const target = `${reg.host}/bench/push:${run}`;
    must(e(['tag', ref, target]));
    results['push (fresh registry)'][name].push(timed(e(['push', target])));
    must(e(['rmi', target]));
    await reg.stop();

    must(e(['rmi', ref]));
    results['pull (base layer present)'][name].push(timed(e(['pull', ref])));

    const file = join(dir, `save-${name.split(' ')[0]}.tar`);
    results['save -o'][name].push(timed(e(['save', '-o', file, ref])));
    must(e(['rmi', ref]));
    results['load -i'][name].push(timed(e(['load', '-i', file])));
    rmSync(file, { force: true });
  }
}
const dockerRef = 'docker CLI → dockerd';
console.log(`# image: busybox + 4 × 75 MB layers (half noise, half text), ${runs} interleaved runs`);
for (const [scenario, byEngine] of Object.entries(results)) {
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
  const b = med(byEngine['berth CLI → berthd']);
  const dk = med(byEngine[dockerRef]);
  console.log(`${scenario}\n  berth: ${b.toFixed(2)} s  docker: ${dk.toFixed(2)} s  Docker/Berth (speed-up): ${(dk / b).toFixed(2)}×`);
}
void report;
must(docker(['rmi', ref]));
await seed.stop();
rmSync(dir, { recursive: true, force: true });
await teardown();
spawnSync('true');
