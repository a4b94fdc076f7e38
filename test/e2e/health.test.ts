// Health checks on real containers: starting → healthy → unhealthy, the start
// period and start interval, probe timeouts, events, ps and its filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daemonWithBusybox, eventually, hasDockerCli, sleep } from './harness.js';

const d = daemonWithBusybox();
const health = (name: string): { Status: string; FailingStreak: number; Log: Array<{ ExitCode: number; Output: string }> } =>
  JSON.parse(d.berth(['inspect', '-f', '{{json .State.Health}}', name]).stdout) as never;

test('starting, then healthy, then unhealthy after retries failures; events, ps and --filter health', async () => {
  const since = String(Math.floor(Date.now() / 1000) - 1);
  const r = d.berth(['run', '-d', '--name', 'svc', '--health-cmd', 'test -f /tmp/ok && echo fine', '--health-interval', '200ms', '--health-retries', '2',
    'busybox', 'sh', '-c', 'sleep 1; touch /tmp/ok; sleep 1000']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(d.berth(['ps', '--filter', 'name=svc', '--format', '{{.Status}}']).stdout, /\(health: starting\)/);
  assert.ok(await eventually(() => health('svc').Status === 'healthy', 10_000));
  const h = health('svc');
  assert.equal(h.FailingStreak, 0);
  assert.equal(h.Log.at(-1)!.ExitCode, 0);
  assert.equal(h.Log.at(-1)!.Output, 'fine\n');
  assert.match(d.berth(['ps', '--filter', 'name=svc', '--format', '{{.Status}}']).stdout, /^Up .* \(healthy\)$/m);
  assert.equal(d.berth(['ps', '-q', '--filter', 'health=healthy']).stdout.trim().length, 12);
  assert.equal(d.berth(['exec', 'svc', 'rm', '/tmp/ok']).code, 0);
  assert.ok(await eventually(() => health('svc').Status === 'unhealthy', 10_000));
  const u = health('svc');
  assert.ok(u.FailingStreak >= 2);
  assert.ok(u.Log.length <= 5, 'only the last five results are kept');
  assert.equal(d.berth(['ps', '--filter', 'health=unhealthy', '--format', '{{.Names}}']).stdout, 'svc\n');
  const ev = d.berth(['events', '--since', since, '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=svc', '--format', '{{.Action}}']);
  assert.match(ev.stdout, /^health_status: healthy$/m);
  assert.match(ev.stdout, /^health_status: unhealthy$/m);
  assert.equal(d.berth(['rm', '-f', 'svc']).code, 0);
});

test('start period: failures do not count, and probes run every start-interval', async () => {
  const r = d.berth(['run', '-d', '--name', 'slow', '--health-cmd', 'false', '--health-interval', '10s', '--health-start-period', '30s',
    '--health-start-interval', '100ms', '--health-retries', '1', 'busybox', 'sleep', '1000']);
  assert.equal(r.code, 0, r.stderr);
  await sleep(1200);
  const h = health('slow');
  assert.equal(h.Status, 'starting');
  assert.equal(h.FailingStreak, 0);
  assert.ok(h.Log.length >= 3, `probed every start-interval, not every interval (${h.Log.length} results)`);
  assert.equal(d.berth(['rm', '-f', 'slow']).code, 0);
});

test('a probe that hangs is killed at its timeout and counts as a failure', async () => {
  const r = d.berth(['run', '-d', '--name', 'hang', '--health-cmd', 'sleep 30', '--health-timeout', '200ms', '--health-interval', '300ms',
    '--health-retries', '1', 'busybox', 'sleep', '1000']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await eventually(() => health('hang').Status === 'unhealthy', 10_000));
  const last = health('hang').Log.at(-1)!;
  assert.deepEqual([last.ExitCode, last.Output], [-1, 'Health check exceeded timeout (200ms)']);
  await sleep(300);
  // The killed probes are gone: only the main process is left.
  const top = d.berth(['top', 'hang']).stdout.trim().split('\n');
  assert.equal(top.filter((l) => /sleep 30/.test(l)).length <= 1, true, top.join('\n'));
  assert.equal(d.berth(['rm', '-f', 'hang']).code, 0);
});

test("an image's HEALTHCHECK drives the status; the container's flags override it", async () => {
  const { busyboxTar } = await import('./harness.js');
  const imp = d.berth(['import', '-c', 'HEALTHCHECK --interval=200ms --retries=1 CMD test -f /tmp/ready', '-c', 'CMD ["sh"]', busyboxTar(), 'checked:1']);
  assert.equal(imp.code, 0, imp.stderr);
  assert.match(d.berth(['image', 'inspect', '-f', '{{json .Config.Healthcheck}}', 'checked:1']).stdout, /"Test":\["CMD-SHELL","test -f \/tmp\/ready"\]/);
  assert.equal(d.berth(['run', '-d', '--name', 'img-hc', 'checked:1', 'sh', '-c', 'sleep 0.5; touch /tmp/ready; sleep 1000']).code, 0);
  assert.ok(await eventually(() => health('img-hc').Status === 'healthy', 10_000));
  // --health-cmd replaces the image's test; the image's interval stays.
  assert.equal(d.berth(['run', '-d', '--name', 'img-hc2', '--health-cmd', 'false', 'checked:1', 'sleep', '1000']).code, 0);
  assert.ok(await eventually(() => health('img-hc2').Status === 'unhealthy', 10_000));
  assert.equal(d.berth(['inspect', '-f', '{{.Config.Healthcheck.Interval}}', 'img-hc2']).stdout.trim(), '200000000');
  // --no-healthcheck turns the image's check off.
  assert.equal(d.berth(['run', '-d', '--name', 'img-hc3', '--no-healthcheck', 'checked:1', 'sleep', '1000']).code, 0);
  assert.equal(d.berth(['inspect', '-f', '{{json .State.Health}}', 'img-hc3']).stdout.trim(), 'null');
  assert.equal(d.berth(['rm', '-f', 'img-hc', 'img-hc2', 'img-hc3']).code, 0);
  assert.equal(d.berth(['rmi', 'checked:1']).code, 0);
});

test('bad health options are refused; --no-healthcheck disables; the docker CLI sees the status', async () => {
  const conflict = d.berth(['run', '--rm', '--no-healthcheck', '--health-cmd', 'true', 'busybox', 'true']);
  assert.equal(conflict.code, 125);
  assert.match(conflict.stderr, /--no-healthcheck conflicts with --health-\* options/);
  const api = await d.api('POST', '/containers/create', { Image: 'busybox', Healthcheck: { Test: ['CMD', 'true'], Interval: 10 } });
  assert.deepEqual([api.status, (api.body as { message: string }).message], [400, 'Interval in Healthcheck cannot be less than 1ms']);
  const neg = await d.api('POST', '/containers/create', { Image: 'busybox', Healthcheck: { Test: ['CMD', 'true'], Retries: -1 } });
  assert.equal(neg.status, 400);
  assert.equal(d.berth(['run', '-d', '--name', 'off', '--no-healthcheck', 'busybox', 'sleep', '1000']).code, 0);
  assert.equal(d.berth(['inspect', '-f', '{{json .State.Health}}', 'off']).stdout.trim(), 'null');
  assert.equal(d.berth(['ps', '-q', '--filter', 'health=none', '--filter', 'name=off']).stdout.trim().length, 12);
  if (hasDockerCli()) {
    assert.equal(d.docker(['run', '-d', '--name', 'dk', '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '1000']).code, 0);
    assert.ok(await eventually(() => /\(healthy\)/.test(d.docker(['ps', '--filter', 'name=dk', '--format', '{{.Status}}']).stdout), 10_000));
    assert.equal(d.docker(['inspect', '-f', '{{.State.Health.Status}}', 'dk']).stdout.trim(), 'healthy');
    assert.equal(d.berth(['rm', '-f', 'dk']).code, 0);
  }
  assert.equal(d.berth(['rm', '-f', 'off']).code, 0);
});
