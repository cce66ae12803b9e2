import type { Counter, Registry } from 'prom-client';
import { type Logger, silentLogger } from './logger.js';
import { MetricsFactory } from './metrics.js';

/** Options of {@link ErrorReporter}. */
export interface ErrorReporterOptions {
  /** Where errors are logged: the component's own logger (already bound to it). Default: silent. */
  logger?: Logger;
  /** Registry of the counter (see {@link MetricsFactory}). */
  registry?: Registry;
}

/**
 * What to log with an error: the message, or the message with fields (`{ msg, uuid }`) and the level (`error`
 * unless `warn` is given, for errors the component recovers from by itself, such as a failed reconnection).
 */
export type ErrorContext = string | ({ msg: string; level?: 'warn' | 'error' } & Record<string, unknown>);

/**
 * Logs and counts the errors of one long-lived component, whether or not anyone listens to its `error` event
 * (eventemitter3, unlike `node:events`, drops an `error` nobody listens to, so without this a full disk or a
 * lost database connection would leave no trace). Each report is one log line (the error under `err`) and one
 * increment of `pbxkit_<pkg>_errors_total{component}`. Components that are emitters report through
 * {@link TypedEmitter.emitError}, which also emits the error to the listeners.
 *
 * @example
 * ```ts
 * const errors = new ErrorReporter('cdr', 'dispatcher', { logger, registry });
 * errors.report(err, { msg: 'could not write the journal', id });
 * ```
 */
export class ErrorReporter {
  private readonly logger: Logger;
  private readonly counter: Counter<'component'>;

  /**
   * @param pkg The package, which names the counter: `pbxkit_<pkg>_errors_total`.
   * @param component The `component` label of the counter (`dispatcher`, `client`, ...).
   */
  constructor(
    pkg: string,
    readonly component: string,
    options: ErrorReporterOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.counter = new MetricsFactory(pkg, options.registry).counter({
      what: 'errors',
      unit: 'total',
      help: 'Errors of long-lived components (logged whether or not anything listens), by component',
      labelNames: ['component'],
    });
  }

  /** Logs `err` with `context` and counts it. Never throws: a reporter that fails must not hide the error. */
  report(err: unknown, context: ErrorContext): void {
    try {
      this.counter.inc({ component: this.component });
      if (typeof context === 'string') {
        this.logger.error({ err }, context);
      } else {
        const { msg, level, ...fields } = context;
        this.logger[level ?? 'error']({ ...fields, err }, msg);
      }
    } catch {
      // A logger that throws (a closed destination) must not turn a reported error into an uncaught one.
    }
  }
}
