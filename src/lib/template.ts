// Go's text/template, as `--format` uses it: fields and map keys, variables
// ($, $x := …), pipelines, parentheses, if/else if/else, range (with index
// and value variables, else), with/else, comments, {{- -}} trimming, Go's
// built-ins (and, or, not, eq, ne, lt, le, gt, ge, len, index, slice, print,
// printf, println) and Docker's (json, join, split, lower, upper, title,
// truncate, pad). No npm package implements this whole language, hence our
// own; it is compiled once per --format and run per row.

export class TemplateError extends Error {}

export type Value = unknown;

/** How Go's fmt prints a value with %v. */
export function goPrint(v: Value): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(goPrint).join(' ')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v as object).sort();
    return `map[${keys.map((k) => `${k}:${goPrint((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  return String(v);
}

// ---- lexing -------------------------------------------------------------------

type Tok =
  | { k: 'field'; path: string[] } // .A.B ("." alone: path [])
  | { k: 'var'; name: string; path: string[] } // $x.A
  | { k: 'ident'; name: string }
  | { k: 'str'; v: string }
  | { k: 'num'; v: number }
  | { k: 'bool'; v: boolean }
  | { k: 'nil' }
  | { k: '|' } | { k: '(' } | { k: ')' } | { k: ':=' } | { k: '=' } | { k: ',' }
  | { k: 'chain'; path: string[] }; // .A after a ")"

function lexAction(src: string, line: number): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const err = (m: string): never => { throw new TemplateError(`template: :${line}: ${m}`); };
  const ident = /[A-Za-z0-9_]/;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '|') { toks.push({ k: '|' }); i++; continue; }
    if (c === '(') { toks.push({ k: '(' }); i++; continue; }
    if (c === ')') { toks.push({ k: ')' }); i++; continue; }
    if (c === ',') { toks.push({ k: ',' }); i++; continue; }
    if (c === ':' && src[i + 1] === '=') { toks.push({ k: ':=' }); i += 2; continue; }
    if (c === '=') { toks.push({ k: '=' }); i++; continue; }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) err('unterminated quoted string');
      toks.push({ k: 'str', v: JSON.parse(src.slice(i, j + 1)) as string });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) err('unterminated raw quoted string');
      toks.push({ k: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === '.' || c === '$') {
      let j = i;
      let name = '';
      if (c === '$') {
        j++;
        while (j < src.length && ident.test(src[j]!)) name += src[j++];
      }
      const path: string[] = [];
      while (src[j] === '.') {
        j++;
        let p = '';
        while (j < src.length && ident.test(src[j]!)) p += src[j++];
        if (p === '') {
          if (c === '.' && path.length === 0 && j === i + 1) break; // lone "."
          err(`bad character ${JSON.stringify(src[j] ?? '')}`);
        }
        path.push(p);
      }
      const prev = toks[toks.length - 1];
      if (c === '.' && prev?.k === ')' && src[i - 1] === ')') toks.push({ k: 'chain', path });
      else toks.push(c === '$' ? { k: 'var', name: '$' + name, path } : { k: 'field', path });
      i = j;
      continue;
    }
    if (/[-+0-9]/.test(c)) {
      const m = /^[-+]?(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][-+]?\d+)?)/.exec(src.slice(i));
      if (!m) err(`bad number syntax: ${src.slice(i, i + 5)}`);
      toks.push({ k: 'num', v: Number(m![0]) });
      i += m![0].length;
      continue;
    }
    if (ident.test(c)) {
      let name = '';
      while (i < src.length && ident.test(src[i]!)) name += src[i++];
      if (name === 'true' || name === 'false') toks.push({ k: 'bool', v: name === 'true' });
      else if (name === 'nil') toks.push({ k: 'nil' });
      else toks.push({ k: 'ident', name });
      continue;
    }
    err(`unexpected ${JSON.stringify(c)} in command`);
  }
  return toks;
}

// ---- parsing ------------------------------------------------------------------

