import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tabwrite } from '../../../src/cli/tabwriter.js';
import { psRows, psView, createBody, parseEnvFile } from '../../../src/cli/commands/containers.js';
import { formatRows, goJsonRow } from '../../../src/cli/format.js';
import { goTime } from '../../../src/cli/commands/networks.js';
import { imageRows } from '../../../src/cli/commands/images.js';
import type { ContainerSummary } from '../../../src/client/client.js';

test('tabwriter: minwidth 10, padding 3, last column unpadded', () => {
  const out = tabwrite([['CONTAINER ID', 'IMAGE', 'NAMES'], ['abc', 'busybox', 'web']]);
  assert.equal(out, 'CONTAINER ID   IMAGE     NAMES\nabc            busybox   web\n');
  assert.equal(tabwrite([['a…', 'b'], ['ccc', 'd']]), 'a…        b\nccc       d\n');
});

const now = Date.parse('2026-01-01T00:00:10Z');
const c: ContainerSummary = {
  Id: 'f'.repeat(64), Names: ['/web'], Image: 'busybox', ImageID: 'sha256:x', Command: 'sh -c echo started; exec sleep 1000',
  Created: now / 1000 - 5, State: 'running', Status: 'Up 4 seconds', Ports: [], Labels: {}, SizeRw: 0, SizeRootFs: 1979712,
};

test('ps rows: truncation, quoting, created, size', () => {
  const rows = psRows([c], {}, now);
  assert.deepEqual(rows[0], ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']);
  assert.deepEqual(rows[1], ['ffffffffffff', 'busybox', '"sh -c echo started;…"', '5 seconds ago', 'Up 4 seconds', '', 'web']);
  const full = psRows([c], { noTrunc: true, size: true }, now)[1]!;
  assert.equal(full[0], c.Id);
  assert.equal(full[2], `"${c.Command}"`);
  assert.equal(full[7], '0B (virtual 1.98MB)');
});

test('images rows: tags, <none>, digests', () => {
  const img = { Id: 'sha256:' + 'a'.repeat(64), RepoTags: ['busybox:latest', 'localhost:5000/x/y:1'], RepoDigests: [], Created: now / 1000 - 120, Size: 1979712 };
  const rows = imageRows([img, { ...img, RepoTags: [] }], {}, now);
  assert.deepEqual(rows[1], ['busybox', 'latest', 'aaaaaaaaaaaa', '2 minutes ago', '1.98MB']);
  assert.deepEqual(rows[2], ['localhost:5000/x/y', '1', 'aaaaaaaaaaaa', '2 minutes ago', '1.98MB']);
  assert.deepEqual(rows[3]!.slice(0, 2), ['<none>', '<none>']);
  assert.equal(imageRows([img], { digests: true }, now)[1]![2], '<none>');
});

test('run flags become Docker’s create body', () => {
  process.env.BERTH_TEST_VAR = 'from-env';
  const b = createBody('busybox', ['ls', '-l'], {
    env: ['A=1', 'BERTH_TEST_VAR', 'UNSET_VAR_XYZ'], label: ['app=web', 'flag'], entrypoint: '', restart: 'on-failure:3', rm: true,
    workdir: '/tmp', user: 'nobody', stopTimeout: 5,
  });
  // Unset here, the bare name goes along (as the docker CLI sends it): it unsets the variable in the container.
  assert.deepEqual(b.Env, ['A=1', 'BERTH_TEST_VAR=from-env', 'UNSET_VAR_XYZ']);
  assert.deepEqual(b.Labels, { app: 'web', flag: '' });
  assert.deepEqual(b.Entrypoint, ['']);
  assert.deepEqual(b.Cmd, ['ls', '-l']);
  assert.equal(b.WorkingDir, '/tmp');
  assert.equal(b.StopTimeout, 5);
  const hc = b.HostConfig as { RestartPolicy: unknown; AutoRemove: boolean };
  assert.deepEqual(hc.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal(hc.AutoRemove, true);
  assert.throws(() => createBody('busybox', [], { restart: 'always:3' }), /maximum retry count/);
});

test('--env-file parsing', () => {
  process.env.BERTH_TEST_VAR = 'x';
  assert.deepEqual(parseEnvFile('# comment\n\nA=1\n  B=two words\nBERTH_TEST_VAR\nNOT_SET_XYZ\n'), ['A=1', 'B=two words', 'BERTH_TEST_VAR=x']);
  assert.throws(() => parseEnvFile('BAD KEY=1'), /contains whitespaces/);
});

test('--format json: rows as the docker CLI prints them (keys sorted, <>& escaped), ps fields included', () => {
  const c: ContainerSummary = {
    Id: 'a'.repeat(64), Names: ['/web'], Image: 'busybox', ImageID: 'sha256:' + 'b'.repeat(64), Command: 'sleep 100', Created: 1_700_000_000,
    State: 'running', Status: 'Up 2 minutes', Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }], Labels: { who: '<me>' },
    NetworkSettings: { Networks: { net2: {}, bridge: {} } }, Mounts: [{ Type: 'volume', Name: 'data', Driver: 'local' }, { Type: 'bind', Source: '/srv/a/very/long/path' }],
  };
  const line = formatRows('json', [psView(c, false, 1_700_000_120_000)], {});
  assert.equal(line, '{"Command":"\\"sleep 100\\"","CreatedAt":"2023-11-14 22:13:20 +0000 UTC","ID":"aaaaaaaaaaaa","Image":"busybox",'
    + '"Labels":"who=\\u003cme\\u003e","LocalVolumes":"1","Mounts":"data,/srv/a/very/lo…","Names":"web","Networks":"bridge,net2","Platform":null,'
    + '"Ports":"0.0.0.0:8080-\\u003e80/tcp","RunningFor":"2 minutes ago","Size":"0B","State":"running","Status":"Up 2 minutes"}\n');
  // `{{json .}}` is the same thing; any other template is a template.
  assert.equal(formatRows('{{ json . }}', [{ b: 1, a: '&' }], {}), '{"a":"\\u0026","b":1}\n');
  assert.equal(formatRows('{{.a}}', [{ b: 1, a: '&' }], {}), '&\n');
  assert.equal(goJsonRow({}), '{}');
});

test("network CreatedAt in Go's time format", () => {
  assert.equal(goTime('2026-11-23T08:32:47.224Z'), '2026-11-23 08:32:47.224 +0000 UTC');
  assert.equal(goTime('2026-11-23T08:32:47Z'), '2026-11-23 08:32:47 +0000 UTC');
  assert.equal(goTime('2026-11-23T08:32:47.120000+02:00'), '2026-11-23 08:32:47.12 +0200 +0200');
  assert.equal(goTime('not a time'), 'not a time');
});
