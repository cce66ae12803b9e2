import { connect as netConnect } from 'node:net';
import type { Counter, Gauge, Registry } from '@pbxkit/core';
import {
  BoundedAsyncQueue,
  type BoundedAsyncQueueOptions,
  ErrorReporter,
  type Logger,
  MetricsFactory,
  resolveLogger,
  retry,
} from '@pbxkit/core';
import { createCommandMetrics, type EslCommandEvents, EslCommandSet } from './commands.js';
import { EslConnection } from './connection.js';
import { EslAccessDeniedError, EslAuthError, EslConnectionError, EslTimeoutError } from './errors.js';
import type { EslEvent, EslEventFormat } from './protocol/event.js';
import type { EslFrame } from './protocol/frame.js';

/** Options of {@link EslClient}. */
export interface EslClientOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 8021. */
  port?: number;
  /** `event_socket.conf.xml` password (`auth`), or with `user` the user's `esl-password` (`userauth`). */
  password: string;
  /** `user@domain` for `userauth` instead of `auth`. */
  user?: string;
  /** TCP connect plus authentication, in ms. Default 5 000. */
  connectTimeoutMs?: number;
  /** Default timeout of each command, in ms. Default 10 000. */
  commandTimeoutMs?: number;
  /** Default wait for a `bgapi` job's result, in ms. Default 300 000. */
  bgapiTimeoutMs?: number;
  /**
   * Reconnection after the connection drops (not after `close()`): exponential backoff with full jitter; on
   * success the client authenticates again and re-applies subscriptions, filters, log level and `myevents`.
   * Default `{ minMs: 250, maxMs: 30_000, maxAttempts: Infinity }`; `false` disables it.
   */
  reconnect?: false | { minMs?: number; maxMs?: number; factor?: number; maxAttempts?: number };
  /**
   * Liveness check: every `intervalMs` an `api status` must answer within `timeoutMs`, else the connection is
   * dropped (and, with `reconnect`, re-made). Catches half-open TCP connections. Off by default.
   */
  watchdog?: { intervalMs?: number; timeoutMs?: number };
  /** Largest frame accepted (see {@link EslParserOptions.maxFrameBytes}). */
  maxFrameBytes?: number;
  logger?: Logger;
  /** prom-client registry for the `pbxkit_esl_*` metrics. */
  registry?: Registry;
}

/** Lifecycle of an {@link EslClient}. */
export type EslClientState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** A `log/data` frame after `log <level>`. */
export interface EslLogLine {
  level: number;
  channel: string | undefined;
  file: string | undefined;
  func: string | undefined;
  line: number | undefined;
  userData: string | undefined;
  text: string;
}

/** Events of {@link EslClient}. */
export interface EslClientEvents extends EslCommandEvents {
  /** Every change of {@link EslClient.state}. */
  state: (state: EslClientState, previous: EslClientState) => void;
  /** Connected and authenticated (first time and after each reconnection). */
  connected: () => void;
  /** The connection dropped; pending commands and jobs were rejected with {@link EslConnectionError}. */
  disconnected: (err: Error | undefined) => void;
  /** A reconnection attempt failed; another follows after `delayMs`. */
  reconnecting: (attempt: number, delayMs: number, err: unknown) => void;
  /** Reconnection gave up (attempts exhausted or credentials refused); the client is closed. */
  error: (err: Error) => void;
  /** A log line, after `log(level)`. */
  log: (line: EslLogLine) => void;
  /** `text/disconnect-notice` from FreeSWITCH. */
  disconnectNotice: (headers: Record<string, string>) => void;
}

interface ClientMetrics {
  reconnects: Counter<string>;
  up: Gauge<string>;
}

/**
 * Inbound event socket client: connects to FreeSWITCH (`mod_event_socket`, port 8021), authenticates, and
 * offers every command as a promise, events as listeners or an async iterator, reconnection with backoff, a
 * watchdog and metrics.
 *
 * @example
 * ```ts
 * const client = new EslClient({ host: '127.0.0.1', port: 8021, password: 'ClueCon' });
 * await client.connect();
 * console.log(await client.api('status'));
 * await client.subscribe(['CHANNEL_ANSWER', 'CHANNEL_HANGUP_COMPLETE']);
 * client.on('event', (e) => console.log(e.name, e.headers['Unique-ID']));
 * ```
 */
export class EslClient extends EslCommandSet<EslClientEvents> {
  readonly host: string;
  readonly port: number;
  private readonly options: EslClientOptions;
  private readonly log_: Logger;
  private readonly errors: ErrorReporter;
  private conn: EslConnection | undefined;
  private currentState: EslClientState = 'idle';
  private closing = false;
  private readonly stopSignal = new AbortController();
  private watchdogTimer: NodeJS.Timeout | undefined;
  private readonly queues = new Set<BoundedAsyncQueue<EslEvent>>();
  private readonly clientMetrics: ClientMetrics;

