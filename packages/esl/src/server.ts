import { createServer, type Server, type Socket } from 'node:net';
import {
  ErrorReporter,
  type Logger,
  MetricsFactory,
  type Registry,
  resolveLogger,
  TypedEmitter,
} from '@pbxkit/core';
import {
  type CommandMetrics,
  createCommandMetrics,
  type EslCommandEvents,
  EslCommandSet,
} from './commands.js';
import { EslConnection } from './connection.js';
import { EslConnectionError, EslProtocolError } from './errors.js';
import { EslEvent, type EslEventFormat } from './protocol/event.js';

/** Options of {@link EslServer}. */
export interface EslServerOptions {
  /** Default `127.0.0.1`. Use `0.0.0.0` only behind a firewall: the socket protocol has no authentication. */
  host?: string;
  /** Default 8084, the port of FreeSWITCH's examples (`socket 127.0.0.1:8084 async full`). */
  port?: number;
  /** Default timeout of each command, in ms. Default 10 000. */
  commandTimeoutMs?: number;
  /** Time FreeSWITCH has to answer `connect` with the channel data, in ms. Default 5 000. */
  connectTimeoutMs?: number;
  maxFrameBytes?: number;
  logger?: Logger;
  registry?: Registry;
}

/** Events of {@link EslServer}. */
export interface EslServerEvents {
  /** A call connected and its channel data arrived. */
  session: (session: EslSession) => void;
  /** A connection failed before it became a session, or a session handler threw. */
  error: (err: Error) => void;
}

/** Events of {@link EslSession}. */
export interface EslSessionEvents extends EslCommandEvents {
  /** `text/disconnect-notice`: the call hung up. With `linger`, the final events still follow. */
  disconnectNotice: (headers: Record<string, string>) => void;
  /** The socket closed: the session is over. */
  end: () => void;
}

/**
 * One call handed over by the dialplan `socket` application. Commands apply to this call unless another
 * uuid is given; `execute` waits for the application's CHANNEL_EXECUTE_COMPLETE once `myevents` is on.
 */
export class EslSession extends EslCommandSet<EslSessionEvents> {
  /** The channel data FreeSWITCH sent in reply to `connect` (URL-decoded). */
  readonly channelData: EslEvent;
  /** The call's `Unique-ID`. */
  readonly uuid: string;
  /** Resolves when the socket has closed. */
  readonly ended: Promise<void>;
  private myeventsOn = false;
  private backgroundJobs: Promise<void> | undefined;

  /** @internal Built by {@link EslServer}. */
  constructor(
    private readonly connection: EslConnection,
    channelData: Record<string, string>,
    metrics: CommandMetrics = {},
  ) {
    super();
    this.metrics = metrics;
    this.channelData = EslEvent.fromHeaders(channelData);
    this.uuid = channelData['Unique-ID'] ?? channelData['Channel-Unique-ID'] ?? '';
    connection.on('event', (event) => this.handleEvent(event));
    connection.on('disconnectNotice', (frame) => this.emit('disconnectNotice', frame.headers));
    this.ended = new Promise((resolve) =>
      connection.once('close', () => {
        this.rejectWaiters(new EslConnectionError('the call ended (outbound socket closed)'));
        this.emit('end');
        resolve();
      }),
    );
  }

  /** A channel variable from the channel data (`variable_<name>`). */
  variable(name: string): string | undefined {
    return this.channelData.variable(name);
  }

  /** True while the socket is open. */
  get open(): boolean {
    return this.connection.open;
  }

  /** `myevents [format]`: receive this call's events. */
  async myevents(format?: EslEventFormat): Promise<void> {
    await this.sendRaw(format ? `myevents ${format}` : 'myevents');
    this.myeventsOn = true;
  }

  /** `resume`: when the socket closes, the dialplan continues instead of hanging up. */
  async resume(): Promise<void> {
    await this.sendRaw('resume');
  }

  /** `getvar <name>`: a channel variable's current value (`''` when unset). */
  async getVar(name: string): Promise<string> {
    const frame = await this.sendRaw(`getvar ${name}`);
    return frame.headers['Reply-Text'] ?? '';
  }

  /**
   * Closes the socket (the call hangs up unless `resume` was sent). The server does it when the handler
   * returns; call it yourself for sessions taken from the `session` event.
   */
  async close(): Promise<void> {
    if (this.connection.open) await this.connection.end();
  }

