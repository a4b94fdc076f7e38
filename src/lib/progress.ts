// Docker's JSON progress messages (jsonmessage): what pull, push and load
// stream to clients, and the progress bar text the daemon puts in them.
import { humanSize } from './units.js';

export interface JsonMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  stream?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { message: string };
}

/** `[=========>          ]  12.3MB/50MB`: a 50-column bar, then the byte counts. */
export function progressBar(current: number, total: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const filled = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = `[${'='.repeat(filled)}>${' '.repeat(Math.max(0, 50 - filled))}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

export function progressMessage(id: string, status: string, current: number, total: number): JsonMessage {
  return { status, progressDetail: { current, total }, progress: progressBar(current, total), id };
}

/** Calls `fn` at most every `ms`, always letting the last value through on `flush`. */
export function throttle<T>(ms: number, fn: (v: T) => void): { push(v: T): void; flush(): void } {
  let last = 0;
  let pending: T | undefined;
  let has = false;
  return {
    push(v: T): void {
      const now = Date.now();
      if (now - last >= ms) {
        last = now;
        has = false;
        fn(v);
      } else {
        pending = v;
        has = true;
      }
    },
    flush(): void {
      if (has) fn(pending as T);
      has = false;
    },
  };
}
