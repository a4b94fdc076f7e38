import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetDev, dockerStats, statsRow } from '../../../src/container/stats.js';

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0
  eth0:   15360     100    1    2    0     0          0         0     2048      20    3    4    0     0       0          0
`;

test('net/dev: every interface but loopback, with Docker field names', () => {
  assert.deepEqual(parseNetDev(NET_DEV), {
    eth0: { rx_bytes: 15360, rx_packets: 100, rx_errors: 1, rx_dropped: 2, tx_bytes: 2048, tx_packets: 20, tx_errors: 3, tx_dropped: 4 },
  });
  assert.deepEqual(parseNetDev(''), {});
});

test('the networks reach the stats JSON and the NET I/O column', () => {
  const sample = { read: '2026-01-01T00:00:00Z', runtime: {}, systemCpu: 0, networks: parseNetDev(NET_DEV) };
  const json = dockerStats('id', 'web', sample, undefined);
  assert.deepEqual(Object.keys(json.networks as object), ['eth0']);
  const row = statsRow(json);
  assert.equal(row.netRx, 15360);
  assert.equal(row.netTx, 2048);
  assert.equal(dockerStats('id', 'web', { ...sample, networks: undefined }, undefined).networks, undefined);
});
