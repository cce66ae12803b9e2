import { randomBytes } from 'node:crypto';
import {
  type ConnectionDriver,
  ConnectionLifecycle,
  DEFAULT_KEEPALIVE,
  ErrorReporter,
  type KeepaliveOptions,
  type Logger,
  resolveKeepalive,
  resolveLogger,
  TypedEmitter,
} from '@pbxkit/core';
import type { ConfFile } from '../config/conf-file.js';
import type { ConfigAction, ConfigUpdate } from '../config/update-actions.js';
import {
  AmiActionError,
  AmiAuthError,
  AmiConnectionError,
  AmiInvalidActionError,
  AmiTimeoutError,
} from '../errors.js';
import { commandOutput } from '../protocol/command-output.js';
import type { AmiEventName } from '../protocol/event-names.js';
import type { AmiMessage } from '../protocol/message.js';
import type { AmiBanner } from '../protocol/parser.js';
import { type AmiActionFields, serializeAction } from '../protocol/serialize.js';
import { AmiConnection } from './connection.js';
import { type AmiEventStreamOptions, EventHub } from './event-hub.js';
import { readConfig } from './get-config.js';
import { login } from './login.js';
import { AmiMetrics } from './metrics.js';
import type { AmiActionOptions, AmiClientOptions } from './options.js';
import { type AmiOriginateOptions, eventMaskText, eventsActionMask, maskHasCallEvents } from './originate.js';
import {
  type AmiListResult,
  type AmiOriginateResult,
  type PendingAction,
  PendingActions,
  type PendingKind,
} from './pending.js';
import { openSocket } from './transport.js';
import type { AmiClientEvents, AmiClientState, AmiConnectedInfo, AmiOriginateParams } from './types.js';
import { type UpdateConfigOptions, updateConfigActions } from './update-config.js';

/**
 * A typed Asterisk Manager Interface client.
 *
 * Each action gets a unique ActionID (`<client>-<connection>-<counter>`, never time-based), so any number can
 * be in flight and every response reaches its caller. Errors are typed: `AmiAuthError`, `AmiActionError`,
 * `AmiConnectionError`, `AmiTimeoutError`, `AmiProtocolError`.
 *
 * @example
 * ```ts
 * const ami = new AmiClient({ host: '127.0.0.1', username: 'admin', secret: 'amp111' });
 * await ami.connect();
 * ami.onEvent('Hangup', (e) => console.log(e.get('Channel'), e.get('Cause-txt')));
 * const version = await ami.command('core show version');
 * const { events: channels } = await ami.actionList({ Action: 'CoreShowChannels' });
 * await ami.close();
 * ```
 */
export class AmiClient extends TypedEmitter<AmiClientEvents> {
  /** A random id naming this client in ActionIDs and logs. */
  readonly clientId = randomBytes(4).toString('hex');
  private readonly options: AmiClientOptions;
  // The event mask asked for, as sent: the login's, then each `Events` action's; the next login uses it.
  private eventMask: string;
  private readonly log: Logger;
  private readonly errors: ErrorReporter;
  private readonly metrics: AmiMetrics;
  private readonly pending: PendingActions;
  private readonly hub = new EventHub();
  private readonly lifecycle: ConnectionLifecycle<AmiConnection, AmiConnectedInfo>;
  private readonly probeTimeoutMs: number;
  // The connection being logged in or in use (the lifecycle knows it only once logged in).
  private connection: AmiConnection | undefined;
  private connectionSeq = 0;
  private actionSeq = 0;
  private lastBanner: AmiBanner | undefined;

