#!/usr/bin/env node
// Builds, side by side with Docker's builder (BuildKit, as `docker build` uses
// by default) on the same Dockerfiles and contexts:
// - cold multi-stage build (--no-cache),
// - rebuild with no change,
// - rebuild after a source-only change,
// - a context of 20,000 small files copied into an image (--no-cache).
// Interleaved runs, medians, ratios.
//
// Needs: a running dockerd (apt-get install docker.io; dockerd &), root.
// Berth is measured with its own CLI (BuildKit-style output); Docker with a
// CLI that really uses BuildKit (see buildkitDockerCli).
// Usage: node bench/build.mjs [--runs 5]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { must, report, runsFromArgs, setup } from './harness.mjs';

const runs = runsFromArgs(5);
const { berth, docker, engines: shared, haveDocker, teardown } = await setup();
if (!haveDocker) {
  console.error('no dockerd on /var/run/docker.sock: this benchmark compares with Docker');
  await teardown();
  process.exit(1);
}

/**
 * A docker CLI that drives dockerd's BuildKit. CLI 23 and later hand BuildKit
 * builds to the buildx plugin and refuse when it is missing (Debian ships no
 * plugin, and it cannot be fetched offline); CLI 20.10 and older talk to
 * dockerd's embedded BuildKit themselves when DOCKER_BUILDKIT=1. So: the first
 * CLI on PATH with a working buildx, else the first one older than 23. If
 * neither exists, fall back to the classic builder and say so in the report.
 */
function buildkitDockerCli() {
  const found = spawnSync('which', ['-a', 'docker'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  const clis = [...new Map(found.map((p) => [realpathSync(p), p])).values()];
  for (const cli of clis) {
    if (spawnSync(cli, ['buildx', 'version'], { stdio: 'ignore' }).status === 0) return { cli, builder: 'BuildKit (buildx)', env: { DOCKER_BUILDKIT: '1' } };
  }
  for (const cli of clis) {
    const v = spawnSync(cli, ['version', '--format', '{{.Client.Version}}'], { encoding: 'utf8' }).stdout.trim();
    if (Number(v.split('.')[0]) < 23) return { cli, builder: `BuildKit (embedded client, docker CLI ${v})`, env: { DOCKER_BUILDKIT: '1' } };
  }
  return { cli: clis[0] ?? 'docker', builder: 'classic builder (no docker CLI here can drive BuildKit)', env: { DOCKER_BUILDKIT: '0' } };
}
const dockerBuild = buildkitDockerCli();
console.error(`Docker side: ${dockerBuild.cli}, ${dockerBuild.builder}`);
const dir = mkdtempSync('/tmp/berth-bench-build-');
const app = join(dir, 'app');
mkdirSync(join(app, 'src'), { recursive: true });
writeFileSync(join(app, 'deps.txt'), 'dependency list\n');
writeFileSync(join(app, 'src/main.txt'), 'v0\n');
writeFileSync(join(app, 'Dockerfile'), `FROM busybox AS deps
WORKDIR /app
COPY deps.txt ./
RUN for i in $(seq 1 200); do echo "package $i" > /app/pkg-$i; done
FROM deps AS builder
COPY src/ ./src/
RUN cat src/main.txt > built && ls /app | wc -l >> built
FROM busybox
COPY --from=builder /app/built /srv/built
CMD ["cat", "/srv/built"]
`);
const many = join(dir, 'many');
mkdirSync(many);
for (let d = 0; d < 100; d++) {
  mkdirSync(join(many, `d${d}`));
  for (let f = 0; f < 200; f++) writeFileSync(join(many, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`);
}
writeFileSync(join(many, 'Dockerfile'), 'FROM busybox\nCOPY . /ctx/\n');

// The docker CLI against berthd speaks the classic build API (berthd has no BuildKit session API):
// the engine's own time, without the Node CLI's start-up.
const engines = {
  'berth CLI → berthd': (args) => [...berth(args), {}],
  'docker CLI → berthd': (args) => [...shared['docker CLI → berthd'](args), { DOCKER_BUILDKIT: '0' }],
  'docker CLI → dockerd': (args) => { const [, a] = docker(args); return [dockerBuild.cli, a, dockerBuild.env]; },
};
const timed = ([cmd, args, env]) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
};
const results = { 'cold multi-stage build (--no-cache)': {}, 'rebuild, no change': {}, 'rebuild, source change': {}, '20,000-file context, COPY . (--no-cache)': {} };
for (const r of Object.values(results)) for (const e of Object.keys(engines)) r[e] = [];
for (let i = 0; i < runs; i++) {
  for (const [name, e] of Object.entries(engines)) {
    results['cold multi-stage build (--no-cache)'][name].push(timed(e(['build', '-q', '--no-cache', '-t', 'bench-build', app])));
    results['rebuild, no change'][name].push(timed(e(['build', '-q', '-t', 'bench-build', app])));
    writeFileSync(join(app, 'src/main.txt'), `v${i}-${name.length}\n`);
    results['rebuild, source change'][name].push(timed(e(['build', '-q', '-t', 'bench-build', app])));
    results['20,000-file context, COPY . (--no-cache)'][name].push(timed(e(['build', '-q', '--no-cache', '-t', 'bench-many', many])));
  }
}
report(results, `${runs} interleaved runs; Docker: ${dockerBuild.builder}`);
must(docker(['rmi', '-f', 'bench-build', 'bench-many']));
rmSync(dir, { recursive: true, force: true });
await teardown();
