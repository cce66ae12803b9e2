import type { Logger } from '@pbxkit/core';

/** One call of a {@link captureLogger} logger. */
export interface LogLine {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** What `child()` bound, then the call's own fields. */
  fields: Record<string, unknown>;
  msg: string | undefined;
}

/**
 * A logger that keeps every call, for tests that check what a component logs. `next(match)` resolves with the
 * first line that matches, logged already or later, so a test waits for the log line instead of sleeping.
 */
export function captureLogger(): {
  logger: Logger;
  lines: LogLine[];
  next(match: (line: LogLine) => boolean): Promise<LogLine>;
} {
  const lines: LogLine[] = [];
  const waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const method =
      (level: LogLine['level']) =>
      (objOrMsg: object | string, msg?: string): void => {
        const line: LogLine =
          typeof objOrMsg === 'string'
            ? { level, fields: { ...bindings }, msg: objOrMsg }
            : { level, fields: { ...bindings, ...objOrMsg }, msg };
        lines.push(line);
        for (const w of waiters.splice(0)) {
          if (w.match(line)) w.resolve(line);
          else waiters.push(w);
        }
      };
    return {
      trace: method('trace'),
      debug: method('debug'),
      info: method('info'),
      warn: method('warn'),
      error: method('error'),
      fatal: method('fatal'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return {
    logger: make({}),
    lines,
    next(match) {
      const found = lines.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

/**
 * Records the process's uncaught exceptions while a test runs (Vitest reports them too, but only after the
 * test): `first` resolves at the first one, so a test can wait for "logged or crashed", whichever comes.
 */
export function watchUncaught(): { errors: unknown[]; first: Promise<unknown>; stop(): void } {
  const errors: unknown[] = [];
  let resolve: (err: unknown) => void = () => {};
  const first = new Promise<unknown>((r) => {
    resolve = r;
  });
  const listener = (err: unknown): void => {
    errors.push(err);
    resolve(err);
  };
  process.on('uncaughtException', listener);
  return { errors, first, stop: () => process.off('uncaughtException', listener) };
}
