import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMapping, parseExposed, parsePortSpec, parsePortSpecs, splitPortKey, validatePortBindings } from '../../../src/network/port-spec.js';

test('-p forms', () => {
  assert.deepEqual(parsePortSpec('80'), { exposed: ['80/tcp'], bindings: { '80/tcp': [{ HostIp: '', HostPort: '' }] } });
  assert.deepEqual(parsePortSpec('8080:80'), { exposed: ['80/tcp'], bindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } });
  assert.deepEqual(parsePortSpec('127.0.0.1:8080:80/udp'), { exposed: ['80/udp'], bindings: { '80/udp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] } });
  assert.deepEqual(parsePortSpec('127.0.0.1::80'), { exposed: ['80/tcp'], bindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } });
  assert.deepEqual(parsePortSpec('80/TCP').exposed, ['80/tcp']);
});

test('ranges: pairwise, a host range for one port, container ranges alone', () => {
  assert.deepEqual(parsePortSpec('8000-8001:80-81').bindings, {
    '80/tcp': [{ HostIp: '', HostPort: '8000' }], '81/tcp': [{ HostIp: '', HostPort: '8001' }],
  });
  assert.deepEqual(parsePortSpec('8000-8010:80').bindings, { '80/tcp': [{ HostIp: '', HostPort: '8000-8010' }] });
  assert.deepEqual(parsePortSpec('80-82').exposed, ['80/tcp', '81/tcp', '82/tcp']);
  assert.throws(() => parsePortSpec('8000-8002:80-81'), /Invalid ranges specified for container and host Ports: 80-81 and 8000-8002/);
});

test('bad specs get Docker\'s messages', () => {
  assert.throws(() => parsePortSpec('abc'), /Invalid containerPort: abc/);
  assert.throws(() => parsePortSpec('0'), /Invalid containerPort: 0/);
  assert.throws(() => parsePortSpec('70000:80'), /Invalid hostPort: 70000/);
  assert.throws(() => parsePortSpec('90-80'), /Invalid containerPort: 90-80/);
  assert.throws(() => parsePortSpec('1.2.3:80:80'), /Invalid ip address: 1\.2\.3/);
  assert.throws(() => parsePortSpec('80/sctpx'), /Invalid proto: sctpx/);
  assert.throws(() => parsePortSpec('[::1]:80:80'), /IPv6 host addresses are not supported/);
  assert.throws(() => parsePortSpec('1:2:3:4'), /Invalid port specification/);
  assert.throws(() => parsePortSpec('8080:'), /No port specified/);
});

test('several -p of one port add up', () => {
  const r = parsePortSpecs(['8080:80', '127.0.0.1:9090:80', '53/udp']);
  assert.deepEqual(Object.keys(r.exposed), ['80/tcp', '53/udp']);
  assert.equal(r.bindings['80/tcp']!.length, 2);
});

test('expose, keys, API validation and display', () => {
  assert.deepEqual(parseExposed('8000-8002/udp'), ['8000/udp', '8001/udp', '8002/udp']);
  assert.deepEqual(splitPortKey('53/udp'), [53, 'udp']);
  assert.deepEqual(splitPortKey('80'), [80, 'tcp']);
  validatePortBindings({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '81/tcp': null });
  assert.throws(() => validatePortBindings({ '80/tcp': [{ HostIp: 'x', HostPort: '' }] }), /invalid IP address: x/);
  assert.throws(() => validatePortBindings({ 'x/tcp': [] }), /Invalid containerPort: x/);
  assert.equal(formatMapping({ proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080 }), '0.0.0.0:8080->80/tcp');
});
