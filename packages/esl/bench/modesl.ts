import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

// modesl (CommonJS, no types): only the few members the benchmark touches, typed by hand from its source
// (node_modules/modesl/lib/esl/{Parser,Connection,Event}.js, version 1.2.x).

/** `esl.Event`: headers kept as an array of `{ name, value }`, looked up linearly. */
export interface ModeslEvent {
  headers: Array<{ name: string; value: unknown }>;
  body: string;
  getHeader(name: string): string | number | null;
  getBody(): string;
}

/** `esl.Parser`: listens to `data` on the socket-like emitter it is given, emits `esl::event`. */
export interface ModeslParser {
  on(
    event: 'esl::event',
    listener: (event: ModeslEvent, headers: Record<string, unknown>, body: string | undefined) => void,
  ): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** `esl.Connection` in inbound mode: `new Connection(host, port, password, onReady)`. */
export interface ModeslConnection {
  /** The `net.Socket` it connected with (null after the socket ended). */
  socket: Socket | null;
  api(command: string, cb: (event: ModeslEvent) => void): void;
  disconnect(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'esl::end', listener: () => void): unknown;
}

const require = createRequire(import.meta.url);

export const ModeslParser = require('modesl/lib/esl/Parser.js') as new (socket: EventEmitter) => ModeslParser;

export const ModeslConnection = (
  require('modesl') as {
    Connection: new (host: string, port: number, password: string, onReady: () => void) => ModeslConnection;
  }
).Connection;
