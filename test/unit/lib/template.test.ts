import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderTemplate, TemplateError } from '../../../src/lib/template.js';

const obj = { Name: 'web', State: { Status: 'running', ExitCode: 0 }, List: ['a', 'b'], Labels: { a: '1' }, Config: { Env: ['X=1'] } };

test('field paths, json and functions', () => {
  assert.equal(renderTemplate('{{.State.Status}}', obj), 'running');
  assert.equal(renderTemplate('{{ .State.ExitCode }} {{.Name}}', obj), '0 web');
  assert.equal(renderTemplate('{{json .Config}}', obj), '{"Env":["X=1"]}');
  assert.equal(renderTemplate('{{.Missing}}', obj), '<no value>');
  assert.equal(renderTemplate('{{.List}}', obj), '[a b]');
  assert.equal(renderTemplate('{{.Labels}}', obj), 'map[a:1]');
  assert.equal(renderTemplate('{{upper .Name}}', obj), 'WEB');
  assert.equal(renderTemplate('{{join .List ","}}', obj), 'a,b');
  assert.equal(renderTemplate('{{len .List}}', obj), '2');
  assert.equal(renderTemplate('{{index .Labels "a"}}', obj), '1');
  assert.equal(renderTemplate('plain', obj), 'plain');
});

test('unsupported templates are refused, not printed wrong', () => {
  assert.throws(() => renderTemplate('{{nosuch .Name}}', obj), TemplateError);
  assert.throws(() => renderTemplate('{{.Name', obj), TemplateError);
  assert.throws(() => renderTemplate('{{}}', obj), TemplateError);
});
