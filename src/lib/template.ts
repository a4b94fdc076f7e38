// A small subset of Go's text/template for `--format`: field paths
// (`{{.State.Status}}`), `{{.}}`, and the functions json, upper, lower,
// join, len, index. The complete engine is issue 6's work; anything outside
// this subset is refused with a parse error rather than printed wrong.

export class TemplateError extends Error {}

type Value = unknown;

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

function field(v: Value, path: string[]): Value {
  let cur = v;
  for (const p of path) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function evalArg(tok: string, dot: Value): Value {
  if (tok === '.') return dot;
  if (tok.startsWith('.')) return field(dot, tok.slice(1).split('.'));
  if (/^"(?:[^"\\]|\\.)*"$/.test(tok)) return JSON.parse(tok) as string;
  if (/^-?\d+$/.test(tok)) return Number(tok);
  throw new TemplateError(`template: parsing error: function "${tok}" not defined`);
}

const FUNCS: Record<string, (...args: Value[]) => Value> = {
  json: (v) => JSON.stringify(v ?? null),
  upper: (v) => String(v).toUpperCase(),
  lower: (v) => String(v).toLowerCase(),
  join: (v, sep) => (Array.isArray(v) ? v.map(goPrint).join(String(sep)) : goPrint(v)),
  len: (v) => (Array.isArray(v) ? v.length : typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
  index: (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[String(k)] : undefined),
  println: (...a) => a.map(goPrint).join(' ') + '\n',
};

function tokenize(expr: string): string[] {
  return expr.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}

export function renderTemplate(tmpl: string, dot: Value): string {
  let out = '';
  let i = 0;
  while (i < tmpl.length) {
    const open = tmpl.indexOf('{{', i);
    if (open < 0) {
      out += tmpl.slice(i);
      break;
    }
    out += tmpl.slice(i, open);
    const close = tmpl.indexOf('}}', open);
    if (close < 0) throw new TemplateError(`template: parsing error: unclosed action`);
    let expr = tmpl.slice(open + 2, close).trim();
    if (expr.startsWith('-')) expr = expr.slice(1).trim();
    if (expr.endsWith('-')) expr = expr.slice(0, -1).trim();
    const toks = tokenize(expr);
    if (toks.length === 0) throw new TemplateError('template: parsing error: missing value for command');
    const [head, ...rest] = toks as [string, ...string[]];
    let v: Value;
    if (FUNCS[head]) v = FUNCS[head]!(...rest.map((t) => evalArg(t, dot)));
    else if (rest.length === 0) v = evalArg(head, dot);
    else throw new TemplateError(`template: parsing error: function "${head}" not defined`);
    out += goPrint(v);
    i = close + 2;
  }
  return out;
}