type Operand =
  | { t: 'field'; path: string[] }
  | { t: 'var'; name: string; path: string[] }
  | { t: 'lit'; v: Value }
  | { t: 'ident'; name: string }
  | { t: 'sub'; pipe: Pipeline; path: string[] };
interface Command { args: Operand[] }
interface Pipeline { decl: string[]; assign: boolean; cmds: Command[] }

type Node =
  | { n: 'text'; s: string }
  | { n: 'action'; pipe: Pipeline; line: number }
  | { n: 'if' | 'with'; pipe: Pipeline; body: Node[]; alt: Node[] }
  | { n: 'range'; pipe: Pipeline; body: Node[]; alt: Node[] }
  | { n: 'break' } | { n: 'continue' }
  /** {{template "name" pipeline}} (and the call half of {{block}}) */
  | { n: 'template'; name: string; pipe?: Pipeline };

interface RawAction { src: string; line: number }

function parsePipeline(toks: Tok[], line: number, allowDecl: boolean): Pipeline {
  const err = (m: string): never => { throw new TemplateError(`template: :${line}: ${m}`); };
  let pos = 0;
  const decl: string[] = [];
  let assign = false;
  // $x := … / $i, $v := … / $x = …
  if (allowDecl && toks[0]?.k === 'var' && (toks[0] as { path: string[] }).path.length === 0) {
    let j = 0;
    const names: string[] = [];
    while (toks[j]?.k === 'var') {
      names.push((toks[j] as { name: string }).name);
      if (toks[j + 1]?.k === ',') j += 2;
      else { j++; break; }
    }
    if (toks[j]?.k === ':=' || toks[j]?.k === '=') {
      assign = toks[j]!.k === '=';
      decl.push(...names);
      pos = j + 1;
    }
  }
  const parseOperand = (): Operand => {
    const t = toks[pos++];
    if (!t) return err('missing value for command');
    switch (t.k) {
      case 'field': return { t: 'field', path: t.path };
      case 'var': return { t: 'var', name: t.name, path: t.path };
      case 'str': return { t: 'lit', v: t.v };
      case 'num': return { t: 'lit', v: t.v };
      case 'bool': return { t: 'lit', v: t.v };
      case 'nil': return { t: 'lit', v: null };
      case 'ident': return { t: 'ident', name: t.name };
      case '(': {
        let depth = 1;
        const start = pos;
        while (pos < toks.length && depth > 0) {
          if (toks[pos]!.k === '(') depth++;
          else if (toks[pos]!.k === ')') depth--;
          pos++;
        }
        if (depth > 0) err('unclosed left paren');
        const pipe = parsePipeline(toks.slice(start, pos - 1), line, false);
        let path: string[] = [];
        if (toks[pos]?.k === 'chain') path = (toks[pos++] as { path: string[] }).path;
        return { t: 'sub', pipe, path };
      }
      default: return err(`unexpected ${t.k} in operand`);
    }
  };
  const cmds: Command[] = [];
  let cur: Operand[] = [];
  while (pos < toks.length) {
    if (toks[pos]!.k === '|') {
      if (cur.length === 0) err('missing command');
      cmds.push({ args: cur });
      cur = [];
      pos++;
      continue;
    }
    cur.push(parseOperand());
  }
  if (cur.length === 0) err(cmds.length ? 'missing command' : 'missing value for command');
  cmds.push({ args: cur });
  return { decl, assign, cmds };
}

