import { EventEmitter } from 'eventemitter3';

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

/**
 * An `eventemitter3` emitter whose `on`, `once`, `off` and `emit` are checked against an event map.
 *
 * Every long-running pbxkit component extends it. eventemitter3 is used rather than `node:events` because it
 * is faster on the hot paths (one emit per protocol event) and, unlike `node:events`, an `error` event with no
 * listener does not throw.
 */
export class TypedEmitter<Events extends EventMap<Events>> extends EventEmitter<Events> {}
