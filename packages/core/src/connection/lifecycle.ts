import { sleep } from '../abort.js';
import { Backoff } from '../backoff.js';
import type { ErrorReporter } from '../error-reporter.js';
import type { Logger } from '../logger.js';
import { MetricsFactory, type MetricsOptions } from '../metrics.js';
import { retry } from '../retry.js';
import { type KeepaliveOptions, LivenessMonitor, resolveKeepalive } from './liveness.js';
import { type ReconnectOptions, resolveReconnect } from './reconnect.js';

/**
 * Where a client is: `idle` (not connected: new, a failed `connect()`, or a lost connection without
 * reconnection), `connecting`, `connected` (authenticated, accepting commands), `reconnecting`, `closed`
 * (by `close()`, or reconnection gave up: final).
 */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** What `reconnecting` reports before each wait. */
export interface ReconnectingInfo {
  /** The connection attempt that follows the wait, from 1. */
  attempt: number;
  delayMs: number;
  /** Why the previous attempt failed, or (before the first) why the connection was lost. */
  error: unknown;
}

/** The events every pbxkit protocol client emits about its connection. */
export interface ConnectionEvents<Info extends { reconnected: boolean } = { reconnected: boolean }> {
  /** Every change of `state`. */
  state: (state: ConnectionState, previous: ConnectionState) => void;
  /** Connected and authenticated, the first time and after each reconnection. */
  connected: (info: Info) => void;
  /** An established connection ended (lost, or by `close()`: `err` undefined); what waited was rejected. */
  disconnected: (err: Error | undefined) => void;
  /** A reconnection attempt follows after `delayMs`. */
  reconnecting: (info: ReconnectingInfo) => void;
  /** A failure with no caller to reject it: reconnection gave up, a listener threw, ... */
  error: (err: Error) => void;
  /** The client is closed for good (`close()` finished, or reconnection gave up). */
  closed: () => void;
}

/** The connection options every pbxkit protocol client takes. */
export interface ConnectionOptions extends MetricsOptions {
  /**
   * Reconnection after an established connection dropped (never after `close()`, nor after a failed first
   * `connect()`): `true` (default) with `{ minMs: 250, maxMs: 30 000, factor: 2, maxAttempts: Infinity }`,
   * `false`, or some of those. Each reconnection authenticates again and restores what the client had set up.
   * Refused credentials are never retried.
   */
  reconnect?: boolean | ReconnectOptions;
  /**
   * Liveness check: `true` (default) with `{ intervalMs: 30 000, timeoutMs: 10 000 }`, `false`, or some of
   * those. A connection silent for `intervalMs` that owes no reply gets a probe; nothing back within
   * `timeoutMs` drops it (and reconnects). See `LivenessMonitor`.
   */
  keepalive?: boolean | KeepaliveOptions;
}

/** The protocol side of a {@link ConnectionLifecycle}: how to open, probe and end one connection. */
export interface ConnectionDriver<C, Info extends { reconnected: boolean }> {
  /** Opens and authenticates a connection (after a loss, also restores the client's settings on it). */
  open(reconnected: boolean, signal: AbortSignal): Promise<C>;
  /** What `connected` carries besides `reconnected`. */
  info(connection: C): Omit<Info, 'reconnected'>;
  /** Ends a connection gracefully (`exit`, `Logoff`) and resolves once its socket is closed. */
  shutdown(connection: C): Promise<void>;
  /** Closes a connection at once, with `err` as the reason its owner reports. */
  destroy(connection: C, err: Error): void;
  /** A failure no retry can fix (refused credentials). */
  isFatal(err: unknown): boolean;
  /** The server owes a reply to a command not yet timed out (see `LivenessHooks.busy`). */
  busy(connection: C): boolean;
  /** Sends the keepalive probe. */
  probe(connection: C): void;
  /** The error a silent connection is dropped with (the protocol's timeout error). */
  silenceError(silentMs: number): Error;
  /** The error `connect()` rejects with on a closed client (the protocol's connection error). */
  closedError(message: string): Error;
  /** Emits a lifecycle event on the client. */
  emit<K extends keyof ConnectionEvents<Info>>(
    event: K,
    ...args: Parameters<ConnectionEvents<Info>[K]>
  ): void;
  /** Reconnection gave up with `err`: the client reports it (its `emitError`). */
  gaveUp(err: Error): void;
  /** The client reached `closed`: end event streams and the like. */
  ended(): void;
}

/** Options of {@link ConnectionLifecycle}. */
export interface ConnectionLifecycleOptions extends ConnectionOptions {
  /** The package, for the `pbxkit_<pkg>_reconnects_total` and `pbxkit_<pkg>_connection_up` series. */
  pkg: string;
  logger: Logger;
  /** Where failed reconnection attempts are logged (warn) and counted. */
  errors: ErrorReporter;
}

/**
 * The connection state machine shared by the ESL and AMI clients: `connect()` (one attempt shared by
 * concurrent callers; during a reconnection, waits for it), loss → `disconnected` → reconnection with
 * backoff (core `retry`), keepalive, `close()`, and their events and metrics. The protocol plugs in through
 * a {@link ConnectionDriver}; the client reports each loss with {@link lost} and each chunk received with
 * {@link activity}.
 */
export class ConnectionLifecycle<C, Info extends { reconnected: boolean } = { reconnected: boolean }> {
  private currentState: ConnectionState = 'idle';
  private current: C | undefined;
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly stop = new AbortController();
  private readonly waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private readonly reconnect;
  private readonly monitor: LivenessMonitor | undefined;
  private readonly reconnects;
  private readonly up;