  // What the client re-applies after a reconnection.
  private format: EslEventFormat = 'plain';
  private readonly subscribed = new Set<string>();
  private readonly subscribedCustom = new Set<string>();
  private readonly filters: Array<[string, string]> = [];
  private logLevel: string | undefined;
  private readonly myeventsUuids = new Set<string>();
  private backgroundJobSubscription: Promise<void> | undefined;

  constructor(options: EslClientOptions) {
    super();
    this.options = options;
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 8021;
    this.bgapiTimeoutMs = options.bgapiTimeoutMs ?? 300_000;
    this.log_ = resolveLogger(options.logger, { component: 'esl-client', host: this.host, port: this.port });
    this.errors = new ErrorReporter('esl', 'client', { logger: this.log_, registry: options.registry });
    const factory = new MetricsFactory('esl', options.registry);
    this.metrics = createCommandMetrics(factory);
    this.clientMetrics = {
      reconnects: factory.counter({ what: 'reconnects', unit: 'total', help: 'Successful reconnections' }),
      up: factory.gauge({ what: 'connection', unit: 'up', help: '1 while connected and authenticated' }),
    };
  }

  /** Where the client is in its lifecycle. */
  get state(): EslClientState {
    return this.currentState;
  }

  /**
   * Connects and authenticates.
   * @throws {EslAuthError} wrong password (`-ERR invalid`): never retried.
   * @throws {EslAccessDeniedError} FreeSWITCH's ACL refused this address.
   * @throws {EslTimeoutError} no connection and authentication within `connectTimeoutMs`.
   * @throws {EslConnectionError} the server could not be reached or closed the connection.
   */
  async connect(): Promise<void> {
    if (this.currentState === 'connected') return;
    if (this.currentState === 'closed')
      throw new EslConnectionError('this client was closed; create a new one');
    this.setState('connecting');
    try {
      this.attach(await this.open());
    } catch (err) {
      this.setState('idle');
      throw err;
    }
    this.setState('connected');
    this.startWatchdog();
    this.emit('connected');
  }

  /**
   * Subscribes to events (`event <format> <names>`): names such as `CHANNEL_ANSWER`, `ALL`, or `CUSTOM`
   * followed by subclasses (`['CUSTOM', 'sofia::register']`). The format applies to the whole connection.
   */
  async subscribe(events: string | string[], options: { format?: EslEventFormat } = {}): Promise<void> {
    const names = eventNames(events);
    const format = options.format ?? this.format;
    await this.sendRaw(`event ${format} ${names.join(' ')}`);
    this.format = format;
    let custom = false;
    for (const name of names) {
      if (custom && name !== name.toUpperCase()) this.subscribedCustom.add(name);
      else this.subscribed.add(name);
      if (name === 'CUSTOM') custom = true;
    }
  }

  /** `nixevent <names>`: stops some subscriptions. */
  async nixevent(events: string | string[]): Promise<void> {
    const names = eventNames(events);
    await this.sendRaw(`nixevent ${names.join(' ')}`);
    for (const name of names) {
      this.subscribed.delete(name);
      this.subscribedCustom.delete(name);
    }
  }

  /** `noevents`: stops every subscription. */
  async noevents(): Promise<void> {
    await this.sendRaw('noevents');
    this.subscribed.clear();
    this.subscribedCustom.clear();
    this.backgroundJobSubscription = undefined;
  }

  /** `filter <header> <value>`: only events whose header has this value pass (filters add up). */
  async filter(header: string, value: string): Promise<void> {
    await this.sendRaw(`filter ${header} ${value}`);
    this.filters.push([header, value]);
  }

  /** `filter delete <header> [<value>]`. */
  async filterDelete(header: string, value?: string): Promise<void> {
    await this.sendRaw(value === undefined ? `filter delete ${header}` : `filter delete ${header} ${value}`);
    for (let i = this.filters.length - 1; i >= 0; i--) {
      const [h, v] = this.filters[i] as [string, string];
      if (header === 'all' || (h === header && (value === undefined || v === value)))
        this.filters.splice(i, 1);
    }
  }

  /** `myevents <uuid> [format]`: receive the events of one channel as an outbound socket would. */
  async myevents(uuid: string, format?: EslEventFormat): Promise<void> {
    await this.sendRaw(format ? `myevents ${uuid} ${format}` : `myevents ${uuid}`);
    this.myeventsUuids.add(uuid);
  }

  override async log(level: Parameters<EslCommandSet<EslClientEvents>['log']>[0]): Promise<void> {
    await super.log(level);
    this.logLevel = String(level);
  }

  override async nolog(): Promise<void> {
    await super.nolog();
    this.logLevel = undefined;
  }

