// Structured daemon logs: one JSON object per line on stderr.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  log(level: string, msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(min: Level = 'info', out: NodeJS.WritableStream = process.stderr): Logger {
  const log = (level: string, msg: string, fields: Record<string, unknown> = {}): void => {
    const l = (level in ORDER ? level : 'info') as Level;
    if (ORDER[l] < ORDER[min]) return;
    out.write(JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...fields }) + '\n');
  };
  return {
    log,
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
  };
}
