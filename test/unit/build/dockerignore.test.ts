import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerIgnore } from '../../../src/build/dockerignore.js';

test('plain names, directories and everything under them', () => {
  const ig = new DockerIgnore('node_modules\n.env\n/build/\n');
  assert.ok(ig.excludes('node_modules'));
  assert.ok(ig.excludes('node_modules/pkg/index.js'));
  assert.ok(ig.excludes('.env'));
  assert.ok(ig.excludes('build/out.o'));
  assert.ok(!ig.excludes('src/node_modules'), 'a pattern without ** matches at the root only');
  assert.ok(!ig.excludes('.envrc'));
  assert.ok(!ig.excludes('src/index.js'));
});

test('* ? [] within a segment, ** across segments', () => {
  const ig = new DockerIgnore('*.log\n**/*.pyc\ndocs/**/draft-?.md\ntmp[0-9]\n');
  assert.ok(ig.excludes('debug.log'));
  assert.ok(!ig.excludes('logs/debug.log'), '* does not cross /');
  assert.ok(ig.excludes('a/b/c/x.pyc'));
  assert.ok(ig.excludes('x.pyc'), '**/ matches zero directories too');
  assert.ok(ig.excludes('docs/draft-1.md'));
  assert.ok(ig.excludes('docs/a/b/draft-2.md'));
  assert.ok(!ig.excludes('docs/draft-10.md'));
  assert.ok(ig.excludes('tmp7'));
  assert.ok(!ig.excludes('tmpx'));
});

test('! exceptions: the last matching pattern decides; comments and blank lines ignored', () => {
  const ig = new DockerIgnore('# comment\n\n*.md\n!README.md\nREADME-secret.md\n  \n');
  assert.ok(ig.excludes('CHANGES.md'));
  assert.ok(!ig.excludes('README.md'));
  assert.ok(ig.excludes('README-secret.md'));
  assert.ok(ig.hasExceptions);
  const dir = new DockerIgnore('secrets\n!secrets/public.pem\n');
  assert.ok(dir.excludes('secrets/private.key'));
  assert.ok(!dir.excludes('secrets/public.pem'));
});

test('paths are cleaned: ./, leading /, .., trailing /', () => {
  const ig = new DockerIgnore('./a/../b\n/c/\n');
  assert.ok(ig.excludes('b'));
  assert.ok(ig.excludes('c/d'));
  assert.ok(ig.excludes('./b/x'));
  assert.ok(new DockerIgnore('').empty);
  assert.ok(!new DockerIgnore('').excludes('anything'));
  assert.ok(new DockerIgnore('\\*literal').excludes('*literal'));
  assert.ok(!new DockerIgnore('\\*literal').excludes('xliteral'));
});
