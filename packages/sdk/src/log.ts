/** A tiny leveled logger; the SDK must not pull a logging library into browser bundles. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, ...rest: unknown[]): void;
  info(msg: string, ...rest: unknown[]): void;
  warn(msg: string, ...rest: unknown[]): void;
  error(msg: string, ...rest: unknown[]): void;
}

/** Lines at `level` and above, with `prefix`, to `sink` (default: the console). */
export function createLogger(level: LogLevel = 'warn', prefix = '[confab]', sink?: Logger): Logger {
  const min = ORDER[level] ?? ORDER.warn;
  const at = (l: Exclude<LogLevel, 'silent'>) => (msg: string, ...rest: unknown[]) => {
    if (ORDER[l] < min) return;
    if (sink) sink[l](`${prefix} ${msg}`, ...rest);
    else console[l](`${prefix} ${msg}`, ...rest);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
