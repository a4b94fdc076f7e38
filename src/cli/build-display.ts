// The BuildKit-style display of a build, drawn from the daemon's build events
// (src/build/progress.ts): `--progress=plain` prints every vertex and every
// line of output with `#N` prefixes (as BuildKit does, but never clipped);
// `--progress=tty` redraws `[+] Building 1.2s (7/9)` with a line per step,
// the running steps' last lines of output under them, and keeps the whole
// transcript in a file that is kept when the build fails.
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildEvent } from '../build/progress.js';

interface Sub { name: string; done: boolean; at: number; doneAt?: number }

interface VertexState {
  id: string;
  num: number;
  name: string;
  line?: number;
  started: number;
  completed?: number;
  cached: boolean;
  error?: string;
  /** complete lines of output, each with its offset from the start in seconds */
  lines: string[];
  partial: string;
  subs: Sub[];
}

export interface BuildDisplay {
  event(e: BuildEvent): void;
  /** The build is over: draw the last frame; on failure, the failing step's output and the Dockerfile around it. */
  finish(error?: { message: string; dockerfile?: string; dockerfileName?: string }): void;
}

/** Vertices by id, in the order they appeared, with their output split into lines. */
class VertexBook {
  readonly vertices: VertexState[] = [];
  private readonly byId = new Map<string, VertexState>();

  apply(e: BuildEvent): { v: VertexState; isNew: boolean; newLines: string[] } {
    let v = this.byId.get(e.v);
    const isNew = !v;
    if (!v) {
      v = { id: e.v, num: this.vertices.length + 1, name: e.name ?? e.v, line: e.line, started: e.started ?? Date.now(), cached: false, lines: [], partial: '', subs: [] };
      this.byId.set(e.v, v);
      this.vertices.push(v);
    }
    const newLines: string[] = [];
    if (e.log) {
      const at = ((Date.now() - v.started) / 1000).toFixed(3);
      const parts = (v.partial + e.log).split('\n');
      v.partial = parts.pop()!;
      for (const p of parts) {
        const l = `${at} ${p.replace(/\r$/, '')}`;
        v.lines.push(l);
        newLines.push(l);
      }
    }
    if (e.sub) {
      const known = v.subs.find((s) => s.name === e.sub!.name);
      if (known) {
        known.done = e.sub.done;
        if (e.sub.done) known.doneAt = Date.now();
      } else {
        v.subs.push({ name: e.sub.name, done: e.sub.done, at: Date.now(), ...(e.sub.done ? { doneAt: Date.now() } : {}) });
      }
    }
    if (e.completed !== undefined) {
      if (v.partial) {
        const l = `${((Date.now() - v.started) / 1000).toFixed(3)} ${v.partial}`;
        v.lines.push(l);
        newLines.push(l);
        v.partial = '';
      }
      v.completed = e.completed;
      v.cached = e.cached ?? false;
      if (e.error !== undefined) v.error = e.error;
    }
    return { v, isNew, newLines };
  }

  failed(): VertexState | undefined {
    return this.vertices.find((v) => v.error !== undefined);
  }
}

const seconds = (ms: number): string => `${(Math.max(0, ms) / 1000).toFixed(1)}s`;

/** BuildKit's error block: the failing step's last lines, then the Dockerfile around it. */
function errorReport(failed: VertexState | undefined, error: { message: string; dockerfile?: string; dockerfileName?: string }): string {
  let s = '';
  if (failed) {
    s += `------\n > ${failed.name}:\n`;
    for (const l of failed.lines.slice(-10)) s += `${l}\n`;
    s += '------\n';
    if (failed.line !== undefined && error.dockerfile !== undefined) {
      const lines = error.dockerfile.split('\n');
      const from = Math.max(1, failed.line - 2);
      const to = Math.min(lines.length, failed.line + 2);
      s += `${error.dockerfileName ?? 'Dockerfile'}:${failed.line}\n--------------------\n`;
      for (let n = from; n <= to; n++) s += `${String(n).padStart(4)} | ${n === failed.line ? '>>> ' : '    '}${lines[n - 1]}\n`;
      s += '--------------------\n';
    }
  }
  return `${s}ERROR: failed to solve: ${error.message}\n`;
}

/** `--progress=plain`: everything, in the order it happens, prefixed by the step's number. */
export class PlainDisplay implements BuildDisplay {
  private readonly book = new VertexBook();

