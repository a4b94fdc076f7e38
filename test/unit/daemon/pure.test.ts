import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Router } from '../../../src/daemon/router.js';
import { registryConfig } from '../../../src/daemon/routes/system.js';
import { commandLine } from '../../../src/daemon/routes/containers.js';
import { loadConfig, ConfigError } from '../../../src/daemon/config.js';
import { validateCreateRequest, createRequestBody } from '../../../src/container/create-request.js';
import { parseSignal } from '../../../src/container/signals.js';
import { InvalidParameterError } from '../../../src/lib/errors.js';
import { StdcopyDemuxer } from '../../../src/client/stdcopy.js';
import { parseChanges } from '../../../src/image/changes.js';
import { tempDir } from '../../helpers/tmp.js';

test('router: names with slashes, HEAD → GET, wrong method', () => {
  const r = new Router();
  const h = (): void => undefined;
  r.add('GET', '/images/{name:.*}/json', h).add('DELETE', '/images/{name:.*}', h).add('GET', '/containers/{id}/json', h);
  const m = r.find('GET', '/images/localhost:5000/a/b:1/json');
  assert.ok(m && m !== 'method');
  assert.deepEqual(m.params, { name: 'localhost:5000/a/b:1' });
  assert.deepEqual((r.find('DELETE', '/images/a/b') as { params: object }).params, { name: 'a/b' });
  assert.ok(r.find('HEAD', '/containers/x/json') !== undefined);
  assert.equal(r.find('POST', '/containers/x/json'), 'method');
  assert.equal(r.find('GET', '/nope'), undefined);
});

test('daemon config: defaults, file keys, flags win, errors', () => {
  const dir = tempDir('berth-cfg-');
  const file = join(dir, 'd.json');
  writeFileSync(file, JSON.stringify({ 'data-root': '/d', hosts: ['unix:///x.sock'], 'default-runtime': 'crun' }));
  const c = loadConfig(['--config-file', file]);
  assert.ok(typeof c === 'object');
  assert.deepEqual([c.dataRoot, c.socket, c.runtime, c.execRoot], ['/d', '/x.sock', 'crun', '/run/berth']);
  const f = loadConfig(['--config-file', file, '--data-root', '/e', '--runtime', 'runc']);
  assert.ok(typeof f === 'object');
  assert.deepEqual([f.dataRoot, f.runtime], ['/e', 'runc']);
  assert.throws(() => loadConfig(['--config-file', file, '--runtime', 'kata']), ConfigError);
  assert.throws(() => loadConfig(['--bogus']), ConfigError);
  assert.throws(() => loadConfig(['--config-file', join(dir, 'missing.json')]), ConfigError);
  writeFileSync(file, '{not json');
  assert.throws(() => loadConfig(['--config-file', file]), ConfigError);
});

test('daemon config: log-driver and log-opts keep the default rotation unless turned off', () => {
  const dir = tempDir('berth-cfg-');
  const file = join(dir, 'd.json');
  writeFileSync(file, JSON.stringify({ 'log-opts': { 'max-size': '5m', labels: 'app' } }));
  const c = loadConfig(['--config-file', file]);
  assert.ok(typeof c === 'object');
  assert.deepEqual(c.logConfig, { Type: 'json-file', Config: { 'max-size': '5m', 'max-file': '5', labels: 'app' } });
  const off = loadConfig(['--config-file', file, '--log-opt', 'max-size=-1']);
  assert.ok(typeof off === 'object');
  assert.equal(off.logConfig.Config['max-size'], '-1');
  writeFileSync(join(dir, 'empty.json'), '{}');
  const local = loadConfig(['--config-file', join(dir, 'empty.json'), '--log-driver', 'local']);
  assert.ok(typeof local === 'object');
  assert.equal(local.logConfig.Type, 'local');
  assert.throws(() => loadConfig(['--config-file', file, '--log-opt', 'max-file=0']), /max-file cannot be less than 1/);
  assert.throws(() => loadConfig(['--config-file', file, '--log-driver', 'gelf']), /no log driver named 'gelf'/);
  writeFileSync(file, JSON.stringify({ 'log-opts': { 'max-file': 3 } }));
  assert.throws(() => loadConfig(['--config-file', file]), /"log-opts" must be an object of strings/);
});

test('create requests: type checks and merging with the image config', () => {
  assert.throws(() => validateCreateRequest([]), InvalidParameterError);
  assert.throws(() => validateCreateRequest({ Env: 'A=B' }), InvalidParameterError);
  assert.throws(() => validateCreateRequest({ Labels: { a: 1 } }), InvalidParameterError);
  assert.throws(() => validateCreateRequest({ StopTimeout: 'x' }), InvalidParameterError);
  const image = { Cmd: ['sh'], Env: ['PATH=/bin', 'A=1'], Entrypoint: null, Labels: { img: 'yes' }, WorkingDir: '/w', StopSignal: 'SIGQUIT' };
  const a = createRequestBody({ Image: 'busybox', Env: ['A=2', 'B=3'], Labels: { c: 'd' } }, image);
  assert.deepEqual(a.config.Cmd, ['sh']);
  assert.deepEqual(a.config.Env, ['PATH=/bin', 'A=2', 'B=3']);
  assert.deepEqual(a.config.Labels, { img: 'yes', c: 'd' });
  assert.equal(a.config.WorkingDir, '/w');
  assert.equal(a.config.StopSignal, 'SIGQUIT');
  assert.equal(a.hostConfig.LogConfig.Type, 'json-file');
  const b = createRequestBody({ Image: 'busybox', Entrypoint: ['echo'] }, image);
  assert.deepEqual([b.config.Entrypoint, b.config.Cmd], [['echo'], null]);
  const c = createRequestBody({ Image: 'busybox', Entrypoint: [''], Cmd: ['ls'] }, { ...image, Entrypoint: ['/init'] });
  assert.deepEqual([c.config.Entrypoint, c.config.Cmd], [null, ['ls']]);
  assert.throws(() => createRequestBody({ Image: 'b', HostConfig: { RestartPolicy: { Name: 'sometimes', MaximumRetryCount: 0 } } }, image), /invalid restart policy/);
  assert.throws(() => createRequestBody({ Image: 'b', HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } }, image), /AutoRemove/);
  assert.throws(() => createRequestBody({ Image: 'b', HostConfig: { LogConfig: { Type: 'splunk', Config: {} } } }, image), /no log driver named 'splunk'/);
});