  constructor(
    private readonly driver: ConnectionDriver<C, Info>,
    private readonly options: ConnectionLifecycleOptions,
  ) {
    this.reconnect = resolveReconnect(options.reconnect);
    const keepalive = resolveKeepalive(options.keepalive);
    this.monitor = keepalive
      ? new LivenessMonitor(keepalive, {
          busy: () => this.current !== undefined && driver.busy(this.current),
          probe: () => {
            if (this.current !== undefined) driver.probe(this.current);
          },
          dead: (silentMs) => {
            const connection = this.current;
            if (connection === undefined) return;
            const err = driver.silenceError(silentMs);
            options.logger.warn({ err, silentMs }, 'keepalive: no answer, dropping the connection');
            driver.destroy(connection, err);
          },
        })
      : undefined;
    const factory = new MetricsFactory(options.pkg, options.registry);
    this.reconnects = factory.counter({
      what: 'reconnects',
      unit: 'total',
      help: 'Successful reconnections after a lost connection',
    });
    this.up = factory.gauge({ what: 'connection', unit: 'up', help: '1 while connected and authenticated' });
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The connected connection, if any. */
  get connection(): C | undefined {
    return this.current;
  }

  /** Bytes arrived on `connection` (the keepalive counts them). One flag write: call it per chunk. */
  activity(): void {
    this.monitor?.activity();
  }

  /** Connects and authenticates; see {@link ConnectionEvents} for what follows. */
  connect(): Promise<void> {
    switch (this.currentState) {
      case 'connected':
        return Promise.resolve();
      case 'closed':
        return Promise.reject(this.driver.closedError('this client was closed; create a new one'));
      case 'reconnecting':
        return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
    }
    if (this.connecting) return this.connecting;
    this.setState('connecting');
    this.connecting = this.driver.open(false, this.stop.signal).then(
      (connection) => {
        this.connecting = undefined;
        if (this.isClosed()) {
          const err = this.driver.closedError('the client was closed while connecting');
          this.driver.destroy(connection, err);
          throw err;
        }
        this.attach(connection, false);
      },
      (err: unknown) => {
        this.connecting = undefined;
        if (!this.isClosed()) this.setState('idle');
        throw err;
      },
    );
    return this.connecting;
  }

  /** The client's connection closed (any reason): reconnects or goes idle, unless the client is closing. */
  lost(connection: C, err: Error | undefined): void {
    if (connection !== this.current) return;
    this.current = undefined;
    this.monitor?.stop();
    this.up.set(0);
    this.driver.emit('disconnected', ...([err] as Parameters<ConnectionEvents<Info>['disconnected']>));
    if (this.isClosed()) return;
    this.options.logger.warn({ err }, 'connection lost');
    if (this.reconnect) void this.reconnectLoop(err);
    else this.setState('idle');
  }

  /** Stops reconnecting and the keepalive, ends the connection gracefully, then emits `closed`. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.setState('closed');
    this.stop.abort();
    this.monitor?.stop();
    const connection = this.current;
    if (connection !== undefined) await this.driver.shutdown(connection);
    this.finish();
  }

  private finish(): void {
    const err = this.driver.closedError('the client was closed');
    for (const waiter of this.waiters.splice(0)) waiter.reject(err);
    this.driver.ended();
    this.driver.emit('closed', ...([] as unknown as Parameters<ConnectionEvents<Info>['closed']>));
  }

  private attach(connection: C, reconnected: boolean): void {
    this.current = connection;
    this.up.set(1);
    if (reconnected) this.reconnects.inc();
    this.setState('connected');
    this.monitor?.start();
    this.options.logger.info({ reconnected }, reconnected ? 'reconnected' : 'connected');
    const info = { ...this.driver.info(connection), reconnected } as Info;
    this.driver.emit('connected', ...([info] as Parameters<ConnectionEvents<Info>['connected']>));
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  private async reconnectLoop(cause: Error | undefined): Promise<void> {
    const settings = this.reconnect as NonNullable<typeof this.reconnect>;
    const signal = this.stop.signal;
    this.setState('reconnecting');
    const backoff = new Backoff(settings);
    const announce = (attempt: number, delayMs: number, error: unknown): void =>
      this.driver.emit(
        'reconnecting',
        ...([{ attempt, delayMs, error }] as Parameters<ConnectionEvents<Info>['reconnecting']>),
      );
    try {
      // A first wait too, so that clients which lost the same server do not all come back at once.
      const first = backoff.next();
      announce(1, first, cause);
      await sleep(first, signal);
      const connection = await retry((_attempt, s) => this.driver.open(true, s as AbortSignal), {
        backoff,
        maxAttempts: settings.maxAttempts,
        signal,
        shouldRetry: (err) => !signal.aborted && !this.driver.isFatal(err),
        onRetry: (err, attempt, delayMs) => {
          this.options.errors.report(err, { msg: 'reconnection failed', level: 'warn', attempt, delayMs });
          announce(attempt + 1, delayMs, err);
        },
      });
      if (this.isClosed()) {
        this.driver.destroy(connection, this.driver.closedError('the client was closed'));
        return;
      }
      this.attach(connection, true);
    } catch (err) {
      if (this.isClosed()) return;
      this.setState('closed');
      this.stop.abort();
      this.driver.gaveUp(err as Error);
      this.finish();
    }
  }

  // A method, not an inline comparison: the state changes across awaits, which narrowing cannot see.
  private isClosed(): boolean {
    return this.currentState === 'closed';
  }

  private setState(state: ConnectionState): void {
    const previous = this.currentState;
    if (previous === state) return;
    this.currentState = state;
    this.driver.emit('state', ...([state, previous] as Parameters<ConnectionEvents<Info>['state']>));
  }
}