  protected liveConnection(): EslConnection {
    if (!this.connection.open) throw new EslConnectionError('the call ended (outbound socket closed)');
    return this.connection;
  }

  protected ensureBackgroundJobEvents(): Promise<void> {
    this.backgroundJobs ??= this.sendRaw('event plain BACKGROUND_JOB').then(() => undefined);
    return this.backgroundJobs;
  }

  protected waitsForExecuteByDefault(): boolean {
    return this.myeventsOn;
  }
}

/**
 * Outbound event socket server: FreeSWITCH's dialplan `socket` application connects to it for each call,
 * and the handler drives the call. When the handler returns (or throws), the server closes that call's
 * socket: after `linger`, FreeSWITCH keeps the socket and the channel until the client closes it, so await
 * the events you need (CHANNEL_HANGUP_COMPLETE, say) before returning. Without a handler, listen to
 * `session` and call `session.close()` yourself.
 *
 * @example
 * ```ts
 * const server = new EslServer({ port: 8084 }, async (call) => {
 *   await call.myevents();
 *   await call.linger();
 *   await call.execute('answer');
 *   await call.execute('playback', 'ivr/ivr-welcome.wav');
 *   await call.hangup();
 * });
 * await server.listen();
 * ```
 */
export class EslServer extends TypedEmitter<EslServerEvents> {
  private readonly server: Server;
  private readonly options: EslServerOptions;
  private readonly log: Logger;
  private readonly errors: ErrorReporter;
  private readonly sessions = new Set<EslSession>();
  /** Connections still waiting for their channel data. */
  private readonly pending = new Set<EslConnection>();
  private readonly metrics: CommandMetrics;

  constructor(options: EslServerOptions = {}, handler?: (session: EslSession) => void | Promise<void>) {
    super();
    this.options = options;
    this.log = resolveLogger(options.logger, { component: 'esl-server' });
    this.errors = new ErrorReporter('esl', 'server', { logger: this.log, registry: options.registry });
    this.metrics = createCommandMetrics(new MetricsFactory('esl', options.registry));
    this.server = createServer((socket) => void this.accept(socket));
    if (handler) {
      this.on('session', (session) => {
        Promise.resolve()
          .then(() => handler(session))
          .catch((err: unknown) => {
            const context = { msg: 'outbound session handler failed', uuid: session.uuid };
            this.emitError(this.errors, context, err as Error);
          })
          // The handler owns the call: once it returns, the socket closes. FreeSWITCH would otherwise keep a
          // lingering socket (`Linger-Time: -1`) and its channel until this process exits.
          .finally(() => session.close());
      });
    }
  }

  /** Starts listening; resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 8084, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new EslConnectionError('server has no TCP address');
    return { host: address.address, port: address.port };
  }

  /** Calls in progress. */
  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Stops accepting calls; waits for the calls in progress to end (or closes them after `graceMs`). */
  async close(graceMs = 5000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.pending) connection.destroy();
    const ends = [...this.sessions].map((s) => s.ended);
    const timer = setTimeout(() => {
      for (const session of this.sessions) void session.close();
    }, graceMs);
    await Promise.all(ends);
    clearTimeout(timer);
    await closed;
  }

  private async accept(socket: Socket): Promise<void> {
    const connection = new EslConnection(socket, {
      maxFrameBytes: this.options.maxFrameBytes,
      commandTimeoutMs: this.options.commandTimeoutMs ?? 10_000,
      logger: this.log,
    });
    this.pending.add(connection);
    try {
      const reply = await connection.send(
        'connect',
        undefined,
        undefined,
        this.options.connectTimeoutMs ?? 5000,
      );
      if (reply.contentType !== 'command/reply' || !reply.headers['Unique-ID']) {
        throw new EslProtocolError('the connect reply carries no channel data');
      }
      const session = new EslSession(connection, reply.headers, this.metrics);
      this.sessions.add(session);
      void session.ended.then(() => this.sessions.delete(session));
      this.log.debug({ uuid: session.uuid }, 'outbound session');
      this.emit('session', session);
    } catch (err) {
      connection.destroy();
      const context = { msg: 'outbound connection failed before its channel data', level: 'warn' as const };
      this.emitError(this.errors, context, err as Error);
    } finally {
      this.pending.delete(connection);
    }
  }
}