  /**
   * Events as an async iterator with a bounded queue. When the consumer falls `capacity` events behind, the
   * overflow policy applies (default `drop-oldest`; `error` ends the iteration with `QueueOverflowError`).
   * The iteration ends when the client is closed; it carries on across reconnections.
   *
   * @example
   * ```ts
   * for await (const event of client.events({ capacity: 5000 })) console.log(event.name);
   * ```
   */
  events(options: BoundedAsyncQueueOptions = {}): AsyncIterableIterator<EslEvent> {
    const queue = new BoundedAsyncQueue<EslEvent>(options);
    if (this.currentState === 'closed') queue.end();
    else this.queues.add(queue);
    return queue;
  }

  /** `exit`: FreeSWITCH closes the connection (the client then reconnects unless closed: prefer `close()`). */
  async exit(): Promise<void> {
    await this.sendRaw('exit');
  }

  /**
   * Closes gracefully: stops reconnecting and the watchdog, says `exit`, waits for FreeSWITCH to close the
   * socket (at most 2 s), rejects whatever still waits, and ends the event iterators.
   */
  async close(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.closing = true;
    this.stopSignal.abort();
    this.stopWatchdog();
    const conn = this.conn;
    if (conn?.open) {
      const forced = setTimeout(() => conn.destroy(), 2000);
      await conn.send('exit', undefined, undefined, 2000).catch(() => undefined);
      await conn.end();
      clearTimeout(forced);
    }
    this.rejectWaiters(new EslConnectionError('the client was closed'));
    for (const queue of this.queues) queue.end();
    this.queues.clear();
    this.setState('closed');
  }

  protected liveConnection(): EslConnection {
    const conn = this.conn;
    if (!conn?.open || this.currentState !== 'connected') {
      throw new EslConnectionError(`not connected to FreeSWITCH (${this.currentState})`);
    }
    return conn;
  }

  protected ensureBackgroundJobEvents(): Promise<void> {
    if (this.subscribed.has('ALL') || this.subscribed.has('BACKGROUND_JOB')) return Promise.resolve();
    this.backgroundJobSubscription ??= this.subscribe(['BACKGROUND_JOB']).catch((err: unknown) => {
      this.backgroundJobSubscription = undefined;
      throw err;
    });
    return this.backgroundJobSubscription;
  }

  protected waitsForExecuteByDefault(): boolean {
    return (
      this.subscribed.has('ALL') ||
      this.subscribed.has('CHANNEL_EXECUTE_COMPLETE') ||
      this.myeventsUuids.size > 0
    );
  }

  protected override handleEvent(event: EslEvent): void {
    super.handleEvent(event);
    for (const queue of this.queues) {
      if (queue.closed) this.queues.delete(queue);
      else queue.push(event);
    }
  }

