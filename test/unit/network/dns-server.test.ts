import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { EmbeddedDns, nameservers } from '../../../src/network/dns-server.js';

const query = (name: string, type: 'A' | 'AAAA' | 'PTR' | 'MX' = 'A', id = 7): Buffer =>
  dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });

/** dns-packet decodes the response code; its type definitions leave it out. */
const rcode = (p: object): string | undefined => (p as { rcode?: string }).rcode;

const lookup = (client: string, name: string): string[] | undefined =>
  client === '10.0.0.9' && (name === 'db' || name === 'db.app') ? ['10.0.0.2'] : undefined;
const reverse = (client: string, ip: string): string | undefined => (client === '10.0.0.9' && ip === '10.0.0.2' ? 'db.app' : undefined);

test('container names are answered locally, case-insensitively, with a trailing dot', async () => {
  const dns = new EmbeddedDns(lookup, reverse, () => []);
  const r = dnsPacket.decode((await dns.answer(query('DB.'), '10.0.0.9', 'udp'))!);
  assert.equal(r.id, 7);
  assert.equal(rcode(r), 'NOERROR');
  assert.deepEqual(r.answers!.map((a) => [a.type, 'data' in a ? a.data : undefined]), [['A', '10.0.0.2']]);
  const aaaa = dnsPacket.decode((await dns.answer(query('db', 'AAAA'), '10.0.0.9', 'udp'))!);
  assert.equal(rcode(aaaa), 'NOERROR');
  assert.equal(aaaa.answers!.length, 0, 'a known name has no IPv6 address, and says so without forwarding');
  const ptr = dnsPacket.decode((await dns.answer(query('2.0.0.10.in-addr.arpa', 'PTR'), '10.0.0.9', 'udp'))!);
  assert.equal((ptr.answers![0] as { data: string }).data, 'db.app');
});

test('other names go to the upstream resolver and its answer comes back unchanged', async () => {
  const upstream = dgram.createSocket('udp4');
  let asked = '';
  upstream.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    asked = q.questions![0]!.name;
    upstream.send(dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers: [{ type: 'A', name: asked, data: '203.0.113.5', ttl: 60 }] }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', r));
  try {
    const dns = new EmbeddedDns(lookup, reverse, () => [`127.0.0.1:${upstream.address().port}`]);
    // The same name from a container that does not see "db" is not ours either.
    const r = dnsPacket.decode((await dns.answer(query('db', 'A', 99), '10.0.0.50', 'udp'))!);
    assert.equal(asked, 'db');
    assert.equal(r.id, 99);
    assert.equal((r.answers![0] as { data: string }).data, '203.0.113.5');
  } finally {
    upstream.close();
  }
});

test('TCP queries are forwarded over TCP', async () => {
  const server = net.createServer((sock) => {
    sock.once('data', (d: Buffer) => {
      const q = dnsPacket.decode(d.subarray(2));
      const reply = dnsPacket.encode({ type: 'response', id: q.id, questions: q.questions, answers: [{ type: 'MX', name: 'example.org', data: { preference: 10, exchange: 'mx.example.org' } }] });
      const len = Buffer.alloc(2);
      len.writeUInt16BE(reply.length);
      sock.end(Buffer.concat([len, reply]));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const dns = new EmbeddedDns(lookup, reverse, () => [`127.0.0.1:${(server.address() as net.AddressInfo).port}`]);
    const r = dnsPacket.decode((await dns.answer(query('example.org', 'MX'), '10.0.0.9', 'tcp'))!);
    assert.equal(r.answers![0]!.type, 'MX');
  } finally {
    server.close();
  }
});

test('no reachable upstream: SERVFAIL, not silence', async () => {
  const dns = new EmbeddedDns(lookup, reverse, () => []);
  const r = dnsPacket.decode((await dns.answer(query('example.org'), '10.0.0.9', 'udp'))!);
  assert.equal(rcode(r), 'SERVFAIL');
});

test('garbage and responses are dropped', async () => {
  const dns = new EmbeddedDns(lookup, reverse, () => []);
  assert.equal(await dns.answer(Buffer.from('not dns'), '10.0.0.9', 'udp'), undefined);
  const resp = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'x' }] });
  assert.equal(await dns.answer(resp, '10.0.0.9', 'udp'), undefined);
});

test('nameserver lines of resolv.conf', () => {
  assert.deepEqual(nameservers('# c\nnameserver 1.1.1.1\n  nameserver 10.0.0.2 \nsearch x\n'), ['1.1.1.1', '10.0.0.2']);
});