function split(tmpl: string): Array<string | RawAction> {
  const out: Array<string | RawAction> = [];
  let i = 0;
  let line = 1;
  while (i < tmpl.length) {
    const open = tmpl.indexOf('{{', i);
    if (open < 0) {
      out.push(tmpl.slice(i));
      break;
    }
    let text = tmpl.slice(i, open);
    let start = open + 2;
    if (tmpl[start] === '-' && /\s/.test(tmpl[start + 1] ?? '')) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    out.push(text);
    line += (tmpl.slice(i, open).match(/\n/g) ?? []).length;
    let close = -1;
    // Find "}}" outside quoted strings.
    let q: string | undefined;
    for (let j = start; j < tmpl.length - 1; j++) {
      const c = tmpl[j]!;
      if (q) {
        if (c === '\\' && q === '"') j++;
        else if (c === q) q = undefined;
      } else if (c === '"' || c === '`') q = c;
      else if (c === '}' && tmpl[j + 1] === '}') { close = j; break; }
    }
    if (close < 0) throw new TemplateError(`template: :${line}: unclosed action`);
    let src = tmpl.slice(start, close);
    let next = close + 2;
    if (/\s-$/.test(src)) {
      src = src.slice(0, -1);
      while (next < tmpl.length && /\s/.test(tmpl[next]!)) next++;
    }
    out.push({ src, line });
    line += (src.match(/\n/g) ?? []).length;
    i = next;
  }
  return out;
}

export interface CompiledTemplate { render(dot: Value): string }

/** Parse once; `render` runs it against each value. */
export function compileTemplate(tmpl: string): CompiledTemplate {
  const parts = split(tmpl);
  /** {{define}}d (and {{block}}) templates by name */
  const defined = new Map<string, Node[]>();
  let idx = 0;
  const parseList = (terminators: string[]): { nodes: Node[]; end: string; rest?: RawAction } => {
    const nodes: Node[] = [];
    while (idx < parts.length) {
      const p = parts[idx++]!;
      if (typeof p === 'string') {
        if (p) nodes.push({ n: 'text', s: p });
        continue;
      }
      const src = p.src.trim();
      if (src.startsWith('/*')) {
        if (!src.endsWith('*/')) throw new TemplateError(`template: :${p.line}: unclosed comment`);
        continue;
      }
      const word = /^([a-z]+)\b/.exec(src)?.[1];
      if (word === 'end' || word === 'else') {
        if (!terminators.includes(word)) throw new TemplateError(`template: :${p.line}: unexpected {{${word}}}`);
        return { nodes, end: word, rest: p };
      }
      if (word === 'break' || word === 'continue') {
        nodes.push({ n: word });
        continue;
      }
      if (word === 'if' || word === 'with' || word === 'range') {
        nodes.push(parseBlock(word, src.slice(word.length), p.line));
        continue;
      }
      if (word === 'define' || word === 'template' || word === 'block') {
        const m = /^(?:define|template|block)\s+("(?:[^"\\]|\\.)*"|`[^`]*`)\s*(.*)$/s.exec(src);
        if (!m) throw new TemplateError(`template: :${p.line}: unexpected ${JSON.stringify(src)} in ${word} clause`);
        const name = m[1]!.startsWith('`') ? m[1]!.slice(1, -1) : JSON.parse(m[1]!) as string;
        const rest = m[2]!.trim();
        const pipe = rest ? parsePipeline(lexAction(rest, p.line), p.line, false) : undefined;
        if (word === 'define') {
          // Go allows definitions at the top level only.
          if (terminators.length) throw new TemplateError(`template: :${p.line}: unexpected <define> in command`);
          if (rest) throw new TemplateError(`template: :${p.line}: unexpected ${JSON.stringify(rest)} in define clause`);
          defined.set(name, parseList(['end']).nodes);
          continue;
        }
        if (word === 'block') {
          if (!pipe) throw new TemplateError(`template: :${p.line}: missing pipeline in block clause`);
          const body = parseList(['end']).nodes;
          // A {{define}} elsewhere wins over the block's own body, as in Go.
          if (!defined.has(name)) defined.set(name, body);
        }
        nodes.push({ n: 'template', name, ...(pipe ? { pipe } : {}) });
        continue;
      }
      const toks = lexAction(src, p.line);
      if (toks.length === 0) throw new TemplateError(`template: :${p.line}: missing value for command`);
      nodes.push({ n: 'action', pipe: parsePipeline(toks, p.line, true), line: p.line });
    }
    if (terminators.length) throw new TemplateError('template: :1: unexpected EOF');
    return { nodes, end: '' };
  };
  const parseBlock = (kind: 'if' | 'with' | 'range', rest: string, line: number): Node => {
    const toks = lexAction(rest, line);
    if (toks.length === 0) throw new TemplateError(`template: :${line}: missing value for ${kind}`);
    const pipe = parsePipeline(toks, line, kind !== 'if');
    const body = parseList(['end', 'else']);
    let alt: Node[] = [];
    if (body.end === 'else') {
      const after = body.rest!.src.trim().slice(4).trim();
      if (after.startsWith('if ') && kind === 'if') alt = [parseBlock('if', after.slice(2), line)];
      else if (after.startsWith('with ') && kind === 'with') alt = [parseBlock('with', after.slice(4), line)];
      else {
        if (after) throw new TemplateError(`template: :${line}: unexpected ${JSON.stringify(after)} in else`);
        alt = parseList(['end']).nodes;
      }
    }
    return { n: kind, pipe, body: body.nodes, alt };
  };
  const tree = parseList([]).nodes;
  return { render: (dot) => execute(tree, dot, defined) };
}

