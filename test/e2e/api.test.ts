// The Engine API surface that every client depends on: ping, versions, errors,
// bad input, concurrent creates, import safety, events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTar as tarOf } from '../helpers/tar.js';
import { daemonWithBusybox, eventually } from './harness.js';

const d = daemonWithBusybox();

test('_ping answers GET and HEAD with Docker headers', async () => {
  for (const method of ['GET', 'HEAD']) {
    const r = await d.api(method, '/_ping');
    assert.equal(r.status, 200);
    assert.equal(r.headers['api-version'], '1.41');
    assert.equal(r.headers['ostype'], 'linux');
    assert.ok(r.headers['builder-version'] !== undefined);
    assert.match(String(r.headers['server']), /^Berth\//);
    if (method === 'GET') assert.equal(r.body, 'OK');
  }
});

test('versioned and unversioned paths; versions out of range are refused', async () => {
  const a = await d.api('GET', '/version');
  const b = await d.api('GET', '/v1.41/version');
  assert.equal(a.status, 200);
  assert.equal((a.body as { ApiVersion: string }).ApiVersion, '1.41');
  assert.deepEqual(Object.keys(a.body as object), Object.keys(b.body as object));
  const old = await d.api('GET', '/v1.30/containers/json');
  assert.equal(old.status, 200);
  const tooNew = await d.api('GET', '/v1.99/version');
  assert.equal(tooNew.status, 400);
  assert.match((tooNew.body as { message: string }).message, /client version 1.99 is too new/);
  const info = await d.api('GET', '/info');
  assert.equal((info.body as { Images: number }).Images, 1);
});

test('errors are JSON with Docker status codes and wording', async () => {
  const nf = await d.api('GET', '/containers/nosuch/json');
  assert.equal(nf.status, 404);
  assert.deepEqual(nf.body, { message: 'No such container: nosuch' });
  const page = await d.api('GET', '/nothing/here');
  assert.equal(page.status, 404);
  const img = await d.api('POST', '/containers/create', { Image: 'nosuch' });
  assert.equal(img.status, 404);
  assert.equal((img.body as { message: string }).message, 'No such image: nosuch:latest');
});

test('malformed JSON and wrong types get 400 and the daemon carries on', async () => {
  const bad = await d.api('POST', '/containers/create', '{"Image": "busybox",');
  assert.equal(bad.status, 400);
  const wrong = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: 'x', Env: 'A=B' });
  assert.equal(wrong.status, 400);
  const labels = await d.api('POST', '/containers/create', { Image: 'busybox', Labels: { a: 1 } });
  assert.equal(labels.status, 400);
  const badName = await d.api('POST', '/containers/create?name=bad%20name', { Image: 'busybox', Cmd: ['true'] });
  assert.equal(badName.status, 400);
  assert.match((badName.body as { message: string }).message, /Invalid container name/);
  assert.equal((await d.api('GET', '/_ping')).status, 200);
  const list = await d.api('GET', '/containers/json?all=1');
  assert.deepEqual(list.body, []);
});

test('concurrent creates of one name: exactly one wins', async () => {
  const results = await Promise.all(Array.from({ length: 8 }, () =>
    d.api('POST', '/containers/create?name=racer', { Image: 'busybox', Cmd: ['true'] })));
  const ok = results.filter((r) => r.status === 201);
  const conflict = results.filter((r) => r.status === 409);
  assert.equal(ok.length, 1);
  assert.equal(conflict.length, 7);
  assert.match((conflict[0]!.body as { message: string }).message, /Conflict. The container name "\/racer" is already in use/);
  const dirs = readdirSync(join(d.dataRoot, 'containers'));
  assert.equal(dirs.length, 1, 'losers leave no directory behind');
  assert.equal((await d.api('DELETE', '/containers/racer')).status, 204);
});