  constructor(options: AmiClientOptions) {
    super();
    this.options = options;
    this.eventMask = eventMaskText(options.events ?? 'on');
    this.log = resolveLogger(options.logger, { component: 'ami', client: this.clientId });
    this.errors = new ErrorReporter('ami', 'client', { logger: this.log, registry: options.registry });
    this.metrics = new AmiMetrics(options);
    this.pending = new PendingActions((action, result) => this.settled(action, result));
    const keepalive = options.keepalive ?? keepaliveMsAsKeepalive(options.keepaliveMs);
    this.probeTimeoutMs = resolveKeepalive(keepalive)?.timeoutMs ?? DEFAULT_KEEPALIVE.timeoutMs;
    this.lifecycle = new ConnectionLifecycle(this.driver(), {
      pkg: 'ami',
      reconnect: options.reconnect,
      keepalive,
      registry: options.registry,
      logger: this.log,
      errors: this.errors,
    });
  }

  /** Where the client is: `connected` means logged in and accepting actions. */
  get state(): AmiClientState {
    return this.lifecycle.state;
  }

  /** The host and port the client connects to, as configured. */
  get endpoint(): { host: string; port: number } {
    return { host: this.options.host, port: this.options.port ?? 5038 };
  }

  /** The banner of the current (or last) connection. */
  get banner(): AmiBanner | undefined {
    return this.lastBanner;
  }

  /** Actions written and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Opens the connection, reads the banner and logs in. Rejects with `AmiAuthError` as soon as Asterisk
   * refuses the login, `AmiConnectionError` when it cannot connect, `AmiTimeoutError` when it takes too long.
   * Concurrent calls share one attempt; during a reconnection it waits for it. Reconnection applies only to a
   * connection that was once established; a failed `connect()` is final (the client stays `idle`).
   */
  connect(): Promise<void> {
    return this.lifecycle.connect();
  }

  /**
   * Sends an action and resolves with its response. `Response: Error` rejects with `AmiActionError`
   * (its `message` is Asterisk's `Message:`); no answer in time rejects with `AmiTimeoutError`.
   */
  action(fields: AmiActionFields, options: AmiActionOptions = {}): Promise<AmiMessage> {
    const answer = this.send<AmiMessage>(fields, 'single', options.timeoutMs);
    const mask = eventsActionMask(fields);
    if (mask === undefined) return answer;
    // Asterisk changed this connection's event mask: keep track of it, whoever sent the action.
    return answer.then((response) => {
      this.eventMaskChanged(mask);
      return response;
    });
  }

  /**
   * Sends an action that answers with an event list (`CoreShowChannels`, `Status`, `SIPpeers`,
   * `PJSIPShowEndpoints`, `QueueStatus`...) and resolves once the `...Complete` event arrived, with every item.
   * The item count is checked against `ListItems`; a mismatch rejects with `AmiProtocolError`
   * (`AMI_LIST_MISMATCH`). The timeout covers the whole list.
   */
  actionList(fields: AmiActionFields, options: AmiActionOptions = {}): Promise<AmiListResult> {
    return this.send<AmiListResult>(fields, 'list', options.timeoutMs);
  }

  /**
   * Runs a CLI command and resolves with its output text (lines joined by `\n`, empty lines kept). A command
   * Asterisk reports as failed rejects with `AmiActionError` whose message is the output.
   */
  async command(cli: string, options: AmiActionOptions = {}): Promise<string> {
    try {
      return commandOutput(await this.action({ Action: 'Command', Command: cli }, options));
    } catch (err) {
      if (err instanceof AmiActionError && err.response.has('Output')) {
        throw new AmiActionError('Command', err.response, commandOutput(err.response));
      }
      throw err;
    }
  }