export function renderTemplate(tmpl: string, dot: Value): string {
  return compileTemplate(tmpl).render(dot);
}

// ---- execution ----------------------------------------------------------------

class Break { }
class Continue { }

function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function fieldOf(v: Value, path: string[]): Value {
  let cur = v;
  for (const p of path) {
    if (cur === null || cur === undefined) return undefined;
    if (typeof cur !== 'object') throw new TemplateError(`template: :1: can't evaluate field ${p} in type ${typeof cur}`);
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function cmp(a: Value, b: Value, name: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new TemplateError(`template: :1: error calling ${name}: incompatible types for comparison`);
}

function eq(a: Value, b: Value): boolean {
  if (a === b) return true;
  if ((a === undefined || a === null) && (b === undefined || b === null)) return true;
  return false;
}

/** Go's %v-family formatting for printf. */
function sprintf(format: string, args: Value[]): string {
  let ai = 0;
  return format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g, (_m, flags: string, width: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (ai >= args.length) return `%!${verb}(MISSING)`;
    const a = args[ai++];
    let s: string;
    switch (verb) {
      case 'd': s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${typeof a}=${goPrint(a)})`; break;
      case 'f': s = typeof a === 'number' ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${typeof a}=${goPrint(a)})`; break;
      case 'q': s = JSON.stringify(goPrint(a)); break;
      case 'x': s = typeof a === 'number' ? Math.trunc(a).toString(16) : Buffer.from(goPrint(a)).toString('hex'); break;
      case 't': s = String(Boolean(a)); break;
      default: s = goPrint(a); if (prec !== undefined && (verb === 's' || verb === 'v')) s = s.slice(0, Number(prec));
    }
    const w = width ? Number(width) : 0;
    if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : s.padStart(w, flags.includes('0') && verb !== 's' ? '0' : ' ');
    return s;
  });
}

/** fmt.Sprint: a space between operands when neither side is a string. */
function sprint(args: Value[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += goPrint(a);
  });
  return out;
}

