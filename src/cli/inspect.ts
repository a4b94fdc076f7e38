// The shared shape of every inspect command: look each name up, print the
// found objects as one JSON array (or through --format), then the misses.
import { EngineApiError, type JsonObject } from '../client/client.js';
import { CliError, out, err } from './context.js';
import { compileTemplate, TemplateError } from '../lib/template.js';

export function printInspect(results: unknown[], format?: string): void {
  // As the docker CLI: `json` is the array on one line.
  if (format?.trim() === 'json') {
    out(JSON.stringify(results) + '\n');
    return;
  }
  if (format) {
    try {
      const tpl = compileTemplate(format);
      out(results.map((r) => tpl.render(r) + '\n').join(''));
    } catch (e) {
      if (e instanceof TemplateError) throw new CliError(`template parsing error: ${e.message}`, 1);
      throw e;
    }
    return;
  }
  out(JSON.stringify(results, null, 4) + '\n');
}

/** `lookup` returns undefined for a miss; `missing` names it in the error line. */
export async function inspectEach(
  names: string[],
  lookup: (name: string) => Promise<JsonObject | undefined>,
  missing: (name: string) => string,
  format?: string,
): Promise<number> {
  const results: JsonObject[] = [];
  const errors: string[] = [];
  for (const name of names) {
    const found = await lookup(name);
    if (found) results.push(found);
    else errors.push(missing(name));
  }
  printInspect(results, format);
  if (errors.length) {
    err(errors.join('\n') + '\n');
    return 1;
  }
  return 0;
}

/** Run an API lookup, turning a 404 into undefined. */
export async function orMissing(fn: () => Promise<JsonObject>): Promise<JsonObject | undefined> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof EngineApiError && e.status === 404) return undefined;
    throw e;
  }
}
