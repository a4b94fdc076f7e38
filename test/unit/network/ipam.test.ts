import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allocate, checkRequested, chooseSubnet, defaultPools, formatIp, formatSubnet, macFor, overlaps, parseIp, parseSubnet, poolConfig,
} from '../../../src/network/ipam.js';

test('addresses parse and print', () => {
  assert.equal(parseIp('172.17.0.1'), 0xac110001);
  assert.equal(formatIp(0xac110001), '172.17.0.1');
  assert.equal(formatIp(parseIp('255.255.255.255')!), '255.255.255.255');
  for (const bad of ['1.2.3', '256.1.1.1', 'a.b.c.d', '1.2.3.4.5', '']) assert.equal(parseIp(bad), undefined, bad);
});

test('subnets: host bits and bad prefixes are refused with the network to use', () => {
  assert.equal(formatSubnet(parseSubnet('10.1.0.0/16')), '10.1.0.0/16');
  assert.throws(() => parseSubnet('10.1.2.3/16'), /invalid subnet 10\.1\.2\.3\/16: it should be 10\.1\.0\.0\/16/);
  assert.throws(() => parseSubnet('10.1.0.0/33'), /invalid CIDR address/);
  assert.throws(() => parseSubnet('10.1.0.0'), /invalid CIDR address/);
});

test('overlap', () => {
  assert.ok(overlaps(parseSubnet('10.0.0.0/8'), parseSubnet('10.5.0.0/16')));
  assert.ok(overlaps(parseSubnet('10.5.0.0/16'), parseSubnet('10.0.0.0/8')));
  assert.ok(!overlaps(parseSubnet('10.5.0.0/16'), parseSubnet('10.6.0.0/16')));
});

test('pool config: gateway defaults to the first address; gateway and range must be inside', () => {
  const p = poolConfig('192.168.5.0/24');
  assert.equal(formatIp(p.gateway), '192.168.5.1');
  assert.equal(formatIp(poolConfig('192.168.5.0/24', '192.168.5.254').gateway), '192.168.5.254');
  assert.throws(() => poolConfig('192.168.5.0/24', '10.0.0.1'), /no matching subnet for gateway 10\.0\.0\.1/);
  assert.throws(() => poolConfig('192.168.5.0/24', undefined, '10.0.0.0/28'), /no matching subnet for range/);
  assert.throws(() => poolConfig('192.168.5.0/24', 'x'), /invalid gateway address x/);
  assert.throws(() => poolConfig('192.168.5.0/31'), /\/30 or shorter/);
});

test('allocation: lowest free address, skipping the gateway, inside the ip-range', () => {
  const p = poolConfig('10.0.0.0/29');
  const used = new Set<number>();
  const got: string[] = [];
  for (;;) {
    const ip = allocate(p, used);
    if (ip === undefined) break;
    used.add(ip);
    got.push(formatIp(ip));
  }
  // .0 is the network, .1 the gateway, .7 the broadcast address.
  assert.deepEqual(got, ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
  const r = poolConfig('10.0.0.0/24', undefined, '10.0.0.128/25');
  assert.equal(formatIp(allocate(r, new Set())!), '10.0.0.129');
  const gwHigh = poolConfig('10.0.0.0/29', '10.0.0.2');
  assert.equal(formatIp(allocate(gwHigh, new Set())!), '10.0.0.1');
});

test('requested addresses: inside, not the gateway, not taken', () => {
  const p = poolConfig('10.0.0.0/24');
  checkRequested(p, parseIp('10.0.0.9')!, new Set(), '10.0.0.9');
  assert.throws(() => checkRequested(p, parseIp('10.0.1.9')!, new Set(), '10.0.1.9'), /does not belong to the network's subnet 10\.0\.0\.0\/24/);
  assert.throws(() => checkRequested(p, parseIp('10.0.0.1')!, new Set(), '10.0.0.1'), /Address already in use: 10\.0\.0\.1/);
  assert.throws(() => checkRequested(p, parseIp('10.0.0.9')!, new Set([parseIp('10.0.0.9')!]), '10.0.0.9'), /Address already in use/);
  assert.throws(() => checkRequested(p, parseIp('10.0.0.255')!, new Set(), '10.0.0.255'), /does not belong/);
});

test('default pools: Docker\'s order, skipping what is in use', () => {
  const pools = defaultPools();
  assert.equal(formatSubnet(pools[0]!), '172.17.0.0/16');
  assert.equal(formatSubnet(pools[15]!), '192.168.0.0/20');
  const chosen = chooseSubnet(pools, [parseSubnet('172.17.0.0/16'), parseSubnet('172.18.5.0/24')]);
  assert.equal(formatSubnet(chosen!), '172.19.0.0/16');
  assert.equal(chooseSubnet(pools, [parseSubnet('0.0.0.0/0')]), undefined);
});

test('MAC addresses follow the IP as Docker\'s do', () => {
  assert.equal(macFor(parseIp('172.17.0.2')!), '02:42:ac:11:00:02');
});
