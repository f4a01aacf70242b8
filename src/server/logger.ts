/**
 * Structured logs, one JSON object per line on stderr: quiet by default (warnings and
 * errors), `info` for the CLI, `debug`/`trace` with --verbose (trace shows frames).
 */
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

const RANK: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };

export interface Logger {
  readonly level: LogLevel;
  enabled(level: LogLevel): boolean;
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  trace(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  level: LogLevel = 'warn',
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  base: Record<string, unknown> = {},
): Logger {
  const rank = RANK[level];
  const log = (l: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (RANK[l] > rank) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...base, ...fields }, jsonSafe));
  };
  return {
    level,
    enabled: (l) => RANK[l] <= rank,
    error: log('error'),
    warn: log('warn'),
    info: log('info'),
    debug: log('debug'),
    trace: log('trace'),
    child: (fields) => createLogger(level, write, { ...base, ...fields }),
  };
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') return '<buffer>';
  return value;
}
