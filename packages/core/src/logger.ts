/**
 * A log method in pino's shape: either a message, or an object of fields followed by an optional message.
 */
export interface LogFn {
  (msg: string): void;
  (obj: object, msg?: string): void;
}

/**
 * The logger every pbxkit component accepts. It is the subset of pino's API that pbxkit uses, so a pino
 * logger (or a child of one) can be passed as it is:
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const client = new EslClient({ host, port, password, logger: pino({ level: 'debug' }) });
 * ```
 */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger that adds `bindings` to every line, as pino's `child` does. */
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};

/** A logger that drops everything: the default of every component, so libraries stay quiet unless asked. */
export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child: () => silentLogger,
};

/** The logger to use: the one given, else the silent one. */
export function resolveLogger(logger: Logger | undefined, bindings?: Record<string, unknown>): Logger {
  if (!logger) return silentLogger;
  return bindings ? logger.child(bindings) : logger;
}
