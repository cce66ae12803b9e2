import {
  BoundedAsyncQueue,
  type BoundedAsyncQueueOptions,
  type ConnectionDriver,
  type ConnectionEvents,
  ConnectionLifecycle,
  type ConnectionOptions,
  type ConnectionState,
  DEFAULT_KEEPALIVE,
  ErrorReporter,
  type KeepaliveOptions,
  type Logger,
  MetricsFactory,
  resolveKeepalive,
  resolveLogger,
} from '@pbxkit/core';
import { createCommandMetrics, type EslCommandEvents, EslCommandSet } from './commands.js';
import type { EslConnection } from './connection.js';
import { EslAuthError, EslConnectionError, EslTimeoutError } from './errors.js';
import { openInbound } from './inbound-open.js';
import type { EslEvent, EslEventFormat } from './protocol/event.js';
import type { EslFrame } from './protocol/frame.js';

/** Options of {@link EslClient}; `reconnect`, `keepalive` and `registry` are common to every pbxkit client. */
export interface EslClientOptions extends ConnectionOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 8021. */
  port?: number;
  /** `event_socket.conf.xml` password (`auth`), or with `user` the user's `esl-password` (`userauth`). */
  password: string;
  /** `user@domain` for `userauth` instead of `auth`. */
  user?: string;
  /** TCP connect plus authentication, in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Default timeout of each command, in ms. Default 10 000. */
  commandTimeoutMs?: number;
  /** Default wait for a `bgapi` job's result, in ms. Default 300 000. */
  bgapiTimeoutMs?: number;
  /**
   * @deprecated Use `keepalive` (the same check, on by default). Kept for now: when `keepalive` is not
   * given, `watchdog` sets it, with its old defaults (15 000 / 5 000 ms).
   */
  watchdog?: { intervalMs?: number; timeoutMs?: number };
  /** Largest frame accepted (see {@link EslParserOptions.maxFrameBytes}). */
  maxFrameBytes?: number;
  logger?: Logger;
}

/** Lifecycle of an {@link EslClient}: the state every pbxkit client has. */
export type EslClientState = ConnectionState;

/** What `connected` carries. */
export interface EslConnectedInfo {
  /** True after a lost connection was restored. */
  reconnected: boolean;
}

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

/**
 * Events of {@link EslClient}: the connection events every pbxkit client has (`state`, `connected`,
 * `disconnected`, `reconnecting`, `error`, `closed`; see `ConnectionEvents`), plus FreeSWITCH's own.
 */
export interface EslClientEvents extends EslCommandEvents, ConnectionEvents<EslConnectedInfo> {
  /** A log line, after `log(level)`. */
  log: (line: EslLogLine) => void;
  /** `text/disconnect-notice` from FreeSWITCH. */
  disconnectNotice: (headers: Record<string, string>) => void;
}