function postTar(path: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, path, method: 'POST', headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('import refuses ../, absolute paths and writes through symlinks; nothing is written outside', async () => {
  const marker = `/tmp/berth-escape-${process.pid}`;
  const cases = [
    await tarOf([{ name: '../../../../../../..' + marker, body: 'x' }]),
    await tarOf([{ name: marker, body: 'x' }]),
    await tarOf([{ name: 'esc', type: 'symlink', linkname: '/tmp' }, { name: `esc/berth-escape-${process.pid}`, body: 'x' }]),
    await tarOf([{ name: 'h', type: 'link', linkname: '../../../../../../etc/passwd' }]),
  ];
  const imagesBefore = ((await d.api('GET', '/images/json')).body as unknown[]).length;
  for (const tar of cases) {
    const r = await postTar('/images/create?fromSrc=-&repo=evil', tar);
    assert.ok(r.status >= 400 || /error/.test(r.text), `rejected: ${r.status} ${r.text}`);
    assert.equal(existsSync(marker), false);
  }
  assert.equal(((await d.api('GET', '/images/json')).body as unknown[]).length, imagesBefore);
  assert.equal((await d.api('GET', '/images/evil/json')).status, 404);
  const layers = readdirSync(join(d.dataRoot, 'layers')).filter((f) => !f.startsWith('.'));
  assert.equal(layers.length, 1, 'only the busybox layer exists');
  const broken = await postTar('/images/create?fromSrc=-&repo=broken', Buffer.from('this is not a tarball at all, just text'.repeat(40)));
  assert.ok(broken.status >= 400 || /error/.test(broken.text));
});

test('events: lifecycle events stream with filters and replay with since', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const c = d.berth(['run', '--name', 'evented', '-l', 'team=core', 'busybox', 'true']);
  assert.equal(c.code, 0, c.stderr);
  d.berth(['rm', 'evented']);
  const r = await eventually(() => {
    const ev = d.berth(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=evented']);
    return /destroy/.test(ev.stdout) ? ev : undefined;
  });
  assert.ok(r);
  const actions = r.stdout.trim().split('\n').map((l) => l.split(' ')[2]);
  assert.deepEqual(actions, ['create', 'start', 'die', 'destroy']);
  assert.match(r.stdout, /container die [0-9a-f]{64} \(exitCode=0, image=busybox, name=evented, team=core\)/);
  const img = d.berth(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'type=image']);
  for (const line of img.stdout.trim().split('\n').filter(Boolean)) assert.match(line, /^\S+ image (import|tag) /);
  const json = await d.api('GET', `/events?since=${since}&until=${Math.floor(Date.now() / 1000) + 1}&filters=${encodeURIComponent('{"event":["start"]}')}`);
  assert.equal(json.status, 200);
  const bad = await d.api('GET', `/events?filters=${encodeURIComponent('{"nope":["x"]}')}`);
  assert.equal(bad.status, 400);
});