  /**
   * Places a call. With `Async: true` (the default) it resolves on the matching `OriginateResponse` event
   * with `{ response, event }`, and rejects with `AmiActionError` when the call fails (busy, no answer...).
   *
   * Asterisk sends `OriginateResponse` (class `call`) only to connections whose event mask holds `call`. On
   * a connection logged in with `events: 'off'` or without `call` (`['system']`), or after `setEvents` (or
   * an `Events` action) took call events away, the call is placed all the same and `originate` resolves on
   * `Response: Success` (`Originate successfully queued`) with `event: undefined`: the call was queued, its
   * outcome is not known here. `{ waitForEvent: false }` does the same on any connection (for a manager user
   * whose `read=` lacks `call`, which the client cannot see). `Async: false` resolves once Asterisk answers,
   * after the call was answered or failed, also with `event: undefined`.
   */
  originate(params: AmiOriginateParams, options: AmiOriginateOptions = {}): Promise<AmiOriginateResult> {
    const isAsync = params.Async ?? true;
    const ringMs = typeof params.Timeout === 'number' ? params.Timeout : 30_000;
    const timeoutMs = options.timeoutMs ?? Math.max(this.actionTimeoutMs, ringMs + 10_000);
    const fields: AmiActionFields = { ...params, Action: 'Originate', Async: isAsync };
    const awaitEvent = isAsync && options.waitForEvent !== false && maskHasCallEvents(this.eventMask);
    if (awaitEvent) return this.send<AmiOriginateResult>(fields, 'originate', timeoutMs);
    return this.send<AmiMessage>(fields, 'single', timeoutMs).then((response) => ({
      response,
      event: undefined,
    }));
  }

  /**
   * Reads a configuration file through `GetConfig` into a {@link ConfFile}: categories in order with their
   * template flag, inherited templates and lines (repeated keys kept, each split at its first `=`). Asterisk
   * lists template categories only when `filter` contains `TEMPLATES=include`, and shows the lines a
   * category inherits inside it, before its own: those are marked `inherited` (compared with the template's
   * lines, which are fetched with one more `GetConfig` per template when the answer did not include them),
   * so `toString()` writes only what the file holds. `GetConfigJSON` is not used: it emits duplicate JSON
   * keys and loses repeated lines. A missing file rejects with `AmiActionError` (`Config file not found`); a
   * missing category gives an empty file.
   */
  async getConfig(
    filename: string,
    options: AmiActionOptions & { category?: string; filter?: string } = {},
  ): Promise<ConfFile> {
    return readConfig((fields) => this.action(fields, options), filename, options);
  }

  /**
   * Applies changes with `UpdateConfig`, reading `srcFilename` and writing `dstFilename` (which must already
   * exist: see {@link AmiClient.createConfig}). `reload: true` reloads everything after the write; a module
   * name (`'chan_pjsip'`) reloads that module. Asterisk reads at most 128 headers per action, so a large
   * change set is sent as several `UpdateConfig`s, the later ones on `dstFilename`: each is atomic, the
   * whole is not. A refused change rejects with `AmiActionError` (`Given category does not exist`...).
   */
  async updateConfig(
    srcFilename: string,
    dstFilename: string,
    changes: ConfigUpdate | readonly ConfigAction[],
    options: AmiActionOptions & UpdateConfigOptions = {},
  ): Promise<void> {
    for (const action of updateConfigActions(srcFilename, dstFilename, changes, options)) {
      await this.action(action, options);
    }
  }

  /**
   * Creates an empty configuration file with `CreateConfig`, for `updateConfig`. Asterisk refuses a file that
   * exists (`AmiActionError`, `File exists`).
   */
  async createConfig(filename: string, options: AmiActionOptions = {}): Promise<void> {
    await this.action({ Action: 'CreateConfig', Filename: filename }, options);
  }

  /**
   * Changes which events Asterisk sends on this connection (`Action: Events`): `on`, `off`, or classes such
   * as `['call', 'agent']`. The choice is kept, so a reconnection logs in with it.
   */
  async setEvents(mask: 'on' | 'off' | readonly string[], options: AmiActionOptions = {}): Promise<void> {
    await this.action({ Action: 'Events', EventMask: eventMaskText(mask) }, options);
  }

  /**
   * Calls `listener` for every event named `name` (any case). Returns the function that unsubscribes. Known
   * names complete in editors; any other name is accepted.
   */
  onEvent(name: AmiEventName | (string & {}), listener: (event: AmiMessage) => void): () => void {
    return this.hub.on(name, listener);
  }

