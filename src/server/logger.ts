/**
 * Structured logs on stderr, one JSON object per line or one readable line each: quiet by
 * default (warnings and errors), `info` for the CLI, `debug`/`trace` with --verbose
 * (trace shows frames).
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

/** one JSON object per line (machines, CI artifacts) or readable text (a terminal) */
export type LogFormat = 'json' | 'text';

export function createLogger(
  level: LogLevel = 'warn',
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  base: Record<string, unknown> = {},
  format: LogFormat = 'json',
): Logger {
  const rank = RANK[level];
  const log = (l: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (RANK[l] > rank) return;
    const time = new Date().toISOString();
    if (format === 'text') write(textLine(time, l, msg, { ...base, ...fields }));
    else write(JSON.stringify({ time, level: l, msg, ...base, ...fields }, jsonSafe));
  };
  return {
    level,
    enabled: (l) => RANK[l] <= rank,
    error: log('error'),
    warn: log('warn'),
    info: log('info'),
    debug: log('debug'),
    trace: log('trace'),
    child: (fields) => createLogger(level, write, { ...base, ...fields }, format),
  };
}

/** `2026-01-31 12:00:00.123 [info] message key=value ...`, RabbitMQ's shape */
function textLine(time: string, level: LogLevel, msg: string, fields: Record<string, unknown>): string {
  let line = `${time.replace('T', ' ').replace('Z', '')} [${level}] ${msg}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const safe = jsonSafe(key, value);
    const text = typeof safe === 'string' ? safe : JSON.stringify(safe, jsonSafe);
    line += ` ${key}=${text === '' || /[\s"=]/.test(text) ? JSON.stringify(text) : text}`;
  }
  return line;
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') return '<buffer>';
  return value;
}
