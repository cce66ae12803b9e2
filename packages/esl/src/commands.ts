import { randomUUID } from 'node:crypto';
import { type Counter, type EventMap, type Histogram, type MetricsFactory, TypedEmitter } from '@pbxkit/core';
import type { EslConnection } from './connection.js';
import { EslCommandError, EslConnectionError, EslTimeoutError } from './errors.js';
import type { EslEvent, EslEventFormat } from './protocol/event.js';
import type { EslFrame } from './protocol/frame.js';
import {
  type CallRow,
  type ChannelRow,
  type FreeSwitchStatus,
  parseShowJson,
  parseStatus,
  type RegistrationRow,
} from './realtime.js';

/** Per-call options of commands. */
export interface CommandOptions {
  /** Overrides the default timeout of this command, in milliseconds (0: none). */
  timeoutMs?: number;
}

/** Options of `execute`. */
export interface ExecuteOptions extends CommandOptions {
  /** The channel; optional in an outbound session (its own channel). */
  uuid?: string;
  /** `event-lock: true`: FreeSWITCH runs queued applications one after the other. */
  eventLock?: boolean;
  /** `async: true`: queue the application and return at once, even on a synchronous socket. */
  async?: boolean;
  /** `loops`: run the application this many times. */
  loops?: number;
  /** The `Event-UUID` to tag the execution with (FreeSWITCH echoes it as `Application-UUID`). Default: random. */
  eventUuid?: string;
  /**
   * Wait for the `CHANNEL_EXECUTE_COMPLETE` of this application and resolve with it (this needs the channel's
   * events: `myevents`, or a subscription to CHANNEL_EXECUTE_COMPLETE). Default: true in an outbound
   * session, and in the inbound client when it is subscribed to that event.
   */
  wait?: boolean;
}

/** Listener signatures shared by the inbound client and the outbound session. */
export interface EslCommandEvents {
  /** Every event received, whatever its name. */
  event: (event: EslEvent) => void;
}

