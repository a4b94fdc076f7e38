// The tutorials' Task API (examples/task-api) on a real daemon: the flow script
// (build, run -p, curl CRUD, logs, stop, rm), then the service reached by name
// on a user-defined network, and its data kept in a named volume.
// The base image comes from Debian's packages (mmdebstrap), cached in /var/tmp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { daemonWithBusybox, eventually, ROOT } from './harness.js';
import { freePort } from '../helpers/registry.js';

const d = daemonWithBusybox();
const example = join(ROOT, 'examples/task-api');

test('examples/task-api/flow.sh passes end to end', { timeout: 600_000 }, async () => {
  const port = await freePort();
  const r = spawnSync('sh', [join(example, 'flow.sh')], {
    encoding: 'utf8', timeout: 590_000,
    env: { ...process.env, BERTH: `${process.execPath} ${join(ROOT, 'dist/berth.js')} -H unix://${d.socket}`, PORT: String(port) },
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /task-api flow: all good\n$/);
  assert.match(r.stdout, /"version":"1\.2\.3"/);
});

test('by name on app-network, isolated from another network, data kept in a volume', async () => {
  assert.equal(d.berth(['network', 'create', 'app-network']).code, 0);
  assert.equal(d.berth(['network', 'create', 'other-network']).code, 0);
  const run = d.berth(['run', '-d', '--name', 'api', '--network', 'app-network', '-v', 'task-data:/data', 'task-api:v1']);
  assert.equal(run.code, 0, run.stderr);
  const probe = (network: string, path: string, method = 'GET', body?: string): { code: number; stdout: string; stderr: string } => d.berth(['run', '--rm', '--network', network, 'task-api:v1', 'python3', '-c',
    `import urllib.request,sys; r=urllib.request.urlopen(urllib.request.Request('http://api:8000${path}', method='${method}', data=${body ? `b'${body}'` : 'None'}, headers={'Content-Type': 'application/json'}), timeout=5); sys.stdout.write(r.read().decode())`]);
  const health = await eventually(() => { const r = probe('app-network', '/health'); return r.code === 0 ? r : undefined; }, 30_000);
  assert.match(health!.stdout, /"status":"ok"/);
  assert.match(probe('app-network', '/tasks', 'POST', '{"title": "kept"}').stdout, /"id":1/);
  const isolated = probe('other-network', '/health');
  assert.notEqual(isolated.code, 0, 'a container on another network cannot reach api');
  // Replace the container: the volume brings the task back.
  assert.equal(d.berth(['rm', '-f', 'api']).code, 0);
  assert.equal(d.berth(['run', '-d', '--name', 'api', '--network', 'app-network', '-v', 'task-data:/data', 'task-api:v1']).code, 0);
  const list = await eventually(() => { const r = probe('app-network', '/tasks'); return r.code === 0 ? r : undefined; }, 30_000);
  assert.match(list!.stdout, /"title":"kept"/);
  // The image's HEALTHCHECK drives the status.
  await eventually(() => (d.berth(['inspect', '-f', '{{.State.Health.Status}}', 'api']).stdout.trim() === 'healthy' ? true : undefined), 40_000);
  d.berth(['rm', '-f', 'api']);
  d.berth(['network', 'rm', 'app-network', 'other-network']);
});
