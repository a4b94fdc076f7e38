import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostsFile, parseExtraHost, resolvConf } from '../../../src/network/etc-files.js';

test('hosts: Docker\'s header, extra hosts, then the container\'s own names', () => {
  const text = hostsFile({ hostname: 'abc', domainname: 'example.com', addresses: ['172.17.0.2'], extraHosts: ['db:10.0.0.5', 'gw:host-gateway'], hostGateway: '172.17.0.1' });
  const lines = text.trim().split('\n');
  assert.equal(lines[0], '127.0.0.1\tlocalhost');
  assert.equal(lines.length, 9);
  assert.deepEqual(lines.slice(6), ['10.0.0.5\tdb', '172.17.0.1\tgw', '172.17.0.2\tabc.example.com\tabc']);
});

test('add-host: both separators, IPv6, bad addresses', () => {
  assert.deepEqual(parseExtraHost('a=1.2.3.4', ''), ['a', '1.2.3.4']);
  assert.deepEqual(parseExtraHost('a:::1', ''), ['a', '::1']);
  assert.deepEqual(parseExtraHost('a:[2001:db8::1]', ''), ['a', '2001:db8::1']);
  assert.throws(() => parseExtraHost('a:nope', ''), /invalid IP address in add-host: "nope"/);
  assert.throws(() => parseExtraHost('noseparator', ''), /invalid IP address in add-host/);
});

const host = 'nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example lab.example\noptions edns0 trust-ad\n';

test('resolv.conf on the default bridge: loopback resolvers dropped, the rest kept', () => {
  assert.equal(resolvConf({ host, embedded: false, dns: [], search: [], options: [] }),
    'nameserver 10.0.0.2\nsearch corp.example lab.example\noptions edns0 trust-ad\n');
  assert.equal(resolvConf({ host: 'nameserver 127.0.0.53\n', embedded: false, dns: [], search: [], options: [] }),
    'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
});

test('resolv.conf with the embedded server: 127.0.0.11 and ndots:0', () => {
  assert.equal(resolvConf({ host, embedded: true, dns: [], search: [], options: [] }),
    'nameserver 127.0.0.11\nsearch corp.example lab.example\noptions edns0 trust-ad ndots:0\n');
  assert.equal(resolvConf({ host, embedded: true, dns: [], search: [], options: ['ndots:3'] }),
    'nameserver 127.0.0.11\nsearch corp.example lab.example\noptions ndots:3\n');
});

test('--dns, --dns-search, --dns-option replace the host\'s; search "." clears', () => {
  assert.equal(resolvConf({ host, embedded: false, dns: ['1.1.1.1'], search: ['x.example'], options: ['rotate'] }),
    'nameserver 1.1.1.1\nsearch x.example\noptions rotate\n');
  assert.equal(resolvConf({ host, embedded: false, dns: ['1.1.1.1'], search: ['.'], options: [] }),
    'nameserver 1.1.1.1\noptions edns0 trust-ad\n');
});
