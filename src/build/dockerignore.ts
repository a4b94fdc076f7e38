// `.dockerignore`: which paths of the build context never leave the client.
// Docker's rules (moby/patternmatcher): one pattern per line, `#` comments,
// `!` re-includes, patterns cleaned and made relative (a leading `/` means the
// context root), `*` and `?` within one path segment, `**` across any number
// of segments, `[...]` classes, the escape `\`. A pattern that matches a
// directory matches everything under it; the last matching pattern decides.

interface Pattern { negate: boolean; re: RegExp; source: string }

function cleanPath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/') || '.';
}

function compile(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += pattern[++i]!.replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        re += '\\[';
      } else {
        let cls = pattern.slice(i + 1, end);
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else {
      re += c.replace(/[.+^${}()|\\]/g, '\\$&');
    }
  }
  return new RegExp(re + '$');
}

export class DockerIgnore {
  private readonly patterns: Pattern[] = [];

  constructor(text = '') {
    for (const raw of text.split(/\r?\n/)) {
      if (raw.startsWith('#')) continue;
      let p = raw.trim();
      if (!p) continue;
      const negate = p.startsWith('!');
      if (negate) p = p.slice(1).trim();
      if (!p) continue;
      p = cleanPath(p.replace(/^\/+/, ''));
      this.patterns.push({ negate, re: compile(p), source: (negate ? '!' : '') + p });
    }
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** Is some `!` pattern there (then an excluded directory must still be walked)? */
  get hasExceptions(): boolean {
    return this.patterns.some((p) => p.negate);
  }

  /** `path` relative to the context root, with `/` separators. */
  excludes(path: string): boolean {
    const clean = cleanPath(path);
    const parents: string[] = [];
    const parts = clean.split('/');
    for (let i = 1; i <= parts.length; i++) parents.push(parts.slice(0, i).join('/'));
    let excluded = false;
    for (const p of this.patterns) {
      if (parents.some((candidate) => p.re.test(candidate))) excluded = !p.negate;
    }
    return excluded;
  }
}
