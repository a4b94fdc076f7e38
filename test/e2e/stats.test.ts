// stats, top, pause/unpause on real containers, through both CLIs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daemonWithBusybox, hasDockerCli, sleep, eventually } from './harness.js';

const d = daemonWithBusybox();

test('stats --no-stream: CPU of a busy container, memory against its limit, pids; same table as docker', () => {
  assert.equal(d.berth(['run', '-d', '--name', 'busy', '-m', '64m', '--pids-limit', '20', 'busybox', 'sh', '-c', 'while true; do :; done']).code, 0);
  assert.equal(d.berth(['run', '-d', '--name', 'idle', 'busybox', 'sleep', '1000']).code, 0);
  const r = d.berth(['stats', '--no-stream']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
  const busy = lines.find((l) => / busy /.test(l))!;
  const cols = busy.split(/\s{2,}/);
  assert.ok(Number.parseFloat(cols[2]!) > 20, `a spinning shell uses CPU: ${busy}`);
  assert.match(cols[3]!, /^[\d.]+[KMG]?i?B \/ 64MiB$/);
  assert.equal(cols[7], '1');
  const idle = lines.find((l) => / idle /.test(l))!;
  assert.ok(Number.parseFloat(idle.split(/\s{2,}/)[2]!) < 5, idle);
  const fmt = d.berth(['stats', '--no-stream', '--format', '{{.Name}}:{{.PIDs}}', 'busy']);
  assert.equal(fmt.stdout, 'busy:1\n');
  if (hasDockerCli()) {
    const dr = d.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', 'busy']);
    assert.match(dr.stdout, /^busy [\d.]+[KMG]?i?B \/ 64MiB\n$/, dr.stderr);
  }
  // NET I/O counts the container's own interface: serve 200 kB from it and see them leave.
  assert.equal(d.berth(['run', '-d', '--name', 'netio', 'busybox', 'sh', '-c', 'mkdir -p /www && head -c 200000 /dev/zero > /www/big && exec httpd -f -p 8000 -h /www']).code, 0);
  const ip = d.berth(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', 'netio']).stdout.trim();
  const get = d.berth(['run', '--rm', 'busybox', 'sh', '-c', `sleep 0.3; wget -q -O /dev/null http://${ip}:8000/big`]);
  assert.equal(get.code, 0, get.stderr);
  const net = d.berth(['stats', '--no-stream', '--format', '{{.NetIO}}', 'netio']).stdout.trim();
  d.berth(['rm', '-f', 'netio']);
  const tx = /\/ ([\d.]+)([kMG]?B)$/.exec(net);
  assert.ok(tx && Number(tx[1]) * ({ B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[tx[2]!] ?? 0) >= 200_000, net);
  const api = d.berth(['stats', '--no-stream', 'nosuch']);
  assert.equal(api.code, 1);
  assert.match(api.stderr, /No such container: nosuch/);
});

test('CPU throttling of a container over its --cpus shows in the stats', async () => {
  assert.equal(d.berth(['run', '-d', '--name', 'capped', '--cpus', '0.1', 'busybox', 'sh', '-c', 'while true; do :; done']).code, 0);
  await sleep(1500);
  const r = await d.api('GET', '/containers/capped/stats?stream=false&one-shot=true');
  const thr = (r.body as { cpu_stats: { throttling_data: { periods: number; throttled_periods: number } } }).cpu_stats.throttling_data;
  assert.ok(thr.periods > 0 && thr.throttled_periods > 0, JSON.stringify(thr));
  const row = d.berth(['stats', '--no-stream', '--format', '{{.CPUPerc}}', 'capped']).stdout;
  assert.ok(Number.parseFloat(row) < 30, `held near 10% of one CPU: ${row}`);
  assert.equal(d.berth(['rm', '-f', 'capped']).code, 0);
});

test('top lists only the container processes, with ps arguments', () => {
  const r = d.berth(['top', 'idle']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /sleep 1000$/);
  const o = d.berth(['top', 'idle', '-o', 'pid,comm']);
  assert.match(o.stdout, /^PID\s+COMMAND\n\d+\s+sleep\n$/);
  if (hasDockerCli()) assert.match(d.docker(['top', 'idle']).stdout, /sleep 1000\n$/);
});

test('pause freezes, unpause thaws; exec, double pause and stop of a paused container', async () => {
  assert.equal(d.berth(['run', '-d', '--name', 'counter', 'busybox', 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done']).code, 0);
  // Counting before the pause (a fixed wait failed once on a loaded machine).
  await eventually(() => (Number(d.berth(['exec', 'counter', 'cat', '/tmp/n']).stdout) > 0 ? true : undefined), 15_000);
  assert.equal(d.berth(['pause', 'counter']).stdout, 'counter\n');
  assert.match(d.berth(['ps', '--filter', 'name=counter', '--format', '{{.Status}}']).stdout, /\(Paused\)/);
  assert.equal(d.berth(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'counter']).stdout.trim(), 'paused true');
  const again = d.berth(['pause', 'counter']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /is already paused/);
  assert.match(d.berth(['exec', 'counter', 'true']).stderr, /is paused, unpause the container before exec/);
  assert.equal(d.berth(['unpause', 'counter']).code, 0);
  // Running again: the counter moves on (polled, so a loaded machine is only slower).
  const a = Number(d.berth(['exec', 'counter', 'cat', '/tmp/n']).stdout);
  assert.ok(a > 0, 'the counter had started');
  await eventually(() => (Number(d.berth(['exec', 'counter', 'cat', '/tmp/n']).stdout) > a ? true : undefined), 15_000);
  assert.match(d.berth(['unpause', 'counter']).stderr, /is not paused/);
  assert.equal(d.berth(['pause', 'counter']).code, 0);
  assert.equal(d.berth(['stop', '-t', '1', 'counter']).code, 0, 'a paused container can be stopped');
  assert.equal(d.berth(['inspect', '-f', '{{.State.Status}}', 'counter']).stdout.trim(), 'exited');
  assert.match(d.berth(['pause', 'counter']).stderr, /is not running/);
  assert.equal(d.berth(['rm', '-f', 'counter', 'busy', 'idle']).code, 0);
});

test('--format on ps and images: Go templates, the table directive, errors', () => {
  assert.equal(d.berth(['run', '-d', '--name', 'fmt1', '-l', 'tier=web', 'busybox', 'sleep', '1000']).code, 0);
  const t = d.berth(['ps', '--filter', 'name=fmt1', '--format', 'table {{.Names}}\t{{.Status}}\t{{.Labels}}']);
  const lines = t.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^NAMES\s+STATUS\s+LABELS$/);
  assert.match(lines[1]!, /^fmt1\s+Up .*\s+tier=web$/);
  assert.equal(d.berth(['ps', '--filter', 'name=fmt1', '--format', '{{if eq .State "running"}}{{.Names}} is up{{end}}']).stdout, 'fmt1 is up\n');
  assert.equal(d.berth(['images', '--format', '{{.Repository}}:{{.Tag}}']).stdout, 'busybox:latest\n');
  assert.match(d.berth(['images', '--format', 'table {{.Repository}}\t{{.Size}}']).stdout, /^REPOSITORY\s+SIZE\nbusybox\s+\S+\n$/);
  assert.equal(d.berth(['inspect', '-f', '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{end}}', 'fmt1']).stdout, 'tier=web\n');
  const bad = d.berth(['ps', '--format', '{{if .Names}}unclosed']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /template parsing error/);
  if (hasDockerCli()) {
    const dk = d.docker(['ps', '--filter', 'name=fmt1', '--format', '{{if eq .State "running"}}{{.Names}} is up{{end}}']);
    assert.equal(dk.stdout, 'fmt1 is up\n');
  }
  assert.equal(d.berth(['rm', '-f', 'fmt1']).code, 0);
});

test('stats without a stream: the previous sample is about a second old, taken on demand or kept by the collector; one-shot has none', async () => {
  assert.equal(d.berth(['run', '-d', '--name', 'watched', 'busybox', 'sleep', '1000']).code, 0);
  type Stats = { read: string; preread: string; precpu_stats: { system_cpu_usage?: number }; cpu_stats: { system_cpu_usage: number } };
  const gap = (s: Stats): number => Date.parse(s.read) - Date.parse(s.preread);
  const cold = (await d.api('GET', '/containers/watched/stats?stream=false')).body as Stats;
  assert.ok(gap(cold) >= 900 && gap(cold) <= 1600, `cold: ${gap(cold)} ms`);
  // Asked again: the collector has kept sampling it since, so a sample a quarter to one and a half ticks old stands in.
  for (let i = 0; i < 3; i++) {
    await sleep(150);
    const warm = (await d.api('GET', '/containers/watched/stats?stream=false')).body as Stats;
    assert.ok(gap(warm) >= 250 && gap(warm) <= 1500, `warm: ${gap(warm)} ms`);
    assert.ok(warm.cpu_stats.system_cpu_usage > (warm.precpu_stats.system_cpu_usage ?? 0));
  }
  const one = (await d.api('GET', '/containers/watched/stats?stream=false&one-shot=true')).body as Stats;
  assert.equal(one.preread, '0001-01-01T00:00:00Z');
  d.berth(['rm', '-f', 'watched']);
});