interface Waiter {
  resolve: (event: EslEvent) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** Metrics a command set records; absent metrics record nothing. */
export interface CommandMetrics {
  commands?: Counter<'command' | 'result'>;
  latency?: Histogram<'command'>;
  events?: Counter<'name'>;
}

/** The command and event metrics, shared by every client and session registered in one registry. */
export function createCommandMetrics(factory: MetricsFactory): CommandMetrics {
  return {
    commands: factory.counter({
      what: 'commands',
      unit: 'total',
      help: 'Event socket commands by name and result',
      labelNames: ['command', 'result'],
    }),
    latency: factory.histogram({
      what: 'command_duration',
      unit: 'seconds',
      help: 'Event socket command round trip',
      labelNames: ['command'],
    }),
    events: factory.counter({
      what: 'events',
      unit: 'total',
      help: 'Events received by name',
      labelNames: ['name'],
    }),
  };
}

/**
 * The commands of the event socket protocol, shared by {@link EslClient} (inbound) and {@link EslSession}
 * (outbound). Subclasses supply the live connection.
 */
export abstract class EslCommandSet<
  Events extends EslCommandEvents & EventMap<Events>,
> extends TypedEmitter<Events> {
  private readonly jobs = new Map<string, Waiter>();
  private readonly executions = new Map<string, Waiter>();
  private readonly nameListeners = new Map<string, Set<(event: EslEvent) => void>>();
  protected metrics: CommandMetrics = {};
  /** Default wait for a `bgapi` job's BACKGROUND_JOB. */
  protected bgapiTimeoutMs = 300_000;

  /** The connection to write to; throws {@link EslConnectionError} when there is none. */
  protected abstract liveConnection(): EslConnection;

  /** Makes sure BACKGROUND_JOB events reach this connection before a `bgapi` is sent. */
  protected abstract ensureBackgroundJobEvents(): Promise<void>;

  /** Whether `execute` waits for CHANNEL_EXECUTE_COMPLETE when not told. */
  protected abstract waitsForExecuteByDefault(): boolean;

  /**
   * Sends any command and resolves with FreeSWITCH's reply frame, as it is. A `command/reply` whose
   * `Reply-Text` starts with `-ERR` rejects with {@link EslCommandError}.
   */
  async sendRaw(
    command: string,
    headers?: Record<string, string | number>,
    body?: string,
    options: CommandOptions = {},
  ): Promise<EslFrame> {
    const space = command.indexOf(' ');
    const name = space === -1 ? command : command.slice(0, space);
    const started = performance.now();
    try {
      const frame = await this.liveConnection().send(command, headers, body, options.timeoutMs);
      if (frame.contentType === 'command/reply') {
        const reply = frame.headers['Reply-Text'] ?? '';
        if (reply.startsWith('-ERR')) throw new EslCommandError(command, reply.slice(4).trim());
      }
      this.metrics.commands?.inc({ command: name, result: 'ok' });
      return frame;
    } catch (err) {
      this.metrics.commands?.inc({ command: name, result: resultOf(err) });
      throw err;
    } finally {
      this.metrics.latency?.observe({ command: name }, (performance.now() - started) / 1000);
    }
  }

  /**
   * Runs an API command (`api <cmd>`) and resolves with its output. FreeSWITCH reports failures inside the
   * output: one starting with `-ERR` or `-USAGE` rejects with {@link EslCommandError}.
   *
   * @example
   * ```ts
   * const version = await client.api('version');
   * ```
   */
  async api(command: string, options?: CommandOptions): Promise<string> {
    const frame = await this.sendRaw(`api ${command}`, undefined, undefined, options);
    const body = frame.bodyText;
    if (body.startsWith('-ERR')) throw new EslCommandError(`api ${command}`, body.slice(4).trim());
    if (body.startsWith('-USAGE')) throw new EslCommandError(`api ${command}`, body.slice(1).trim());
    return body;
  }

  /**
   * Runs an API command in the background (`bgapi`) and resolves with the body of its BACKGROUND_JOB event,
   * matched by a Job-UUID this client generates. Use it for slow commands (`originate`) so other commands are
   * not held behind them. The BACKGROUND_JOB subscription is added automatically.
   */
  async bgapi(command: string, options: CommandOptions = {}): Promise<string> {
    await this.ensureBackgroundJobEvents();
    const jobUuid = randomUUID();
    const timeoutMs = options.timeoutMs ?? this.bgapiTimeoutMs;
    const done = this.waitFor(this.jobs, jobUuid, timeoutMs, `bgapi ${command}`);
    try {
      await this.sendRaw(`bgapi ${command}`, { 'Job-UUID': jobUuid });
    } catch (err) {
      this.cancelWait(this.jobs, jobUuid, err as Error);
      throw err;
    }
    const event = await done;
    const body = event.body;
    if (body.startsWith('-ERR')) throw new EslCommandError(`bgapi ${command}`, body.slice(4).trim());
    if (body.startsWith('-USAGE')) throw new EslCommandError(`bgapi ${command}`, body.slice(1).trim());
    return body;
  }

  /** `sendmsg [uuid]` with the given headers (and body): the raw form of `execute`, `hangup`, etc. */
  async sendMsg(
    uuid: string | undefined,
    headers: Record<string, string | number>,
    body?: string,
    options?: CommandOptions,
  ): Promise<EslFrame> {
    return this.sendRaw(uuid ? `sendmsg ${uuid}` : 'sendmsg', headers, body, options);
  }

  /**
   * Runs a dialplan application on a channel (`sendmsg` with `call-command: execute`). With `wait` (see
   * {@link ExecuteOptions.wait}) it resolves with the application's CHANNEL_EXECUTE_COMPLETE event
   * (`Application-Response` tells how it ended), matched by an `Event-UUID` this client sets.
   */
  async execute(app: string, arg?: string, options: ExecuteOptions = {}): Promise<EslEvent | undefined> {
    const eventUuid = options.eventUuid ?? randomUUID();
    const headers: Record<string, string | number> = { 'call-command': 'execute', 'execute-app-name': app };
    if (options.loops !== undefined) headers.loops = options.loops;
    if (options.eventLock) headers['event-lock'] = 'true';
    if (options.async) headers.async = 'true';
    headers['Event-UUID'] = eventUuid;
    // A multi-line argument cannot be a header: FreeSWITCH takes it from a text/plain body instead.
    let body: string | undefined;
    if (arg !== undefined && /[\r\n]/.test(arg)) {
      headers['content-type'] = 'text/plain';
      body = arg;
    } else if (arg !== undefined && arg !== '') {
      headers['execute-app-arg'] = arg;
    }
    const wait = options.wait ?? this.waitsForExecuteByDefault();
    const done = wait ? this.waitFor(this.executions, eventUuid, 0, `execute ${app}`) : undefined;
    try {
      await this.sendMsg(options.uuid, headers, body, options);
    } catch (err) {
      if (done) this.cancelWait(this.executions, eventUuid, err as Error);
      throw err;
    }
    return done;
  }

  /** Hangs up a channel (`sendmsg` with `call-command: hangup`). */
  async hangup(cause = 'NORMAL_CLEARING', uuid?: string): Promise<void> {
    await this.sendMsg(uuid, { 'call-command': 'hangup', 'hangup-cause': cause });
  }

  /** `log <level>`: receive FreeSWITCH's log lines (`log` events of this emitter) at `level` and above. */
  async log(
    level: number | 'console' | 'alert' | 'crit' | 'err' | 'warning' | 'notice' | 'info' | 'debug',
  ): Promise<void> {
    await this.sendRaw(`log ${level}`);
  }

  /** `nolog`: stop receiving log lines. */
  async nolog(): Promise<void> {
    await this.sendRaw('nolog');
  }

  /** `linger [seconds]`: keep the socket open after hang-up to receive the final events. */
  async linger(seconds?: number): Promise<void> {
    await this.sendRaw(seconds === undefined ? 'linger' : `linger ${seconds}`);
  }

  /** `nolinger`. */
  async nolinger(): Promise<void> {
    await this.sendRaw('nolinger');
  }

  /** `sendevent <name>`: fires an event inside FreeSWITCH; resolves with the Event-UUID it got. */
  async sendEvent(
    name: string,
    headers: Record<string, string | number> = {},
    body?: string,
  ): Promise<string> {
    const frame = await this.sendRaw(`sendevent ${name}`, headers, body);
    return (frame.headers['Reply-Text'] ?? '').replace(/^\+OK\s*/, '');
  }

  /** `api show channels as json`, typed; no channels → `[]`. */
  async showChannels(options?: CommandOptions): Promise<ChannelRow[]> {
    return parseShowJson<ChannelRow>(await this.api('show channels as json', options), 'show channels');
  }

  /** `api show calls as json`, typed; no calls → `[]`. */
  async showCalls(options?: CommandOptions): Promise<CallRow[]> {
    return parseShowJson<CallRow>(await this.api('show calls as json', options), 'show calls');
  }

  /** `api show registrations as json`, typed; none → `[]`. */
  async showRegistrations(options?: CommandOptions): Promise<RegistrationRow[]> {
    return parseShowJson<RegistrationRow>(
      await this.api('show registrations as json', options),
      'show registrations',
    );
  }

  /** `api status`, parsed: uptime, sessions, peaks, rate, limits. */
  async status(options?: CommandOptions): Promise<FreeSwitchStatus> {
    return parseStatus(await this.api('status', options));
  }

  /** `api reloadxml`: re-reads the XML configuration. Rejects with {@link EslCommandError} on `-ERR`. */
  async reloadXml(options?: CommandOptions): Promise<string> {
    return (await this.api('reloadxml', options)).trim();
  }

  /** `api reload <module>`: unloads and loads a module (e.g. `mod_sofia`). */
  async reloadModule(module: string, options?: CommandOptions): Promise<string> {
    return (await this.api(`reload ${module}`, options)).trim();
  }

  /**
   * Listens to events of one name (`CHANNEL_ANSWER`), or of one CUSTOM subclass (`sofia::register`).
   * Returns a function that removes the listener.
   */
  onEvent(name: string, listener: (event: EslEvent) => void): () => void {
    let set = this.nameListeners.get(name);
    if (!set) {
      set = new Set();
      this.nameListeners.set(name, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.nameListeners.delete(name);
    };
  }

  /** Routes an event received on the connection: jobs, executions, per-name listeners, then `event`. */
  protected handleEvent(event: EslEvent): void {
    const name = event.name;
    this.metrics.events?.inc({ name });
    if (name === 'BACKGROUND_JOB' && this.jobs.size) {
      this.settle(this.jobs, event.headers['Job-UUID'], event);
    } else if (name === 'CHANNEL_EXECUTE_COMPLETE' && this.executions.size) {
      this.settle(this.executions, event.headers['Application-UUID'], event);
    }
    (this as unknown as TypedEmitter<EslCommandEvents>).emit('event', event);
    if (this.nameListeners.size) {
      for (const key of [name, event.subclass]) {
        const set = key ? this.nameListeners.get(key) : undefined;
        if (set) for (const listener of [...set]) listener(event);
      }
    }
  }

  /** Rejects every job and execution waiting: their events will not come on a closed connection. */
  protected rejectWaiters(err: Error): void {
    for (const map of [this.jobs, this.executions]) {
      for (const [key] of map) this.cancelWait(map, key, err);
    }
  }

  private waitFor(map: Map<string, Waiter>, key: string, timeoutMs: number, what: string): Promise<EslEvent> {
    return new Promise<EslEvent>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        waiter.timer = setTimeout(() => {
          map.delete(key);
          reject(new EslTimeoutError(`${what}: no result within ${timeoutMs} ms`, timeoutMs));
        }, timeoutMs);
      }
      map.set(key, waiter);
    });
  }

  private settle(map: Map<string, Waiter>, key: string | undefined, event: EslEvent): void {
    const waiter = key ? map.get(key) : undefined;
    if (!waiter || !key) return;
    map.delete(key);
    if (waiter.timer) clearTimeout(waiter.timer);
    waiter.resolve(event);
  }

  private cancelWait(map: Map<string, Waiter>, key: string, err: Error): void {
    const waiter = map.get(key);
    if (!waiter) return;
    map.delete(key);
    if (waiter.timer) clearTimeout(waiter.timer);
    waiter.reject(err);
  }
}

function resultOf(err: unknown): string {
  if (err instanceof EslTimeoutError) return 'timeout';
  if (err instanceof EslConnectionError) return 'disconnected';
  if (err instanceof EslCommandError) return 'error';
  return 'failed';
}

export type { EslEventFormat };