test('signals', () => {
  assert.equal(parseSignal('SIGTERM'), 15);
  assert.equal(parseSignal('kill'), 9);
  assert.equal(parseSignal('1'), 1);
  assert.equal(parseSignal('SIGRTMIN+1'), 35);
  assert.throws(() => parseSignal('SIGNOPE'), /Invalid signal: SIGNOPE/);
  assert.throws(() => parseSignal('99'), /Invalid signal/);
});

test('stdcopy demuxer handles frames split anywhere', () => {
  const frame = (s: number, text: string): Buffer => {
    const h = Buffer.alloc(8);
    h[0] = s;
    h.writeUInt32BE(Buffer.byteLength(text), 4);
    return Buffer.concat([h, Buffer.from(text)]);
  };
  const all = Buffer.concat([frame(1, 'hello\n'), frame(2, 'err'), frame(1, '')]);
  for (let split = 0; split <= all.length; split++) {
    const got: string[] = [];
    const d = new StdcopyDemuxer((s, data) => got.push(`${s}:${data.toString()}`));
    d.write(all.subarray(0, split));
    d.write(all.subarray(split));
    assert.deepEqual(got, ['1:hello\n', '2:err', '1:'], `split at ${split}`);
  }
});

test('import --change instructions', () => {
  const c = parseChanges(['CMD ["sh"]', 'ENTRYPOINT /init run', 'ENV A=1 B="two words"', 'ENV C 3', 'LABEL a=b', 'EXPOSE 80 53/udp', 'VOLUME /data', 'WORKDIR /app', 'USER nobody', 'STOPSIGNAL SIGINT']);
  assert.deepEqual(c.Cmd, ['sh']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', '/init run']);
  assert.deepEqual(c.Env, ['A=1', 'B=two words', 'C=3']);
  assert.deepEqual(c.Labels, { a: 'b' });
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.deepEqual([c.WorkingDir, c.User, c.StopSignal], ['/app', 'nobody', 'SIGINT']);
  assert.throws(() => parseChanges(['FROM x']), /FROM is not a valid change command/);
});

test('daemon config: build-context-memory is a whole number of bytes', () => {
  const dir = tempDir('berth-cfg-');
  const file = join(dir, 'd.json');
  writeFileSync(file, JSON.stringify({ 'build-context-memory': 0 }));
  const c = loadConfig(['--config-file', file]);
  assert.ok(typeof c === 'object');
  assert.equal(c.buildContextMemory, 0);
  writeFileSync(join(dir, 'none.json'), '{}');
  const dflt = loadConfig(['--config-file', join(dir, 'none.json')]);
  assert.ok(typeof dflt === 'object');
  assert.equal(dflt.buildContextMemory, undefined);
  for (const bad of ['1g', -1, 1.5]) {
    writeFileSync(file, JSON.stringify({ 'build-context-memory': bad }));
    assert.throws(() => loadConfig(['--config-file', file]), /"build-context-memory" must be a whole number of bytes/);
  }
});

test('info RegistryConfig: Docker Hub always, insecure registries by name, insecure CIDRs after loopback', () => {
  assert.deepEqual(registryConfig([]), {
    InsecureRegistryCIDRs: ['127.0.0.0/8'],
    IndexConfigs: { 'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true } },
    Mirrors: [],
  });
  const c = registryConfig(['10.1.0.0/16', 'reg.example:5000', '127.0.0.0/8']);
  assert.deepEqual(c.InsecureRegistryCIDRs, ['127.0.0.0/8', '10.1.0.0/16']);
  assert.deepEqual(Object.keys(c.IndexConfigs as object), ['docker.io', 'reg.example:5000']);
  assert.deepEqual((c.IndexConfigs as Record<string, unknown>)['reg.example:5000'], { Name: 'reg.example:5000', Mirrors: [], Secure: false, Official: false });
});

test('ps COMMAND: arguments with a space in single quotes, as dockerd builds it', () => {
  assert.equal(commandLine({ Path: 'sh', Args: ['-c', 'echo out; sleep 1'] }), "sh -c 'echo out; sleep 1'");
  assert.equal(commandLine({ Path: 'sleep', Args: ['1000'] }), 'sleep 1000');
  assert.equal(commandLine({ Path: '/bin/true', Args: [] }), '/bin/true');
});