/**
 * Inbound event socket client: connects to FreeSWITCH (`mod_event_socket`, port 8021), authenticates, and
 * offers every command as a promise, events as listeners or an async iterator, reconnection with backoff, a
 * keepalive and metrics (the connection shape every pbxkit client has: docs/clients.md).
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
  private readonly lifecycle: ConnectionLifecycle<EslConnection, EslConnectedInfo>;
  private readonly probeTimeoutMs: number;
  private readonly queues = new Set<BoundedAsyncQueue<EslEvent>>();

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
    this.metrics = createCommandMetrics(new MetricsFactory('esl', options.registry));
    const keepalive = options.keepalive ?? watchdogAsKeepalive(options.watchdog);
    this.probeTimeoutMs = resolveKeepalive(keepalive)?.timeoutMs ?? DEFAULT_KEEPALIVE.timeoutMs;
    this.lifecycle = new ConnectionLifecycle(this.driver(), {
      pkg: 'esl',
      reconnect: options.reconnect,
      keepalive,
      registry: options.registry,
      logger: this.log_,
      errors: this.errors,
    });
  }

  /** Where the client is in its lifecycle. */
  get state(): EslClientState {
    return this.lifecycle.state;
  }

  /**
   * Connects and authenticates. Concurrent calls share one attempt; during a reconnection it waits for it.
   * A failed first `connect()` is final (the client stays `idle`; call it again to retry).
   * @throws {EslAuthError} wrong password (`-ERR invalid`): never retried.
   * @throws {EslAccessDeniedError} FreeSWITCH's ACL refused this address.
   * @throws {EslTimeoutError} no connection and authentication within `connectTimeoutMs`.
   * @throws {EslConnectionError} the server could not be reached or closed the connection.
   */
  connect(): Promise<void> {
    return this.lifecycle.connect();
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
    if (this.lifecycle.state === 'closed') queue.end();
    else this.queues.add(queue);
    return queue;
  }

  /** `exit`: FreeSWITCH closes the connection (the client then reconnects unless closed: prefer `close()`). */
  async exit(): Promise<void> {
    await this.sendRaw('exit');
  }

  /**
   * Closes gracefully: stops reconnecting and the keepalive, says `exit`, waits for FreeSWITCH to close the
   * socket (at most 2 s), rejects whatever still waits, ends the event iterators, then emits `closed`.
   */
  close(): Promise<void> {
    return this.lifecycle.close();
  }

  protected liveConnection(): EslConnection {
    const conn = this.lifecycle.connection;
    if (!conn?.open || this.lifecycle.state !== 'connected') {
      throw new EslConnectionError(`not connected to FreeSWITCH (${this.lifecycle.state})`);
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

  /** The event socket side of the shared connection state machine. */
  private driver(): ConnectionDriver<EslConnection, EslConnectedInfo> {
    return {
      open: (reconnected, signal) => this.open(reconnected, signal),
      info: () => ({}),
      shutdown: async (conn) => {
        if (!conn.open) return;
        const forced = setTimeout(() => conn.destroy(), 2000);
        await conn.send('exit', undefined, undefined, 2000).catch(() => undefined);
        await conn.end();
        clearTimeout(forced);
      },
      destroy: (conn, err) => conn.destroy(err),
      isFatal: (err) => err instanceof EslAuthError,
      busy: (conn) => conn.owesReply(),
      probe: (conn) => {
        conn.send('api status', undefined, undefined, this.probeTimeoutMs).catch(() => undefined);
      },
      silenceError: (ms) =>
        new EslTimeoutError(`keepalive: nothing from FreeSWITCH within ${ms} ms of api status`, ms),
      closedError: (message) => new EslConnectionError(message),
      emit: (event, ...args) => {
        (this.emit as (event: string, ...rest: unknown[]) => boolean)(event, ...args);
      },
      gaveUp: (err) => {
        for (const queue of this.queues) queue.end(err);
        this.queues.clear();
        this.emitError(this.errors, 'reconnection gave up', err);
      },
      ended: () => {
        this.rejectWaiters(new EslConnectionError('the client was closed'));
        for (const queue of this.queues) queue.end();
        this.queues.clear();
      },
    };
  }

  /** Opens, authenticates and (after a loss) re-applies what this client had set up. */
  private async open(reconnected: boolean, signal: AbortSignal): Promise<EslConnection> {
    const lifecycle = this.lifecycle;
    const conn = await openInbound({
      host: this.host,
      port: this.port,
      user: this.options.user,
      password: this.options.password,
      timeoutMs: this.options.connectTimeoutMs ?? 10_000,
      connection: {
        maxFrameBytes: this.options.maxFrameBytes,
        commandTimeoutMs: this.options.commandTimeoutMs ?? 10_000,
        logger: this.log_,
        onData: () => lifecycle.activity(),
      },
      signal,
    });
    if (reconnected) {
      try {
        await this.reapply(conn);
      } catch (err) {
        conn.destroy();
        throw err;
      }
    }
    conn.on('event', (event) => this.handleEvent(event));
    conn.on('log', (frame) => this.emit('log', toLogLine(frame)));
    conn.on('disconnectNotice', (frame) => this.emit('disconnectNotice', frame.headers));
    conn.on('close', (err) => {
      if (conn === this.lifecycle.connection) {
        this.rejectWaiters(err ?? new EslConnectionError('the event socket connection closed'));
      }
      this.lifecycle.lost(conn, err);
    });
    return conn;
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
}

/** The deprecated `watchdog` option as `keepalive`, with its old defaults. */
function watchdogAsKeepalive(watchdog: EslClientOptions['watchdog']): KeepaliveOptions | undefined {
  if (!watchdog) return undefined;
  return { intervalMs: watchdog.intervalMs ?? 15_000, timeoutMs: watchdog.timeoutMs ?? 5_000 };
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
