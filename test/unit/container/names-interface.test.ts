import { test } from 'node:test';
import assert from 'node:assert/strict';
import { namesInterface } from '../../../src/container/service.js';

test('namesInterface: a sysctl of one interface must wait for the veths; namespace-wide ones need not', () => {
  assert.equal(namesInterface({}), false);
  assert.equal(namesInterface({ 'net.ipv4.ip_forward': '1', 'net.core.somaxconn': '1024' }), false);
  assert.equal(namesInterface({ 'net.ipv4.conf.all.rp_filter': '0', 'net.ipv6.conf.default.disable_ipv6': '1' }), false);
  assert.equal(namesInterface({ 'net.ipv4.conf.eth0.route_localnet': '1' }), true);
  assert.equal(namesInterface({ 'net/ipv6/conf/eth1/disable_ipv6': '1' }), true);
  assert.equal(namesInterface({ 'net.ipv4.neigh.eth0.gc_stale_time': '60' }), true);
  assert.equal(namesInterface({ 'net.ipv4.conf.allx.rp_filter': '0' }), true, 'an interface named like all is still an interface');
});