  constructor(private readonly write: (s: string) => void) {}

  event(e: BuildEvent): void {
    const { v, isNew, newLines } = this.book.apply(e);
    if (isNew) this.write(`#${v.num} ${v.name}\n`);
    for (const l of newLines) this.write(`#${v.num} ${l}\n`);
    if (e.sub) this.write(`#${v.num} ${e.sub.name}${e.sub.done ? ' done' : ''}\n`);
    if (e.completed !== undefined) {
      if (v.error !== undefined) this.write(`#${v.num} ERROR: ${v.error}\n\n`);
      else if (v.cached) this.write(`#${v.num} CACHED\n\n`);
      else this.write(`#${v.num} DONE ${seconds(v.completed! - v.started)}\n\n`);
    }
  }

  finish(error?: { message: string; dockerfile?: string; dockerfileName?: string }): void {
    if (error) this.write(errorReport(this.book.failed(), error));
  }
}

/** `--progress=tty`: the live view, redrawn in place ten times a second. */
export class TtyDisplay implements BuildDisplay {
  private readonly book = new VertexBook();
  private readonly began = Date.now();
  private drawn = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly transcriptDir: string;
  private readonly transcript: WriteStream;
  private readonly plain: PlainDisplay;

  constructor(private readonly write: (s: string) => void, private readonly size: () => { columns: number; rows: number }) {
    // The whole output goes to a transcript too: the screen shows only a tail.
    this.transcriptDir = mkdtempSync(join(tmpdir(), 'berth-build-'));
    this.transcript = createWriteStream(join(this.transcriptDir, 'build.log'));
    this.plain = new PlainDisplay((s) => this.transcript.write(s));
    this.timer = setInterval(() => this.draw(false), 100);
    this.timer.unref();
  }

  event(e: BuildEvent): void {
    this.book.apply(e);
    this.plain.event(e);
  }

  finish(error?: { message: string; dockerfile?: string; dockerfileName?: string }): void {
    clearInterval(this.timer);
    this.draw(true);
    this.plain.finish(error);
    this.transcript.end();
    if (error) {
      this.write(errorReport(this.book.failed(), error));
      this.write(`The whole build output is in ${join(this.transcriptDir, 'build.log')}\n`);
    } else {
      this.transcript.on('close', () => rmSync(this.transcriptDir, { recursive: true, force: true }));
    }
  }

  private frame(final: boolean): string[] {
    const { columns } = this.size();
    const width = Math.max(40, columns);
    const now = Date.now();
    const vs = this.book.vertices;
    const done = vs.filter((v) => v.completed !== undefined).length;
    const row = (text: string, ms?: number): string => {
      const time = ms === undefined ? '' : seconds(ms);
      const room = width - time.length - 1;
      const t = text.length > room ? `${text.slice(0, Math.max(0, room - 3))}...` : text;
      return time ? `${t.padEnd(room)} ${time}` : t.slice(0, width);
    };
    const lines = [`[+] Building ${seconds(now - this.began)} (${done}/${vs.length})${final ? ' FINISHED' : ''}`];
    for (const v of vs) {
      const state = v.error !== undefined ? 'ERROR ' : v.cached ? 'CACHED ' : '';
      lines.push(row(` => ${state}${v.name}`, (v.completed ?? now) - v.started));
      for (const s of v.subs) lines.push(row(` => => ${s.name}`, (s.doneAt ?? now) - s.at));
      if (v.completed === undefined && !final) {
        const tail = [...v.lines.slice(-6), ...(v.partial ? [v.partial] : [])].slice(-6);
        for (const l of tail) lines.push(row(` => => # ${l.replace(/^\S+ /, '')}`));
      }
    }
    return lines;
  }

  private draw(final: boolean): void {
    let lines = this.frame(final);
    // Only what fits can be redrawn; the final frame is written whole and scrolls.
    if (!final) {
      const { rows } = this.size();
      const room = Math.max(3, rows - 1);
      if (lines.length > room) lines = [lines[0]!, ...lines.slice(lines.length - room + 1)];
    }
    let s = this.drawn ? `\x1b[${this.drawn}A\r\x1b[J` : '';
    for (const l of lines) s += `${l}\n`;
    this.write(s);
    this.drawn = lines.length;
  }
}
