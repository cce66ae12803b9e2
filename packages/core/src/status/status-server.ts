import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { Counter } from 'prom-client';
import { type Logger, resolveLogger } from '../logger.js';
import { MetricsFactory, type MetricsOptions } from '../metrics.js';
import {
  type Answer,
  type AnswerContext,
  builtinCommands,
  errorAnswer,
  type StatusCommand,
} from './answer.js';
import { StatusError } from './errors.js';
import {
  type FailoverStatus,
  failedOverOrUnsynced,
  type StatusProvider,
  type StatusTimeZone,
} from './status.js';
import { StatusConnection } from './status-connection.js';
import { validateToken } from './token.js';

/** Options of {@link StatusServer}. */
export interface StatusServerOptions extends MetricsOptions {
  /** The secret every request carries: any printable text (no control characters), at most 256 bytes. */
  token: string;
  /** Reads the current status, once per request. */
  status: StatusProvider;
  /** Listen address. Default `127.0.0.1` (Synch's). */
  host?: string;
  /** Listen port. Default 65038 (Synch's); 0 picks a free one. */
  port?: number;
  /** Extra JSON commands by name (they may replace `status` and `health`). */
  commands?: Readonly<Record<string, StatusCommand>>;
  /** When the `health` command (and `healthy` in `status`) says unhealthy. Default: failed over or unsynced. */
  unhealthy?: (status: FailoverStatus) => boolean;
  /** Time zone of Synch's `Timestamp`. Default `local`, as Synch (`DateTime.Now`). */
  timeZone?: StatusTimeZone;
  /** Connections at once; one more is answered `Busy. Bye bye!` and closed. Default 64. */
  maxConnections?: number;
  /** Longest request line, in bytes. Default 4096. */
  maxLineBytes?: number;
  /** Time a request may take to arrive (from connecting, or from the previous answer), in ms. Default 10 000. */
  timeoutMs?: number;
  /** `<namespace>` of `pbxkit_<namespace>_status_requests_total`. Default `core`. */
  metricsNamespace?: string;
  logger?: Logger;
  /** The clock of timestamps. Default `() => new Date()`. */
  now?: () => Date;
}

/**
 * The status socket of a failover daemon, compatible with Synch's monitoring socket: a line
 * `GetStatus(<token>)` is answered `[{"Timestamp":"yyyyMMddHHmmss","Monitor":...,"Sync":...,"Service":...}]`
 * and a LF, exactly as Synch prints it, and the connection closes; a wrong token gets `Token error. Bye bye!`.
 * The same port also speaks newline-delimited JSON, several requests per connection:
 * `{"command":"status","token":"..."}` → `{"ok":true,"result":{...}}`.
 *
 * Hostile input costs bounded memory and never ends the process: lines over `maxLineBytes`, control bytes or
 * invalid UTF-8 get an error answer and the connection is closed; a request slower than `timeoutMs` (idle or
 * trickled) is cut; connections past `maxConnections` are turned away. Every answer is counted in
 * `pbxkit_<ns>_status_requests_total{protocol,result}`.
 *
 * @example
 * ```ts
 * const server = new StatusServer({ token: 'token1', status: () => ({ monitor: monitor.state, sync: 'Init', service: monitor.target }) });
 * await server.listen(); // echo "GetStatus(token1)" | nc 127.0.0.1 65038
 * ```
 */
export class StatusServer {
  private readonly server: Server;
  private readonly connections = new Set<StatusConnection>();
  // Every socket, the turned-away ones included, so that close() leaves none open.
  private readonly sockets = new Set<Socket>();
  private readonly ctx: AnswerContext;
  private readonly log: Logger;
  private readonly requests: Counter<'protocol' | 'result'>;
  private readonly options: StatusServerOptions;
  private readonly maxConnections: number;
  private readonly maxLineBytes: number;
  private readonly timeoutMs: number;

  constructor(options: StatusServerOptions) {
    validateToken(options.token);
    if (typeof options.status !== 'function')
      throw new StatusError('STATUS_OPTIONS', 'status must be a function');
    this.options = options;
    this.maxConnections = positive('maxConnections', options.maxConnections ?? 64);
    this.maxLineBytes = positive('maxLineBytes', options.maxLineBytes ?? 4096);
    this.timeoutMs = positive('timeoutMs', options.timeoutMs ?? 10_000);
    this.log = resolveLogger(options.logger, { component: 'status-server' });
    this.requests = new MetricsFactory(options.metricsNamespace ?? 'core', options.registry).counter({
      what: 'status_requests',
      unit: 'total',
      help: 'Status endpoint requests answered, by protocol and result',
      labelNames: ['protocol', 'result'],
    });
    const now = options.now ?? (() => new Date());
    const unhealthy = options.unhealthy ?? failedOverOrUnsynced;
    const commands = builtinCommands({ status: options.status, unhealthy, now });
    for (const [name, command] of Object.entries(options.commands ?? {})) commands.set(name, command);
    this.ctx = {
      token: options.token,
      status: options.status,
      unhealthy,
      commands,
      timeZone: options.timeZone ?? 'local',
      now,
      log: this.log,
    };
    this.server = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => this.log.error({ err }, 'status server error'));
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port ?? 65038, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', onError);
        const address = this.server.address() as AddressInfo;
        this.log.info({ address: address.address, port: address.port }, 'listening');
        resolve(address);
      });
    });
  }

  /** The bound address, once listening. */
  get address(): AddressInfo | undefined {
    return (this.server.address() as AddressInfo | null) ?? undefined;
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    for (const connection of this.connections) connection.destroy();
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
  }

  private accept(socket: Socket): void {
    socket.on('error', (err) => this.log.debug({ err }, 'status connection error'));
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    if (this.connections.size >= this.maxConnections) {
      const answer = errorAnswer('synch', 'STATUS_BUSY', 'Busy', true);
      this.count(answer);
      this.log.warn({ max: this.maxConnections }, 'too many status connections, one turned away');
      socket.end(answer.text);
      socket.resume();
      setTimeout(() => socket.destroy(), this.timeoutMs).unref();
      return;
    }
    const limits = { maxLineBytes: this.maxLineBytes, timeoutMs: this.timeoutMs };
    const connection = new StatusConnection(socket, this.ctx, limits, (answer) => this.count(answer));
    this.connections.add(connection);
    socket.on('close', () => this.connections.delete(connection));
  }

  private count(answer: Answer): void {
    this.requests.inc({ protocol: answer.protocol, result: answer.result });
    if (answer.result !== 'ok')
      this.log.debug({ protocol: answer.protocol, result: answer.result }, 'request refused');
  }
}

function positive(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new StatusError('STATUS_OPTIONS', `${name} must be a positive integer, got ${value}`);
  }
  return value;
}
