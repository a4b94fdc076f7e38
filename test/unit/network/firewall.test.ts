import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dnatRule, dnsRedirectRules, filterRules, networkChains, snatRules } from '../../../src/network/firewall.js';

const net = { bridge: 'br-abc', subnet: '172.20.0.0/16', internal: false, icc: true, masquerade: true };

test('chain names stay within iptables\' 28 characters for any bridge name', () => {
  for (const c of Object.values(networkChains('a-15-char-name!'))) assert.ok(c.length <= 28, c);
});

test('filter: into the bridge only what is established, local or published; then out', () => {
  assert.deepEqual(filterRules(net), [
    '-A BERTH-F-br-abc -o br-abc -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A BERTH-F-br-abc -i br-abc -o br-abc -j ACCEPT',
    '-A BERTH-F-br-abc -o br-abc -m conntrack --ctstate DNAT -j ACCEPT',
    '-A BERTH-F-br-abc -o br-abc -j DROP',
    '-A BERTH-F-br-abc -i br-abc -j ACCEPT',
  ]);
  const internal = filterRules({ ...net, internal: true });
  assert.ok(!internal.some((r) => r.includes('DNAT')));
  assert.equal(internal.at(-1), '-A BERTH-F-br-abc -i br-abc -j DROP');
  assert.equal(filterRules({ ...net, icc: false })[1], '-A BERTH-F-br-abc -i br-abc -o br-abc -j DROP');
});

test('nat: masquerade out, loopback and hairpin into the bridge; internal has none', () => {
  assert.deepEqual(snatRules(net), [
    '-A BERTH-S-br-abc -s 172.20.0.0/16 ! -o br-abc -j MASQUERADE',
    '-A BERTH-S-br-abc -s 127.0.0.0/8 -o br-abc -j MASQUERADE',
    '-A BERTH-S-br-abc -s 172.20.0.0/16 -o br-abc -m conntrack --ctstate DNAT -j MASQUERADE',
  ]);
  assert.deepEqual(snatRules({ ...net, internal: true }), []);
  assert.equal(snatRules({ ...net, masquerade: false }).length, 2);
});

test('a published port: any local address, or the one asked for; tagged with the container', () => {
  const id = 'abcdef0123456789'.padEnd(64, '0');
  assert.equal(dnatRule('br-abc', { mapping: { proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080 }, containerIp: '172.20.0.2', containerId: id }),
    '-A BERTH-D-br-abc -p tcp -m tcp --dport 8080 -m comment --comment berth:abcdef012345 -j DNAT --to-destination 172.20.0.2:80');
  assert.equal(dnatRule('br-abc', { mapping: { proto: 'udp', containerPort: 53, hostIp: '127.0.0.1', hostPort: 5353 }, containerIp: '172.20.0.2', containerId: id }),
    '-A BERTH-D-br-abc -p udp -d 127.0.0.1/32 -m udp --dport 5353 -m comment --comment berth:abcdef012345 -j DNAT --to-destination 172.20.0.2:53');
});

test('DNS redirect inside the container: 127.0.0.11 to the gateway, both transports', () => {
  const rules = dnsRedirectRules('172.20.0.1', '172.20.0.2');
  assert.equal(rules.length, 4);
  assert.ok(rules.includes('-A OUTPUT -d 127.0.0.11/32 -p udp -m udp --dport 53 -j DNAT --to-destination 172.20.0.1:53'));
  assert.ok(rules.includes('-A POSTROUTING -s 127.0.0.0/8 -d 172.20.0.1/32 -p tcp -m tcp --dport 53 -j SNAT --to-source 172.20.0.2'));
});
