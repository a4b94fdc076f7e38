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

test('Go text/template: define, template and block', () => {
  const t = '{{define "row"}}{{.Source}}->{{.Destination}}{{end}}{{range .Mounts}}[{{template "row" .}}]{{end}}';
  assert.equal(renderTemplate(t, c), '[/a->/x][/b->/y]');
  // A template sees its argument as . and $, none of the caller's variables; no argument is nil.
  assert.equal(renderTemplate('{{define "t"}}{{$.Status}}/{{.ExitCode}}{{end}}{{$x := 1}}{{template "t" .State}}', c), 'exited/3');
  assert.equal(renderTemplate('{{define "n"}}{{.}}{{end}}{{template "n"}}', c), '<no value>');
  assert.throws(() => renderTemplate('{{define "v"}}{{$x}}{{end}}{{$x := 1}}{{template "v" .}}', c), /undefined variable/);
  // Defined after use, nested calls, recursion with a stop.
  assert.equal(renderTemplate('{{template "b" .State}}{{define "a"}}<{{.}}>{{end}}{{define "b"}}{{template "a" .Status}}{{end}}', c), '<exited>');
  assert.equal(renderTemplate('{{define "r"}}{{if .}}{{len .}}{{template "r" (slice . 1)}}{{end}}{{end}}{{template "r" "abc"}}', c), '321');
  // block: a define and a call at once; a define elsewhere replaces its body.
  assert.equal(renderTemplate('{{block "b" .Names}}{{join . ","}}{{end}}!', c), 'web,db!');
  assert.equal(renderTemplate('{{block "b" .Names}}{{join . ","}}{{end}}{{define "b"}}{{len .}}{{end}}', c), '2');
  assert.throws(() => renderTemplate('{{template "missing"}}', c), /no template "missing"/);
  assert.throws(() => renderTemplate('{{if true}}{{define "x"}}{{end}}{{end}}', c), /unexpected <define>/);
  assert.throws(() => renderTemplate('{{define "x"}}', c), /unexpected EOF/);
  assert.throws(() => renderTemplate('{{define x}}{{end}}', c), TemplateError);
  assert.throws(() => renderTemplate('{{define "loop"}}{{template "loop"}}{{end}}{{template "loop"}}', c), /maximum template depth/);
});

test("Go text/template: html, js and urlquery escape as Go's do", () => {
  assert.equal(renderTemplate('{{html "<a href=\'x\'>&\\"</a>"}}', c), '&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;');
  assert.equal(renderTemplate('{{js "it\'s <b>\\"x\\" = y\\\\"}}', c), 'it\\\'s \\u003Cb\\u003E\\"x\\" \\u003D y\\\\');
  assert.equal(renderTemplate('{{urlquery "a b&c=d/é*"}}', c), 'a+b%26c%3Dd%2F%C3%A9%2A');
  assert.equal(renderTemplate('{{.State.Status | html}}', c), 'exited');
});
