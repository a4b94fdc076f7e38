// The Dockerfile language at the syntax level: parser directives, comments,
// line continuations (with comment and empty lines inside them), instructions
// with their `--flags`, the exec (JSON) and shell forms, heredocs, and ONBUILD
// triggers. What the arguments mean (stages, variables, cache) is the
// builder's business; this module only says what was written, and where.

export class DockerfileParseError extends Error {
  constructor(readonly file: string, readonly line: number, readonly detail: string) {
    super(`dockerfile parse error on line ${line}: ${detail}`);
  }
}

export interface Heredoc {
  /** the terminator word, e.g. EOF */
  name: string;
  content: string;
  /** false when the terminator was quoted (<<"EOF"): no variable expansion */
  expand: boolean;
  /** <<-EOF: leading tabs were stripped */
  chomp: boolean;
}

export interface Flag { name: string; value: string | undefined }

export interface Instruction {
  /** upper case: FROM, RUN, COPY… */
  keyword: string;
  /** 1-based line of the instruction's first line */
  line: number;
  endLine: number;
  /** what was written, continuation lines joined */
  original: string;
  flags: Flag[];
  /** the arguments after the flags, as written (no expansion) */
  rest: string;
  /** the exec form, when the arguments are a JSON array of strings */
  json?: string[];
  heredocs: Heredoc[];
  /** ONBUILD's trigger */
  trigger?: Instruction;
}

export interface Dockerfile {
  /** syntax, escape, check: as written, keys lower-cased */
  directives: Record<string, string>;
  escape: string;
  instructions: Instruction[];
}

export const KEYWORDS = new Set([
  'FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME',
  'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL',
]);

/** Instructions whose arguments may be a JSON array. */
const JSON_FORM = new Set(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'COPY', 'ADD', 'VOLUME']);
const WITH_FLAGS = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'HEALTHCHECK']);
const WITH_HEREDOCS = new Set(['RUN', 'COPY', 'ADD']);
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/;
const HEREDOC = /<<(-?)\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

function parseDirectives(lines: string[], file: string): { directives: Record<string, string>; consumed: number } {
  const directives: Record<string, string> = {};
  let i = 0;
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]!);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    // An unknown directive is a comment, and ends the directive block.
    if (!KNOWN_DIRECTIVES.has(key)) break;
    if (key in directives) throw new DockerfileParseError(file, i + 1, `only one ${key} parser directive can be used`);
    directives[key] = m[2]!;
  }
  return { directives, consumed: i };
}

const isComment = (l: string): boolean => /^\s*#/.test(l);
const isBlank = (l: string): boolean => l.trim() === '';

function continues(line: string, escape: string): boolean {
  const t = line.replace(/[ \t]+$/, '');
  return t.endsWith(escape);
}

function stripContinuation(line: string, escape: string): string {
  const t = line.replace(/[ \t]+$/, '');
  return t.slice(0, -escape.length);
}

function parseFlags(rest: string, keyword: string, file: string, line: number): { flags: Flag[]; rest: string } {
  const flags: Flag[] = [];
  let r = rest;
  for (;;) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=((?:"[^"]*"|'[^']*'|\S)*))?(?:\s+|$)/.exec(r);
    if (!m) break;
    if (!WITH_FLAGS.has(keyword)) throw new DockerfileParseError(file, line, `${keyword} does not take flags: --${m[1]}`);
    flags.push({ name: m[1]!, value: m[2] });
    r = r.slice(m[0].length);
  }
  return { flags, rest: r };
}

function jsonForm(rest: string): string[] | undefined {
  const t = rest.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch { /* the shell form, which happens to start with [ */ }
  return undefined;
}

interface Cursor { lines: string[]; i: number }

/** Read the heredoc bodies an instruction line announced, from the lines after it. */
function readHeredocs(cur: Cursor, rest: string, file: string, startLine: number): Heredoc[] {
  const docs: Heredoc[] = [];
  for (const m of rest.matchAll(HEREDOC)) {
    const chomp = m[1] === '-';
    const name = m[3]!;
    const body: string[] = [];
    let closed = false;
    while (cur.i < cur.lines.length) {
      let l = cur.lines[cur.i++]!;
      if (chomp) l = l.replace(/^\t+/, '');
      if (l === name) {
        closed = true;
        break;
      }
      body.push(l);
    }
    if (!closed) throw new DockerfileParseError(file, startLine, `unterminated heredoc ${name}`);
    docs.push({ name, content: body.length ? body.join('\n') + '\n' : '', expand: m[2] === '', chomp });
  }
  return docs;
}

