// `--format` for lists, as the docker CLI does it: a Go template per row, or
// `table TEMPLATE` for a header (the template run over the column titles)
// and tab-separated columns aligned like Docker's tables.
import { compileTemplate, TemplateError, type Value } from '../lib/template.js';
import { tabwrite } from './tabwriter.js';
import { CliError } from './context.js';

/**
 * A row as the docker CLI's `--format json` (or `{{json .}}`) prints it: Go's
 * encoding/json of a map, so keys sorted and <, > and & escaped.
 */
/** Cut to `max` characters (not UTF-16 units), the last one `…`, as the docker CLI's formatter.Ellipsis. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  return chars.length > max ? chars.slice(0, max - 1).join('') + '…' : s;
}

export function goJsonRow(row: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.keys(row).sort().map((k) => [k, row[k]]));
  return JSON.stringify(sorted).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

/** Format `rows` with a user template; `headers` names the columns of the `table` form. */
export function formatRows(format: string, rows: Array<Record<string, unknown>>, headers: Record<string, string>): string {
  if (/^\s*(json|\{\{\s*json\s+\.\s*\}\})\s*$/.test(format)) return rows.map((r) => goJsonRow(r) + '\n').join('');
  try {
    const table = format.startsWith('table ');
    const tpl = compileTemplate(table ? format.slice(6) : format);
    // Docker's templates write "\t" as a two-character escape as often as a real tab.
    const lines = rows.map((r) => tpl.render(r).replace(/\\t/g, '\t'));
    if (!table) return lines.map((l) => l + '\n').join('');
    const header = tpl.render(headers).replace(/\\t/g, '\t');
    return tabwrite([header, ...lines].map((l) => l.split('\t')));
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.message}`, 1);
    throw e;
  }
}

/**
 * `--format` for single objects (version, info, each event), compiled once:
 * `json` is the object as compact JSON, as the docker CLI prints it.
 */
export function compileFormat(format: string): (dot: Value) => string {
  if (format.trim() === 'json') return (dot) => JSON.stringify(dot);
  try {
    const tpl = compileTemplate(format);
    return (dot) => tpl.render(dot);
  } catch (e) {
    if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.message}`, 1);
    throw e;
  }
}

export function formatOne(format: string, dot: Value): string {
  return compileFormat(format)(dot);
}
