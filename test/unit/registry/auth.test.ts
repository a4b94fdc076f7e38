import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChallenges, decodeAuthHeader, encodeAuthHeader, basicHeader } from '../../../src/registry/auth.js';

test('parseChallenges: bearer with quoted params, basic, several at once', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull,push"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:team/app:pull,push' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  assert.deepEqual(parseChallenges('Basic realm=x, Bearer realm="t",service=s').map((c) => c.scheme), ['basic', 'bearer']);
  assert.deepEqual(parseChallenges('Bearer realm="a\\"b"')[0]!.params.realm, 'a"b');
});

test('X-Registry-Auth: round trip, the auth field, empty, garbage', () => {
  const h = encodeAuthHeader({ username: 'jo', password: 'p:w', serveraddress: 'localhost:5000' });
  assert.deepEqual(decodeAuthHeader(h), { username: 'jo', password: 'p:w', serveraddress: 'localhost:5000' });
  const viaAuth = decodeAuthHeader(Buffer.from(JSON.stringify({ auth: Buffer.from('a:b:c').toString('base64') })).toString('base64'));
  assert.equal(viaAuth.username, 'a');
  assert.equal(viaAuth.password, 'b:c');
  assert.deepEqual(decodeAuthHeader(undefined), {});
  assert.deepEqual(decodeAuthHeader(encodeAuthHeader({})), {});
  assert.throws(() => decodeAuthHeader('!!!notjson'), /invalid X-Registry-Auth/);
  assert.equal(basicHeader({ username: 'u', password: 'p' }), `Basic ${Buffer.from('u:p').toString('base64')}`);
  assert.equal(basicHeader({}), undefined);
});

test('X-Registry-Config: every login by registry key; Docker Hub under its v1 URL; garbage is no login', async () => {
  const { decodeRegistryConfig, authForDomain } = await import('../../../src/registry/auth.js');
  const header = Buffer.from(JSON.stringify({
    'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') },
    'localhost:5000': { username: 'jo', password: 'x' },
    'https://reg.example.com': { identitytoken: 'tok' },
  })).toString('base64url');
  const all = decodeRegistryConfig(header);
  assert.deepEqual(authForDomain(all, 'docker.io'), { auth: Buffer.from('hub:pw').toString('base64'), username: 'hub', password: 'pw' });
  assert.deepEqual(authForDomain(all, 'localhost:5000'), { username: 'jo', password: 'x' });
  assert.deepEqual(authForDomain(all, 'reg.example.com'), { identitytoken: 'tok' });
  assert.deepEqual(authForDomain(all, 'other:5000'), {});
  assert.deepEqual(decodeRegistryConfig('not base64 json'), {});
  assert.deepEqual(decodeRegistryConfig(Buffer.from('[1]').toString('base64')), {});
  assert.deepEqual(decodeRegistryConfig(undefined), {});
});