  /**
   * An async iterator of events with a bounded queue (see `BoundedAsyncQueue` for the overflow policies).
   * It ends when the client is closed; `break` out of the loop to unsubscribe.
   *
   * @example
   * ```ts
   * for await (const e of ami.events({ names: ['Newchannel', 'Hangup'], capacity: 1000 })) handle(e);
   * ```
   */
  events(options: AmiEventStreamOptions = {}): AsyncIterableIterator<AmiMessage> {
    return this.hub.stream(options);
  }

  /**
   * Logs off (waiting briefly for `Goodbye`), closes the socket, stops reconnecting, rejects pending actions
   * with `AmiConnectionError`, ends event streams, then emits `closed`. Safe to call more than once.
   */
  close(): Promise<void> {
    return this.lifecycle.close();
  }

  private eventMaskChanged(mask: string): void {
    this.eventMask = mask;
    if (!maskHasCallEvents(mask)) this.pending.releaseOriginates();
  }

  private get actionTimeoutMs(): number {
    return this.options.actionTimeoutMs ?? 10_000;
  }

  private nextActionId(): string {
    return `${this.clientId}-${this.connectionSeq}-${++this.actionSeq}`;
  }

  private send<T>(
    fields: AmiActionFields,
    kind: PendingKind,
    timeoutMs?: number,
    internal = false,
  ): Promise<T> {
    const connection = this.connection;
    if (!connection || connection.closed || (!internal && this.lifecycle.state !== 'connected')) {
      return Promise.reject(
        new AmiConnectionError(`cannot send ${fields.Action}: client is ${this.lifecycle.state}`),
      );
    }
    let id = this.nextActionId();
    const given = fields.ActionID;
    if (typeof given === 'string' && given.length > 0) {
      if (this.pending.has(given)) {
        return Promise.reject(new AmiInvalidActionError(`ActionID ${given} is already in flight`));
      }
      id = given;
    }
    let wire: string;
    try {
      wire = serializeAction(fields, id);
    } catch (err) {
      return Promise.reject(err);
    }
    const promise = this.pending.add<T>(id, fields.Action, kind, timeoutMs ?? this.actionTimeoutMs);
    connection.write(wire);
    return promise;
  }

  private settled(action: PendingAction, result: string): void {
    this.metrics.action(action.action, result, (performance.now() - action.startedAt) / 1000);
  }

  /** Opens the socket, reads the banner and logs in (with the event mask last chosen). */
  private async open(signal: AbortSignal): Promise<AmiConnection> {
    const { host, port = 5038, tls } = this.options;
    const connectTimeoutMs = this.options.connectTimeoutMs ?? 10_000;
    const socket = await openSocket({ host, port, tls, timeoutMs: connectTimeoutMs });
    if (signal.aborted) {
      socket.destroy();
      throw new AmiConnectionError('client closed while connecting');
    }
    this.connectionSeq++;
    this.actionSeq = 0;
    let bannerArrived: (banner: AmiBanner) => void = () => {};
    let connectionLost: (err: Error) => void = () => {};
    const banner = new Promise<AmiBanner>((resolve) => {
      bannerArrived = resolve;
    });
    const lost = new Promise<never>((_, reject) => {
      connectionLost = reject;
    });
    lost.catch(() => undefined);
    const lifecycle = this.lifecycle;
    const connection = new AmiConnection(
      socket,
      { maxMessageBytes: this.options.maxMessageBytes },
      {
        banner: (b) => bannerArrived(b),
        message: (m) => this.dispatch(m),
        data: () => lifecycle.activity(),
        closed: (err) => {
          connectionLost(err ?? new AmiConnectionError(`${host}:${port} closed the connection`));
          this.onClosed(connection, err);
        },
      },
    );
    this.connection = connection;
    const onAbort = (): void => connection.destroy(new AmiConnectionError('client closed while connecting'));
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () =>
        connection.destroy(
          new AmiTimeoutError(
            `no AMI banner from ${host}:${port} in ${connectTimeoutMs} ms`,
            connectTimeoutMs,
          ),
        ),
      connectTimeoutMs,
    );
    try {
      try {
        this.lastBanner = await Promise.race([banner, lost]);
      } finally {
        clearTimeout(timer);
      }
      await Promise.race([this.login(), lost]);
      if (signal.aborted) throw new AmiConnectionError('client closed while connecting');
    } catch (err) {
      connection.destroy(err as Error);
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    this.log.info({ host, port, version: this.lastBanner.version }, 'AMI logged in');
    return connection;
  }