function parseInstruction(text: string, file: string, line: number, endLine: number, escape: string, cur?: Cursor, inOnbuild = false): Instruction {
  const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(text);
  if (!m) throw new DockerfileParseError(file, line, 'empty instruction');
  const keyword = m[1]!.toUpperCase();
  if (!KEYWORDS.has(keyword)) throw new DockerfileParseError(file, line, `unknown instruction: ${m[1]}`);
  const raw = m[2]!.trim();
  if (keyword === 'ONBUILD') {
    if (inOnbuild) throw new DockerfileParseError(file, line, 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
    if (!raw) throw new DockerfileParseError(file, line, 'ONBUILD requires at least one argument');
    const trigger = parseInstruction(raw, file, line, endLine, escape, undefined, true);
    if (trigger.keyword === 'FROM' || trigger.keyword === 'MAINTAINER') {
      throw new DockerfileParseError(file, line, `${trigger.keyword} isn't allowed as an ONBUILD trigger`);
    }
    return { keyword, line, endLine, original: text.trim(), flags: [], rest: raw, heredocs: [], trigger };
  }
  const { flags, rest } = parseFlags(raw, keyword, file, line);
  const json = JSON_FORM.has(keyword) ? jsonForm(rest) : undefined;
  if (keyword === 'SHELL' && !json) throw new DockerfileParseError(file, line, 'SHELL requires the arguments to be in JSON form');
  if (!rest.trim() && !['CMD', 'ENTRYPOINT'].includes(keyword) && !(keyword === 'HEALTHCHECK')) {
    throw new DockerfileParseError(file, line, `${keyword} requires at least one argument`);
  }
  const heredocs = !json && WITH_HEREDOCS.has(keyword) && cur ? readHeredocs(cur, rest, file, line) : [];
  return { keyword, line, endLine: heredocs.length && cur ? cur.i : endLine, original: text.trim(), flags, rest: rest.trim(), ...(json ? { json } : {}), heredocs };
}

/** Parse a whole Dockerfile. Errors name the file and line, as `docker build` prints them. */
export function parseDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const { directives, consumed } = parseDirectives(lines, file);
  const escape = directives.escape ?? '\\';
  if (escape !== '\\' && escape !== '`') throw new DockerfileParseError(file, 1, `invalid escape token '${escape}' does not match \` or \\`);
  const instructions: Instruction[] = [];
  const cur: Cursor = { lines, i: consumed };
  while (cur.i < lines.length) {
    const first = lines[cur.i]!;
    const start = cur.i + 1;
    cur.i++;
    if (isBlank(first) || isComment(first)) continue;
    let text = first;
    let end = start;
    // Continuation lines; comment and empty lines inside them are dropped.
    while (continues(text, escape) && cur.i < lines.length) {
      text = stripContinuation(text, escape);
      let next = lines[cur.i]!;
      cur.i++;
      end = cur.i;
      while ((isComment(next) || isBlank(next)) && cur.i < lines.length) {
        next = lines[cur.i]!;
        cur.i++;
        end = cur.i;
      }
      if (isComment(next)) next = '';
      text += next;
    }
    if (continues(text, escape)) text = stripContinuation(text, escape);
    if (!text.trim()) continue;
    instructions.push(parseInstruction(text, file, start, end, escape, cur));
  }
  if (instructions.length === 0) throw new DockerfileParseError(file, 1, 'file with no instructions');
  const firstReal = instructions.find((i) => i.keyword !== 'ARG');
  if (!firstReal || firstReal.keyword !== 'FROM') {
    throw new DockerfileParseError(file, (firstReal ?? instructions[0]!).line, 'no build stage in current context');
  }
  return { directives, escape, instructions };
}

/** The value of a flag (`--from=builder`), the last one when repeated. */
export function flagValue(ins: Instruction, name: string): string | undefined {
  const all = ins.flags.filter((f) => f.name === name);
  return all.length ? all[all.length - 1]!.value ?? '' : undefined;
}

/** Every value of a repeatable flag (`--mount`, `--exclude`). */
export function flagValues(ins: Instruction, name: string): string[] {
  return ins.flags.filter((f) => f.name === name).map((f) => f.value ?? '');
}
