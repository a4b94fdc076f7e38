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

const c = {
  Names: ['web', 'db'], State: { Status: 'exited', ExitCode: 3, Running: false }, Labels: { b: '2', a: '1' },
  Mounts: [{ Source: '/a', Destination: '/x' }, { Source: '/b', Destination: '/y' }], Size: 1500, Empty: [], Nil: null,
};

test('Go text/template: conditions, ranges, variables, pipelines', () => {
  const cases: Array<[string, string]> = [
    ['{{if .State.Running}}up{{else}}down{{end}}', 'down'],
    ['{{if eq .State.Status "running"}}R{{else if eq .State.Status "exited"}}E{{.State.ExitCode}}{{else}}?{{end}}', 'E3'],
    ['{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}', '/a:/x /b:/y '],
    ['{{range $i, $m := .Mounts}}{{$i}}={{$m.Source}};{{end}}', '0=/a;1=/b;'],
    ['{{range $k, $v := .Labels}}{{$k}}={{$v}},{{end}}', 'a=1,b=2,'],
    ['{{range .Empty}}x{{else}}none{{end}}', 'none'],
    ['{{with .State}}{{.Status}}{{end}}', 'exited'],
    ['{{with .Nil}}x{{else}}nil{{end}}', 'nil'],
    ['{{$n := len .Names}}{{$n}} names', '2 names'],
    ['{{join .Names ", "}}', 'web, db'],
    ['{{.State.Status | upper | printf "<%s>"}}', '<EXITED>'],
    ['{{index .Names 1 | upper}}', 'DB'],
    ['{{index .Labels "a"}}', '1'],
    ['{{(index .Mounts 1).Source}}', '/b'],
    ['{{printf "%-6s|%5d|%.1f|%q" "ab" 42 3.14159 "x"}}', 'ab    |   42|3.1|"x"'],
    ['{{if and .Names (gt .Size 1000)}}big{{end}}', 'big'],
    ['{{if or .Empty .Nil}}x{{else}}neither{{end}}', 'neither'],
    ['{{if not .State.Running}}stopped{{end}}', 'stopped'],
    ['{{if lt .State.ExitCode 5}}low{{end}}{{if ne .State.ExitCode 0}} failed{{end}}', 'low failed'],
    ['{{range .Names}}{{if eq . "db"}}{{break}}{{end}}{{.}}{{end}}', 'web'],
    ['{{range .Names}}{{if eq . "web"}}{{continue}}{{end}}{{.}}{{end}}', 'db'],
    ['a {{- " b " -}} c', 'a b c'],
    ['{{/* a comment */}}x', 'x'],
    ['{{split "a:b:c" ":"}}', '[a b c]'],
    ['{{title "hello world"}} {{truncate "abcdef" 3}} [{{pad "x" 1 2}}]', 'Hello World abc [ x  ]'],
    ['{{json .Labels}}', '{"b":"2","a":"1"}'],
    ['{{print 1 2 "a" "b"}}', '1 2ab'],
    ['{{slice "abcdef" 1 3}}', 'bc'],
    ['{{$.Size}}{{range .Names}}{{$.Size}}{{end}}', '150015001500'],
    ['{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}', '2'],
    ['{{range 3}}{{.}}{{end}}', '012'],
    ['{{.Missing}}|{{.Nil}}', '<no value>|<nil>'],
  ];
  for (const [tpl, want] of cases) assert.equal(renderTemplate(tpl, c), want, tpl);
});

test('Go text/template: parse and execution errors', () => {
  const bad = ['{{if .A}}x', '{{end}}', '{{range}}{{end}}', '{{nosuch .A}}', '{{.A | }}', '{{"unterminated}}', '{{.Names.x.y 1}}', '{{$undefined}}', '{{len 3}}', '{{index .Names 9}}', '{{lt "a" 1}}'];
  for (const b of bad) assert.throws(() => renderTemplate(b, c), TemplateError, b);
});
