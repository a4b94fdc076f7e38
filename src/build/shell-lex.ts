// Variable substitution and word splitting as the Dockerfile frontend does
// them (BuildKit's shell lexer): `$VAR`, `${VAR}`, `${VAR:-word}`,
// `${VAR:+word}`, `${VAR-word}`, `${VAR+word}`, `${VAR:?msg}`, the escape
// character, and quotes (single quotes keep everything literal, double quotes
// allow substitution). Used for ENV, ARG, LABEL, COPY, ADD, WORKDIR, USER,
// EXPOSE, VOLUME, STOPSIGNAL and FROM; RUN, CMD and ENTRYPOINT are left to the
// container's shell.

export class SubstitutionError extends Error {}

export type Lookup = (name: string) => string | undefined;

interface LexState { text: string; pos: number; escape: string; lookup: Lookup }

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

function readName(s: LexState): string {
  let name = '';
  while (s.pos < s.text.length && NAME_CHAR.test(s.text[s.pos]!)) name += s.text[s.pos++];
  return name;
}

/** After a `$`: the value it stands for (or the literal text when it starts nothing). */
function readVariable(s: LexState): string {
  const c = s.text[s.pos];
  if (c === '{') {
    s.pos++;
    const name = readName(s);
    if (!name) throw new SubstitutionError(`failed to process "${s.text}": missing ':' in substitution`);
    const next = s.text[s.pos];
    if (next === '}') {
      s.pos++;
      return s.lookup(name) ?? '';
    }
    let op = '';
    if (next === ':') {
      op = ':';
      s.pos++;
    }
    const kind = s.text[s.pos];
    if (kind !== '-' && kind !== '+' && kind !== '?') {
      throw new SubstitutionError(`failed to process "${s.text}": unsupported modifier (${op}${kind ?? ''}) in substitution`);
    }
    s.pos++;
    op += kind;
    // The word inside may itself hold substitutions and quotes; it ends at the matching brace.
    const word = processUntil(s, '}');
    if (s.text[s.pos] !== '}') throw new SubstitutionError(`failed to process "${s.text}": missing '}'`);
    s.pos++;
    const value = s.lookup(name);
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    switch (op) {
      case ':-': return nonEmpty ? value! : word;
      case '-': return set ? value! : word;
      case ':+': return nonEmpty ? word : '';
      case '+': return set ? word : '';
      case ':?':
      case '?':
        if (op === ':?' ? nonEmpty : set) return value!;
        throw new SubstitutionError(`failed to process "${s.text}": ${name}: ${word || 'is not allowed to be unset'}`);
      default: return '';
    }
  }
  if (c !== undefined && NAME_START.test(c)) return s.lookup(readName(s)) ?? '';
  // A lone `$` (or `$` before something that is not a name) stays as it is.
  return '$';
}

/** Process text (quotes, escapes, substitutions) until `stop` at nesting level 0 or the end. */
function processUntil(s: LexState, stop?: string): string {
  let out = '';
  while (s.pos < s.text.length) {
    const c = s.text[s.pos]!;
    if (stop && c === stop) break;
    if (c === s.escape) {
      s.pos++;
      if (s.pos < s.text.length) out += s.text[s.pos++];
      continue;
    }
    if (c === "'") {
      s.pos++;
      const end = s.text.indexOf("'", s.pos);
      if (end < 0) throw new SubstitutionError(`failed to process "${s.text}": unexpected end of statement while looking for matching single-quote`);
      out += s.text.slice(s.pos, end);
      s.pos = end + 1;
      continue;
    }
    if (c === '"') {
      s.pos++;
      out += processDoubleQuoted(s);
      continue;
    }
    if (c === '$') {
      s.pos++;
      out += readVariable(s);
      continue;
    }
    out += c;
    s.pos++;
  }
  return out;
}

function processDoubleQuoted(s: LexState): string {
  let out = '';
  while (s.pos < s.text.length) {
    const c = s.text[s.pos]!;
    if (c === '"') {
      s.pos++;
      return out;
    }
    if (c === s.escape) {
      const n = s.text[s.pos + 1];
      // Inside double quotes the escape only escapes what the shell would: " $ and the escape itself.
      if (n === '"' || n === '$' || n === s.escape) {
        out += n;
        s.pos += 2;
        continue;
      }
      out += c;
      s.pos++;
      continue;
    }
    if (c === '$') {
      s.pos++;
      out += readVariable(s);
      continue;
    }
    out += c;
    s.pos++;
  }
  throw new SubstitutionError(`failed to process "${s.text}": unexpected end of statement while looking for matching double-quote`);
}

/** One word: substitutions done, quotes and escapes removed. */
export function processWord(text: string, lookup: Lookup, escape = '\\'): string {
  return processUntil({ text, pos: 0, escape, lookup });
}

/**
 * Several words (COPY sources, EXPOSE ports, VOLUME paths…): split on
 * unquoted whitespace, then each processed. A substitution never splits a word.
 */
export function processWords(text: string, lookup: Lookup, escape = '\\'): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (!quote && /\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === escape && quote !== "'" && i + 1 < text.length) {
      cur += c + text[++i];
      continue;
    }
    if (quote && c === quote) quote = undefined;
    else if (!quote && (c === '"' || c === "'")) quote = c;
    cur += c;
  }
  if (inWord) words.push(cur);
  return words.map((w) => processWord(w, lookup, escape));
}

/** `A=b C="d e"` (ENV, LABEL, ARG): pairs with their values processed; the legacy `ENV A b c` form too. */
export function processKeyValues(text: string, lookup: Lookup, escape = '\\', legacyAllowed = true): [string, string][] {
  const trimmed = text.trim();
  const firstWord = /^\S+/.exec(trimmed)?.[0] ?? '';
  if (legacyAllowed && !firstWord.includes('=')) {
    const rest = trimmed.slice(firstWord.length).trim();
    return [[firstWord, processWord(rest, lookup, escape)]];
  }
  const pairs: [string, string][] = [];
  for (const raw of splitRaw(trimmed, escape)) {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new SubstitutionError(`failed to process "${text}": ${raw} must be of the form: name=value`);
    pairs.push([processWord(raw.slice(0, eq), lookup, escape), processWord(raw.slice(eq + 1), lookup, escape)]);
  }
  return pairs;
}

/** Split on unquoted whitespace without processing (quotes and escapes kept). */
function splitRaw(text: string, escape: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (!quote && /\s/.test(c)) {
      if (cur) out.push(cur);
      cur = '';
      continue;
    }
    if (c === escape && quote !== "'" && i + 1 < text.length) {
      cur += c + text[++i];
      continue;
    }
    if (quote && c === quote) quote = undefined;
    else if (!quote && (c === '"' || c === "'")) quote = c;
    cur += c;
  }
  if (quote) throw new SubstitutionError(`failed to process "${text}": unexpected end of statement while looking for matching ${quote === '"' ? 'double' : 'single'}-quote`);
  if (cur) out.push(cur);
  return out;
}
