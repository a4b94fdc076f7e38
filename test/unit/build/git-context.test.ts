import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGitUrl, parseGitUrl } from '../../../src/build/git-context.js';

test('isGitUrl: Docker\'s rule (git://, git@, github.com/, http(s) ending in .git)', () => {
  for (const u of ['git://host/repo.git', 'git@github.com:me/app.git', 'github.com/me/app', 'https://host/me/app.git', 'https://host/me/app.git#main:sub', 'http://127.0.0.1:9/r.git#v1']) {
    assert.ok(isGitUrl(u), u);
  }
  for (const u of ['https://host/context.tar.gz', 'https://host/Dockerfile', '.', './app.git.d', 'https://host/app.github']) assert.ok(!isGitUrl(u), u);
});

test('parseGitUrl: #ref:subdir, either part optional; github.com/ gets https', () => {
  assert.deepEqual(parseGitUrl('https://h/r.git'), { remote: 'https://h/r.git' });
  assert.deepEqual(parseGitUrl('https://h/r.git#main'), { remote: 'https://h/r.git', ref: 'main' });
  assert.deepEqual(parseGitUrl('https://h/r.git#:docker'), { remote: 'https://h/r.git', subdir: 'docker' });
  assert.deepEqual(parseGitUrl('git@h:r.git#v1.2:a/b:c'), { remote: 'git@h:r.git', ref: 'v1.2', subdir: 'a/b:c' });
  assert.deepEqual(parseGitUrl('github.com/me/app#dev'), { remote: 'https://github.com/me/app', ref: 'dev' });
});
