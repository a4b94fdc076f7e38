// Showing a daemon's JSON message stream (pull, push) the way the docker CLI
// does: on a terminal one line per layer, redrawn in place; elsewhere only
// the status changes, without progress bars.
import type { Readable } from 'node:stream';
import { jsonLines } from '../client/client.js';
import type { JsonMessage } from '../lib/progress.js';
import { CliError } from './context.js';

export async function displayJsonMessages(stream: Readable, write: (s: string) => void, isTTY: boolean, onAux?: (aux: unknown) => void): Promise<void> {
  const lines = new Map<string, number>();
  let count = 0;
  for await (const m of jsonLines<JsonMessage>(stream)) {
    if (m.error || m.errorDetail) throw new CliError(m.errorDetail?.message ?? m.error ?? 'unknown error', 1);
    if (m.aux !== undefined) {
      onAux?.(m.aux);
      continue;
    }
    if (m.stream !== undefined) {
      write(m.stream);
      continue;
    }
    if (m.status === undefined) continue;
    const hasProgress = m.progressDetail?.current !== undefined;
    const text = `${m.id ? `${m.id}: ` : ''}${m.status}${hasProgress && m.progress ? ` ${m.progress}` : ''}`;
    if (!isTTY) {
      if (!hasProgress) write(`${text}\n`);
      continue;
    }
    if (!m.id) {
      write(`${text}\n`);
      count++;
      continue;
    }
    const at = lines.get(m.id);
    if (at === undefined) {
      lines.set(m.id, count++);
      write(`${text}\n`);
      continue;
    }
    // Up to the layer's line, rewrite it, back down.
    const up = count - at;
    write(`\x1b[${up}A\r\x1b[2K${text}\x1b[${up}B\r`);
  }
}