const FUNCS: Record<string, (...args: Value[]) => Value> = {
  // Go's built-ins
  not: (v) => !truthy(v),
  eq: (a, ...bs) => bs.some((b) => eq(a, b)),
  ne: (a, b) => !eq(a, b),
  lt: (a, b) => cmp(a, b, 'lt') < 0,
  le: (a, b) => cmp(a, b, 'le') <= 0,
  gt: (a, b) => cmp(a, b, 'gt') > 0,
  ge: (a, b) => cmp(a, b, 'ge') >= 0,
  len: (v) => {
    if (Array.isArray(v) || typeof v === 'string') return v.length;
    if (v && typeof v === 'object') return Object.keys(v).length;
    throw new TemplateError(`template: :1: error calling len: len of ${goPrint(v)}`);
  },
  index: (v, ...keys) => keys.reduce((cur: Value, k) => {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur)) {
      if (typeof k !== 'number' || k < 0 || k >= cur.length) throw new TemplateError(`template: :1: error calling index: index out of range: ${goPrint(k)}`);
      return cur[k];
    }
    if (typeof cur === 'object') return (cur as Record<string, unknown>)[String(k)];
    throw new TemplateError(`template: :1: error calling index: can't index item of type ${typeof cur}`);
  }, v),
  slice: (v, i, j) => {
    if (typeof v !== 'string' && !Array.isArray(v)) throw new TemplateError('template: :1: error calling slice: can\'t slice item');
    return v.slice(Number(i ?? 0), j === undefined ? undefined : Number(j));
  },
  print: (...a) => sprint(a),
  printf: (f, ...a) => sprintf(String(f), a),
  println: (...a) => a.map(goPrint).join(' ') + '\n',
  html: (...a) => sprint(a).replace(/[&'<>"\0]/g, (c) => ({ '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;', '\0': '\uFFFD' })[c]!),
  js: (...a) => [...sprint(a)].map((c) => {
    if (c === '\\' || c === "'" || c === '"') return `\\${c}`;
    // <, >, &, = and control characters as \uXXXX, as Go's JSEscapeString.
    return '<>&='.includes(c) || c.charCodeAt(0) < 0x20 ? `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : c;
  }).join(''),
  // Go's url.QueryEscape: unreserved characters as they are, space as +.
  urlquery: (...a) => encodeURIComponent(sprint(a)).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+'),
  // Docker's
  json: (v) => JSON.stringify(v ?? null),
  join: (v, sep) => (Array.isArray(v) ? v.map(goPrint).join(String(sep)) : goPrint(v)),
  split: (s, sep) => String(s).split(String(sep)),
  lower: (v) => String(v).toLowerCase(),
  upper: (v) => String(v).toUpperCase(),
  title: (v) => String(v).replace(/\b\w/g, (c) => c.toUpperCase()),
  truncate: (v, n) => [...String(v)].slice(0, Number(n)).join(''),
  pad: (v, l, r) => ' '.repeat(Number(l)) + String(v) + ' '.repeat(Number(r)),
};

interface Scope { vars: Map<string, Value>[] }

function lookupVar(scope: Scope, name: string): Value {
  for (let i = scope.vars.length - 1; i >= 0; i--) if (scope.vars[i]!.has(name)) return scope.vars[i]!.get(name);
  throw new TemplateError(`template: :1: undefined variable: ${name}`);
}

function evalOperand(o: Operand, dot: Value, scope: Scope): Value {
  switch (o.t) {
    case 'field': return fieldOf(dot, o.path);
    case 'var': return fieldOf(lookupVar(scope, o.name), o.path);
    case 'lit': return o.v;
    case 'sub': return fieldOf(evalPipeline(o.pipe, dot, scope), o.path);
    case 'ident':
      if (!FUNCS[o.name] && o.name !== 'and' && o.name !== 'or') throw new TemplateError(`template: :1: function "${o.name}" not defined`);
      return callFunc(o.name, [], dot, scope);
  }
}

function callFunc(name: string, args: Operand[], dot: Value, scope: Scope, piped?: { v: Value }): Value {
  // and/or evaluate lazily and return the deciding operand, as Go's do.
  if (name === 'and' || name === 'or') {
    const values = args.map((a) => () => evalOperand(a, dot, scope));
    if (piped) values.push(() => piped.v);
    if (values.length === 0) throw new TemplateError(`template: :1: wrong number of args for ${name}: want at least 1 got 0`);
    let last: Value;
    for (const f of values) {
      last = f();
      if (name === 'and' ? !truthy(last) : truthy(last)) return last;
    }
    return last;
  }
  const fn = FUNCS[name];
  if (!fn) throw new TemplateError(`template: :1: function "${name}" not defined`);
  const vals = args.map((a) => evalOperand(a, dot, scope));
  if (piped) vals.push(piped.v);
  return fn(...vals);
}

function evalPipeline(p: Pipeline, dot: Value, scope: Scope): Value {
  let piped: { v: Value } | undefined;
  for (const cmd of p.cmds) {
    const [head, ...rest] = cmd.args as [Operand, ...Operand[]];
    if (head.t === 'ident') {
      piped = { v: callFunc(head.name, rest, dot, scope, piped) };
    } else {
      if (rest.length || piped) throw new TemplateError(`template: :1: can't give argument to non-function ${head.t === 'field' ? '.' + head.path.join('.') : 'value'}`);
      piped = { v: evalOperand(head, dot, scope) };
    }
  }
  const v = piped!.v;
  if (p.decl.length === 1) {
    if (p.assign) {
      for (let i = scope.vars.length - 1; i >= 0; i--) {
        if (scope.vars[i]!.has(p.decl[0]!)) { scope.vars[i]!.set(p.decl[0]!, v); return v; }
      }
      throw new TemplateError(`template: :1: undefined variable: ${p.decl[0]}`);
    }
    scope.vars[scope.vars.length - 1]!.set(p.decl[0]!, v);
  }
  return v;
}

/** Go's limit on nested {{template}} calls (its own is 100,000). */
const MAX_TEMPLATE_DEPTH = 1000;

function execute(nodes: Node[], root: Value, defined: Map<string, Node[]>): string {
  let scope: Scope = { vars: [new Map([['$', root]])] };
  let out = '';
  let depth = 0;
  const run = (list: Node[], dot: Value): void => {
    for (const node of list) {
      switch (node.n) {
        case 'text': out += node.s; break;
        case 'action': {
          const v = evalPipeline(node.pipe, dot, scope);
          if (node.pipe.decl.length === 0) out += goPrint(v);
          break;
        }
        case 'if': {
          const v = evalPipeline(node.pipe, dot, scope);
          scope.vars.push(new Map());
          try { run(truthy(v) ? node.body : node.alt, dot); } finally { scope.vars.pop(); }
          break;
        }
        case 'with': {
          scope.vars.push(new Map());
          try {
            const v = evalPipeline({ ...node.pipe, decl: [] }, dot, scope);
            if (node.pipe.decl.length) scope.vars[scope.vars.length - 1]!.set(node.pipe.decl[0]!, v);
            if (truthy(v)) run(node.body, v);
            else run(node.alt, dot);
          } finally { scope.vars.pop(); }
          break;
        }
        case 'range': {
          const v = evalPipeline({ ...node.pipe, decl: [] }, dot, scope);
          let entries: Array<[Value, Value]>;
          if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
          else if (v && typeof v === 'object') entries = Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]);
          else if (typeof v === 'number') entries = Array.from({ length: Math.max(0, v) }, (_, i) => [i, i]);
          else if (v === undefined || v === null) entries = [];
          else throw new TemplateError(`template: :1: range can't iterate over ${goPrint(v)}`);
          if (entries.length === 0) {
            run(node.alt, dot);
            break;
          }
          for (const [k, x] of entries) {
            const frame = new Map<string, Value>();
            if (node.pipe.decl.length === 1) frame.set(node.pipe.decl[0]!, x);
            if (node.pipe.decl.length === 2) { frame.set(node.pipe.decl[0]!, k); frame.set(node.pipe.decl[1]!, x); }
            scope.vars.push(frame);
            try {
              run(node.body, x);
            } catch (e) {
              if (e instanceof Break) break;
              if (!(e instanceof Continue)) throw e;
            } finally { scope.vars.pop(); }
          }
          break;
        }
        case 'break': throw new Break();
        case 'continue': throw new Continue();
        case 'template': {
          const body = defined.get(node.name);
          if (!body) throw new TemplateError(`template: no template ${JSON.stringify(node.name)} associated with template ""`);
          if (++depth > MAX_TEMPLATE_DEPTH) throw new TemplateError(`template: exceeded maximum template depth (${MAX_TEMPLATE_DEPTH})`);
          // A template sees its argument as both . and $, and none of the caller's variables.
          const arg = node.pipe ? evalPipeline(node.pipe, dot, scope) : undefined;
          const saved = scope;
          scope = { vars: [new Map([['$', arg]])] };
          try { run(body, arg); } finally { scope = saved; depth--; }
          break;
        }
      }
    }
  };
  run(nodes, root);
  return out;
}
