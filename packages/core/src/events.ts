import { EventEmitter } from 'eventemitter3';
import type { ErrorContext, ErrorReporter } from './error-reporter.js';

/**
 * Event map: each key is an event name, each value the listener signature.
 *
 * @example
 * ```ts
 * interface MonitorEvents {
 *   state: (state: 'up' | 'down') => void;
 *   error: (err: Error) => void;
 * }
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: listener arguments are whatever the event map says
export type EventMap<Events> = { [K in keyof Events]: (...args: any[]) => void };

/** The arguments of an event map's `error` event (`never` when it has none). */
export type ErrorEventArgs<Events> = Events extends { error: (...args: infer A) => void } ? A : never;

/**
 * An `eventemitter3` emitter whose `on`, `once`, `off` and `emit` are checked against an event map.
 *
 * Every long-running pbxkit component extends it. eventemitter3 is used rather than `node:events` because it
 * is faster on the hot paths (one emit per protocol event) and, unlike `node:events`, an `error` event with no
 * listener does not throw. It is dropped instead: components emit errors through {@link emitError}, which
 * logs and counts them first.
 */
export class TypedEmitter<Events extends EventMap<Events>> extends EventEmitter<Events> {
  /**
   * Emits `error` with `args` to the listeners, if any, after `reporter` has logged it with `context` and
   * counted it (see {@link ErrorReporter}). The error logged is the event's last argument, which by pbxkit's
   * convention is the error itself (`error: (err) => void`, `error: (store, err) => void`). Returns whether
   * anything listened.
   */
  protected emitError(
    reporter: ErrorReporter,
    context: ErrorContext,
    ...args: ErrorEventArgs<Events>
  ): boolean {
    reporter.report(args[args.length - 1], context);
    return (this.emit as (event: string, ...rest: unknown[]) => boolean)('error', ...args);
  }
}