  private open(): Promise<EslConnection> {
    const timeoutMs = this.options.connectTimeoutMs ?? 5000;
    return new Promise<EslConnection>((resolve, reject) => {
      const socket = netConnect({ host: this.host, port: this.port });
      const conn = new EslConnection(socket, {
        maxFrameBytes: this.options.maxFrameBytes,
        commandTimeoutMs: this.options.commandTimeoutMs ?? 10_000,
        logger: this.log_,
      });
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () =>
          fail(
            new EslTimeoutError(
              `no authenticated connection to ${this.host}:${this.port} within ${timeoutMs} ms`,
              timeoutMs,
            ),
          ),
        timeoutMs,
      );
      socket.once('error', (err) =>
        fail(
          new EslConnectionError(
            `cannot connect to FreeSWITCH at ${this.host}:${this.port}: ${err.message}`,
            { cause: err },
          ),
        ),
      );
      conn.once('rudeRejection', () => fail(new EslAccessDeniedError()));
      conn.once('close', (err) =>
        fail(
          err ??
            new EslConnectionError(
              `FreeSWITCH at ${this.host}:${this.port} closed the connection before authentication`,
            ),
        ),
      );
      conn.once('authRequest', () => {
        const { user, password } = this.options;
        const command = user ? `userauth ${user}:${password}` : `auth ${password}`;
        conn.send(command, undefined, undefined, timeoutMs).then(
          (frame) => {
            const reply = frame.headers['Reply-Text'] ?? '';
            if (!reply.startsWith('+OK')) {
              fail(
                new EslAuthError(`FreeSWITCH rejected the ${user ? `user ${user}` : 'password'} (${reply})`),
              );
              return;
            }
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve(conn);
          },
          (err: Error) => fail(err),
        );
      });
    });
  }

  private attach(conn: EslConnection): void {
    this.conn = conn;
    this.clientMetrics.up.set(1);
    conn.on('event', (event) => this.handleEvent(event));
    conn.on('log', (frame) => this.emit('log', toLogLine(frame)));
    conn.on('disconnectNotice', (frame) => this.emit('disconnectNotice', frame.headers));
    conn.on('close', (err) => this.onConnectionLost(conn, err));
  }

  private onConnectionLost(conn: EslConnection, err: Error | undefined): void {
    if (conn !== this.conn) return;
    this.clientMetrics.up.set(0);
    this.rejectWaiters(err ?? new EslConnectionError('the event socket connection closed'));
    if (this.closing) return;
    this.log_.warn({ err }, 'event socket connection lost');
    this.stopWatchdog();
    this.emit('disconnected', err);
    if (this.options.reconnect === false) {
      this.setState('closed');
      for (const queue of this.queues) queue.end();
      return;
    }
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    this.setState('reconnecting');
    const settings = this.options.reconnect || {};
    try {
      const conn = await retry(
        async () => {
          const fresh = await this.open();
          try {
            await this.reapply(fresh);
          } catch (err) {
            fresh.destroy();
            throw err;
          }
          return fresh;
        },
        {
          minMs: settings.minMs ?? 250,
          maxMs: settings.maxMs ?? 30_000,
          factor: settings.factor,
          maxAttempts: settings.maxAttempts ?? Number.POSITIVE_INFINITY,
          signal: this.stopSignal.signal,
          shouldRetry: (err) => !(err instanceof EslAuthError),
          onRetry: (err, attempt, delayMs) => {
            this.log_.warn({ err, attempt, delayMs }, 'reconnection failed, retrying');
            this.emit('reconnecting', attempt, delayMs, err);
          },
        },
      );
      if (this.closing) {
        conn.destroy();
        return;
      }
      this.attach(conn);
      this.clientMetrics.reconnects.inc();
      this.setState('connected');
      this.startWatchdog();
      this.log_.info('reconnected');
      this.emit('connected');
    } catch (err) {
      if (this.closing) return;
      this.setState('closed');
      for (const queue of this.queues) queue.end(err);
      this.emitError(this.errors, 'reconnection gave up', err as Error);
    }
  }

  /** Re-applies subscriptions, filters, log level and myevents on a fresh connection. */
  private async reapply(conn: EslConnection): Promise<void> {
    const commands: string[] = [];
    if (this.subscribed.size) {
      const names = [...this.subscribed].filter((n) => n !== 'CUSTOM');
      const custom = this.subscribed.has('CUSTOM') ? ['CUSTOM', ...this.subscribedCustom] : [];
      commands.push(`event ${this.format} ${[...names, ...custom].join(' ')}`);
    }
    for (const [header, value] of this.filters) commands.push(`filter ${header} ${value}`);
    if (this.logLevel !== undefined) commands.push(`log ${this.logLevel}`);
    for (const uuid of this.myeventsUuids) commands.push(`myevents ${uuid}`);
    // Pipelined: written at once, answered in order.
    const replies = await Promise.all(commands.map((c) => conn.send(c)));
    replies.forEach((frame, i) => {
      const reply = frame.headers['Reply-Text'] ?? '';
      if (reply.startsWith('-ERR'))
        this.log_.warn({ command: commands[i], reply }, 're-applying state failed');
    });
  }

  private startWatchdog(): void {
    const settings = this.options.watchdog;
    if (!settings) return;
    const intervalMs = settings.intervalMs ?? 15_000;
    const timeoutMs = settings.timeoutMs ?? 5_000;
    this.stopWatchdog();
    this.watchdogTimer = setInterval(() => {
      const conn = this.conn;
      if (!conn?.open) return;
      conn.send('api status', undefined, undefined, timeoutMs).catch((err: unknown) => {
        if (err instanceof EslTimeoutError && conn === this.conn) {
          this.log_.warn({ timeoutMs }, 'watchdog: FreeSWITCH did not answer, dropping the connection');
          conn.destroy(new EslConnectionError(`watchdog: no answer to api status within ${timeoutMs} ms`));
        }
      });
    }, intervalMs);
    this.watchdogTimer.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.watchdogTimer = undefined;
  }

  private setState(state: EslClientState): void {
    const previous = this.currentState;
    if (previous === state) return;
    this.currentState = state;
    this.emit('state', state, previous);
  }
}

function toLogLine(frame: EslFrame): EslLogLine {
  const h = frame.headers;
  return {
    level: Number(h['Log-Level'] ?? Number.NaN),
    channel: h['Text-Channel'],
    file: h['Log-File'],
    func: h['Log-Func'],
    line: h['Log-Line'] === undefined ? undefined : Number(h['Log-Line']),
    userData: h['User-Data'] || undefined,
    text: frame.bodyText,
  };
}

/** Event names given as a list or as one space-separated string. */
function eventNames(events: string | string[]): string[] {
  return typeof events === 'string' ? events.split(/\s+/).filter(Boolean) : events;
}