  private login(): Promise<void> {
    return login((fields) => this.send<AmiMessage>(fields, 'single', undefined, true), {
      ...this.options,
      events: this.eventMask,
    });
  }

  private dispatch(message: AmiMessage): void {
    if (message.type === 'response') {
      if (!this.pending.onResponse(message)) {
        this.log.debug({ actionId: message.actionId }, 'AMI response nobody waits for (late or foreign)');
      }
      return;
    }
    if (message.type !== 'event') {
      this.log.debug({ first: message.keys[0] }, 'AMI message that is neither response nor event');
      return;
    }
    if (message.actionId !== undefined && this.pending.onEvent(message)) return;
    this.metrics.event(message.name);
    try {
      this.emit('event', message);
      this.hub.dispatch(message);
    } catch (err) {
      // A throwing listener must not cost the messages after it in the same chunk, nor the connection.
      this.emitError(this.errors, { msg: 'AMI event listener threw', event: message.name }, err as Error);
    }
  }

  private onClosed(connection: AmiConnection, err: Error | undefined): void {
    if (this.connection !== connection) return;
    const reason = new AmiConnectionError(`AMI connection lost${err ? `: ${err.message}` : ''}`, {
      cause: err,
    });
    this.pending.rejectAll(reason);
    this.log.debug({ err: err?.message }, 'AMI connection closed');
    this.lifecycle.lost(connection, err);
  }

  /** The AMI side of the shared connection state machine. */
  private driver(): ConnectionDriver<AmiConnection, AmiConnectedInfo> {
    return {
      open: (_reconnected, signal) => this.open(signal),
      info: () => ({ banner: this.lastBanner as AmiBanner }),
      shutdown: async (connection) => {
        const gone = new Promise<void>((resolve) => {
          if (connection.closed) resolve();
          else connection.onceClosed(resolve);
        });
        await this.send({ Action: 'Logoff' }, 'single', 2_000, true).catch(() => undefined);
        connection.end();
        const timer = setTimeout(() => connection.destroy(), 2_000);
        await gone;
        clearTimeout(timer);
      },
      destroy: (connection, err) => connection.destroy(err),
      isFatal: (err) => err instanceof AmiAuthError,
      busy: () => this.pending.awaitingAnswer(),
      probe: () => {
        this.send({ Action: 'Ping' }, 'single', this.probeTimeoutMs, true).catch(() => undefined);
      },
      silenceError: (ms) =>
        new AmiTimeoutError(`keepalive: nothing from Asterisk within ${ms} ms of a Ping`, ms),
      closedError: (message) => new AmiConnectionError(message),
      emit: (event, ...args) => {
        const emit = this.emit as (event: string, ...rest: unknown[]) => boolean;
        emit.call(this, event, ...args);
        // The names of earlier releases, kept as deprecated aliases.
        if (event === 'connected') emit.call(this, 'connect', ...args);
        else if (event === 'disconnected') emit.call(this, 'disconnect', ...args);
      },
      gaveUp: (err) => this.emitError(this.errors, 'AMI reconnection gave up', err),
      ended: () => {
        this.pending.rejectAll(new AmiConnectionError('client closed'));
        this.hub.endStreams();
      },
    };
  }
}

/** The deprecated `keepaliveMs` option as `keepalive` (0: off; the probe had the interval as its timeout). */
function keepaliveMsAsKeepalive(keepaliveMs: number | undefined): KeepaliveOptions | boolean | undefined {
  if (keepaliveMs === undefined) return undefined;
  return keepaliveMs > 0 ? { intervalMs: keepaliveMs, timeoutMs: keepaliveMs } : false;
}