test('docker CLI: images, tag, inspect, rmi against berthd', () => {
  const tag = d.docker(['tag', 'busybox', 'localhost:5000/team/bb:1.0']);
  assert.equal(tag.code, 0, tag.stderr);
  const imgs = d.docker(['images']);
  assert.match(imgs.stdout, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
  assert.match(imgs.stdout, /localhost:5000\/team\/bb\s+1\.0\s+[0-9a-f]{12}\s/);
  const insp = d.docker(['image', 'inspect', '-f', '{{.Os}} {{.RepoTags}}', 'localhost:5000/team/bb:1.0']);
  assert.equal(insp.stdout, 'linux [busybox:latest localhost:5000/team/bb:1.0]\n');
  const rmi = d.docker(['rmi', 'localhost:5000/team/bb:1.0']);
  assert.equal(rmi.stdout, 'Untagged: localhost:5000/team/bb:1.0\n');
  assert.equal(d.berth(['image', 'inspect', 'busybox']).code, 0);
});

test('swarm and plugin endpoints answer as a Docker in no swarm with no plugins', async () => {
  const notManager = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
  for (const [method, path] of [['GET', '/nodes'], ['GET', '/v1.41/services?filters=%7B%7D'], ['POST', '/services/create'], ['GET', '/tasks'],
    ['GET', '/secrets'], ['DELETE', '/configs/abc'], ['GET', '/swarm'], ['GET', '/swarm/unlockkey'], ['POST', '/services/web/update']]) {
    const r = await d.api(method!, path!, method === 'POST' ? {} : undefined);
    assert.equal(r.status, 503, `${method} ${path}`);
    assert.deepEqual(r.body, { message: notManager }, `${method} ${path}`);
  }
  const leave = await d.api('POST', '/swarm/leave?force=1');
  assert.deepEqual([leave.status, leave.body], [503, { message: 'This node is not part of a swarm' }]);
  const init = await d.api('POST', '/swarm/init', { ListenAddr: '0.0.0.0:2377' });
  assert.equal(init.status, 501);
  assert.match((init.body as { message: string }).message, /does not support swarm mode/);
  const plugins = await d.api('GET', '/plugins');
  assert.deepEqual([plugins.status, plugins.body], [200, []]);
  const inspect = await d.api('GET', '/plugins/vieux/sshfs:latest/json');
  assert.deepEqual([inspect.status, inspect.body], [404, { message: 'plugin "vieux/sshfs:latest" not found' }]);
  assert.equal((await d.api('POST', '/plugins/pull?remote=vieux/sshfs', [])).status, 501);
  assert.equal((await d.api('GET', '/plugins?filters=notjson')).status, 400);

  // Through the docker CLI, the messages people know.
  const nodes = d.docker(['node', 'ls']);
  assert.equal(nodes.code, 1);
  assert.equal(nodes.stderr, `Error response from daemon: ${notManager}\n`);
  const services = d.docker(['service', 'ls']);
  assert.equal(services.stderr, `Error response from daemon: ${notManager}\n`);
  const pluginLs = d.docker(['plugin', 'ls']);
  assert.equal(pluginLs.code, 0, pluginLs.stderr);
  assert.match(pluginLs.stdout, /^ID\s+NAME\s+DESCRIPTION\s+ENABLED\n$/);
  const swarmInit = d.docker(['swarm', 'init']);
  assert.equal(swarmInit.code, 1);
  assert.match(swarmInit.stderr, /Berth does not support swarm mode/);
});

test('inspect, info and version carry the fields tools read: HostConfig.Runtime, GraphDriver.Data.LowerDir, RegistryConfig.IndexConfigs, version details', async () => {
  const created = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'] });
  assert.equal(created.status, 201);
  const id = (created.body as { Id: string }).Id;
  try {
    const c = (await d.api('GET', `/containers/${id}/json`)).body as { HostConfig: { Runtime: string }; GraphDriver: { Data: Record<string, string> } };
    assert.equal(c.HostConfig.Runtime, 'runc');
    const lower = c.GraphDriver.Data.LowerDir!.split(':');
    assert.ok(lower.length >= 1 && lower.every((dir) => existsSync(dir)), c.GraphDriver.Data.LowerDir);
    assert.ok(c.GraphDriver.Data.UpperDir && c.GraphDriver.Data.MergedDir && c.GraphDriver.Data.WorkDir);
  } finally {
    await d.api('DELETE', `/containers/${id}`);
  }
  const info = (await d.api('GET', '/info')).body as { RegistryConfig: { IndexConfigs: Record<string, { Official: boolean; Secure: boolean }> } };
  assert.deepEqual([info.RegistryConfig.IndexConfigs['docker.io']!.Official, info.RegistryConfig.IndexConfigs['docker.io']!.Secure], [true, true]);
  const details = ((await d.api('GET', '/version')).body as { Components: { Details: Record<string, string> }[] }).Components[0]!.Details;
  assert.deepEqual(Object.keys(details).sort(), ['ApiVersion', 'Arch', 'BuildTime', 'Experimental', 'GitCommit', 'GoVersion', 'KernelVersion', 'MinAPIVersion', 'Os']);
  const formatted = d.docker(['version', '--format', '{{.Server.Version}} {{(index .Server.Components 0).Details.Experimental}}']);
  assert.match(formatted.stdout, /^\S+ false\n$/);
});
