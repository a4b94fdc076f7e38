import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReference, familiarString, fullString, normalizedTag } from '../../../src/image/reference.js';

const DIGEST = 'sha256:' + 'a'.repeat(64);

test('normalises references as Docker does', () => {
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/team/app', 'docker.io/team/app:latest', 'team/app:latest'],
    ['localhost:5000/team/app:1.2', 'localhost:5000/team/app:1.2', 'localhost:5000/team/app:1.2'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['registry.example.com/a/b/c:tag', 'registry.example.com/a/b/c:tag', 'registry.example.com/a/b/c:tag'],
  ];
  for (const [input, full, familiar] of cases) {
    assert.equal(normalizedTag(input), full, input);
    const ref = parseReference(full);
    assert.equal(familiarString(ref), familiar, input);
  }
});

test('digests are kept and never get a default tag', () => {
  const r = parseReference(`busybox@${DIGEST}`);
  assert.equal(r.digest, DIGEST);
  assert.equal(r.tag, undefined);
  assert.equal(normalizedTag(`busybox@${DIGEST}`), `docker.io/library/busybox@${DIGEST}`);
  const both = parseReference(`busybox:1@${DIGEST}`);
  assert.equal(fullString(both), `docker.io/library/busybox:1@${DIGEST}`);
});

test('invalid references are refused with Docker messages', () => {
  assert.throws(() => parseReference(''), /^InvalidParameterError: invalid reference format$/);
  assert.throws(() => parseReference('Foo'), /repository name \(library\/Foo\) must be lowercase/);
  for (const bad of ['a:b:c', '-x', 'a//b', 'x:' + 't'.repeat(129), 'busybox@sha256:short']) {
    assert.throws(() => parseReference(bad), /invalid reference format/, bad);
  }
  assert.throws(() => parseReference('a'.repeat(64)), /cannot specify 64-byte hexadecimal strings/);
});
