import { randomUUID } from 'node:crypto';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { type EslFrame, encodeHeaderValue, type HeaderList } from '@pbxkit/esl';
import { channelHeaders, type FakeCallOptions, standardEventHeaders, statusText } from './channel-data.js';
import { cutEventFrames, type ReplayFrame, replayFrames } from './event-replay.js';
import { FakeCallcenter } from './fake-callcenter.js';
import { FakePeer, type FakePeerHost } from './fake-peer.js';
import { type FakeRegistrationOptions, FakeRegistrations } from './fake-registrations.js';
import { FakeReloads } from './fake-reload.js';
import { showAnswer } from './fake-show.js';

/** Options of {@link FakeFreeSwitch}. */
export interface FakeFreeSwitchOptions {
  /** `auth` password. Default `ClueCon`, FreeSWITCH's default. */
  password?: string;
  /** `userauth` accounts: `{ 'user@domain': 'password' }`. */
  users?: Record<string, string>;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port (read it from `port`). */
  port?: number;
  /** `FreeSWITCH-Hostname` of events. Default `fake`. */
  hostname?: string;
  /** Answer every connection with `text/rude-rejection`, as FreeSWITCH's ACL does to a refused address. */
  rejectAll?: boolean;
}

/** Answers `api <name> <args>` in the fake: the returned text is the `api/response` body. */
export type FakeApiHandler = (
  args: string,
  context: { peer: FakePeer; fake: FakeFreeSwitch },
) => string | Promise<string>;

/** Runs a dialplan application in the fake: the returned text is its `Application-Response`. */
export type FakeAppHandler = (arg: string, channel: FakeChannel) => string | Promise<string>;

/** A call the fake knows (for `show channels`, `sendmsg`, channel events). */
export interface FakeChannel {
  uuid: string;
  headers: Array<[string, string]>;
  /** The outbound connection controlling it, if any. */
  controller: FakePeer | undefined;
}

/** A call the fake placed to an outbound socket server (`socket` dialplan application). */
export interface FakeOutboundCall {
  uuid: string;
  peer: FakePeer;
  /** Resolves when the socket closed (after hang-up, or when the server closed it). */
  closed: Promise<void>;
}

/** A command the fake received. */
export interface ReceivedCommand {
  peer: FakePeer;
  command: string;
  frame: EslFrame;
}

/**
 * A FreeSWITCH event socket, faithful on the wire to FreeSWITCH 1.10 (its replies and frames were taken from
 * captured traffic), for integration tests of code that uses ESL. It speaks inbound mode (auth, api, bgapi,
 * events in plain/json/xml, filters, log, sendmsg, exit) and can dial out to an outbound socket server as the
 * `socket` dialplan application does.
 *
 * @example
 * ```ts
 * const fake = await FakeFreeSwitch.start({ password: 'secret' });
 * fake.onApi('uptime', () => '42\n');
 * const client = new EslClient({ port: fake.port, password: 'secret' });
 * await client.connect();
 * await client.api('uptime'); // '42\n'
 * fake.emitEvent('CHANNEL_ANSWER', { 'Unique-ID': 'abc' });
 * await fake.stop();
 * ```
 */
export class FakeFreeSwitch implements FakePeerHost {
  readonly password: string;
  readonly users: Record<string, string>;
  readonly coreUuid = randomUUID();
  readonly hostname: string;
  /** Every command received, in order. */
  readonly received: ReceivedCommand[] = [];
  /** Calls the fake knows, by uuid. */
  readonly channels = new Map<string, FakeChannel>();
  /** SIP registrations, as `show registrations` lists them; add with {@link register}. */
  readonly registrations: FakeRegistrations;
  /** mod_callcenter, once {@link loadCallcenter} was called (`module_exists mod_callcenter` answers `true`). */
  callcenter: FakeCallcenter | undefined;
  private readonly server: Server;
  private readonly peers = new Set<FakePeer>();
  private readonly apis = new Map<string, FakeApiHandler>();
  private readonly apps = new Map<string, FakeAppHandler>();
  private readonly commandWaiters: Array<{
    match: (c: ReceivedCommand) => boolean;
    resolve: (c: ReceivedCommand) => void;
  }> = [];
  private readonly started = Date.now();
  private boundPort = 0;
  /** Reload commands (`reloadxml`, `sofia profile … rescan/killgw`, `reload mod_…`): state and forced replies. */
  readonly reloads: FakeReloads;

  private constructor(private readonly options: FakeFreeSwitchOptions) {
    this.password = options.password ?? 'ClueCon';
    this.users = options.users ?? {};
    this.hostname = options.hostname ?? 'fake';
    this.registrations = new FakeRegistrations(this.hostname);
    this.server = createServer((socket) => this.accept(socket));
    this.installDefaultApis();
    this.reloads = new FakeReloads(this);
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(options: FakeFreeSwitchOptions = {}): Promise<FakeFreeSwitch> {
    const fake = new FakeFreeSwitch(options);
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    const address = fake.server.address();
    fake.boundPort = typeof address === 'object' && address ? address.port : 0;
    return fake;
  }

  /** The bound port. */
  get port(): number {
    return this.boundPort;
  }

  /** Open inbound connections and outbound calls. */
  get connections(): FakePeer[] {
    return [...this.peers].filter((p) => p.isOpen);
  }

  /** Registers (or replaces) `api <name>`. */
  onApi(name: string, handler: FakeApiHandler): this {
    this.apis.set(name, handler);
    return this;
  }

  /** Registers a dialplan application for `execute`; default apps answer `_none_` (`playback`: FILE PLAYED). */
  onApp(name: string, handler: FakeAppHandler): this {
    this.apps.set(name, handler);
    return this;
  }

  /** Adds a call to the fake's channel list (as `show channels` reports it); returns its uuid. */
  addChannel(call: FakeCallOptions = {}): string {
    const headers = channelHeaders(call);
    const uuid = headers.find(([n]) => n === 'Unique-ID')?.[1] as string;
    this.channels.set(uuid, { uuid, headers, controller: undefined });
    return uuid;
  }

  /**
   * Fires an event to every connection subscribed to it (respecting formats, filters and `myevents`), with the
   * standard headers FreeSWITCH adds (Event-Name, Core-UUID, dates, sequence) before `headers`.
   */
  emitEvent(name: string, headers: Record<string, string> = {}, body = ''): void {
    this.broadcast([['Event-Name', name], ...Object.entries(headers)], body);
  }

  /** A phone registers: listed by `show registrations`, and `sofia::register` fires. */
  register(registration: FakeRegistrationOptions): void {
    const headers = this.registrations.register(registration, Date.now());
    this.emitEvent('CUSTOM', { 'Event-Subclass': 'sofia::register', ...headers });
  }

  /** A phone unregisters (`sofia::unregister`), or its binding expires (`sofia::expire`). */
  unregister(user: string, domain: string, how: 'unregister' | 'expire' = 'unregister'): void {
    const headers =
      how === 'expire'
        ? this.registrations.expire(user, domain)
        : this.registrations.unregister(user, domain);
    if (headers) this.emitEvent('CUSTOM', { 'Event-Subclass': `sofia::${how}`, ...headers });
  }

  /**
   * Loads mod_callcenter: `module_exists mod_callcenter` answers `true` and `callcenter_config` works on the
   * returned model (add queues, agents, tiers and members to it).
   */
  loadCallcenter(): FakeCallcenter {
    this.callcenter ??= new FakeCallcenter((headers) =>
      this.emitEvent('CUSTOM', { 'Event-Subclass': 'callcenter::info', ...headers }),
    );
    return this.callcenter;
  }

  /**
   * Replays recorded events (a captured stream such as `fixtures/esl/12-*.txt`, or frames cut from one with
   * {@link cutEventFrames}) to every inbound connection subscribed to them, byte for byte, `repeat` times, as
   * fast as the sockets take them. Resolves with the number of events written in all.
   */
  replayEvents(capture: Buffer | ReplayFrame[], options: { repeat?: number } = {}): Promise<number> {
    const frames = Buffer.isBuffer(capture) ? cutEventFrames(capture) : capture;
    return replayFrames(this.connections, frames, options.repeat ?? 1);
  }

  /** Sends a log line to every connection that asked for logs at `level` or lower severity. */
  emitLog(level: number, text: string): void {
    for (const peer of this.connections) peer.deliverLog(level, text);
  }

  /** Resolves with the first command received from now on that matches (`'api status'`, a prefix, or a test). */
  waitForCommand(match: string | RegExp | ((command: string) => boolean)): Promise<ReceivedCommand> {
    const test =
      typeof match === 'string'
        ? (c: string) => c === match || c.startsWith(`${match} `)
        : match instanceof RegExp
          ? (c: string) => match.test(c)
          : match;
    return new Promise((resolve) => this.commandWaiters.push({ match: (r) => test(r.command), resolve }));
  }

  /** Drops every connection at once, as a FreeSWITCH crash or network cut would (no disconnect notice). */
  dropConnections(): void {
    for (const peer of this.peers) peer.socket.destroy();
    this.peers.clear();
  }

  /**
   * Places a call to an outbound socket server, as the dialplan `socket <host>:<port> async full` does:
   * connects, answers `connect` with the channel data, then follows the server's commands.
   */
  async callOutbound(
    target: { host?: string; port: number },
    call: FakeCallOptions & { async?: boolean; full?: boolean } = {},
  ): Promise<FakeOutboundCall> {
    const uuid = this.addChannel(call);
    const channel = this.channels.get(uuid) as FakeChannel;
    const socket = netConnect({ host: target.host ?? '127.0.0.1', port: target.port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const peer = new FakePeer(socket, this, 'outbound', () => this.connectReply(channel, call));
    peer.channelUuid = uuid;
    channel.controller = peer;
    this.peers.add(peer);
    socket.once('close', () => {
      this.peers.delete(peer);
      this.channels.delete(uuid);
    });
    return { uuid, peer, closed };
  }

  /** Stops listening and closes every connection. */
  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // FakePeerHost

  async runApi(name: string, args: string, peer: FakePeer): Promise<string> {
    const full = args ? `${name} ${args}` : name;
    const handler = this.apis.get(full) ?? this.apis.get(name);
    if (!handler) return `-ERR ${name} Command not found!\n`;
    return handler(this.apis.has(full) ? '' : args, { peer, fake: this });
  }

  broadcast(headers: HeaderList, body: string): void {
    const name = headers.find(([n]) => n === 'Event-Name')?.[1] ?? 'CUSTOM';
    const rest = headers.filter(([n]) => n !== 'Event-Name');
    const all: Array<[string, string]> = standardEventHeaders(name, this.coreUuid, this.hostname);
    for (const [n, v] of rest) all.push([n, v]);
    this.deliverAll(all, body);
  }

  runSendMsg(peer: FakePeer, uuidArg: string | undefined, frame: EslFrame): void {
    const uuid = uuidArg ?? frame.header('session-id') ?? peer.channelUuid;
    const channel = uuid ? this.channels.get(uuid) : undefined;
    if (!channel) {
      peer.reply(`-ERR invalid session id [${uuid ?? ''}]`);
      return;
    }
    const command = frame.header('call-command');
    peer.reply('+OK');
    if (command === 'execute') void this.execute(channel, frame);
    else if (command === 'hangup') this.hangup(channel, frame.header('hangup-cause') ?? 'NORMAL_CLEARING');
  }

  record(peer: FakePeer, command: string, frame: EslFrame): void {
    const entry = { peer, command, frame };
    this.received.push(entry);
    for (let i = this.commandWaiters.length - 1; i >= 0; i--) {
      const waiter = this.commandWaiters[i];
      if (waiter?.match(entry)) {
        this.commandWaiters.splice(i, 1);
        waiter.resolve(entry);
      }
    }
  }

  private accept(socket: Socket): void {
    if (this.options.rejectAll) {
      const message = 'Access Denied, go away.\n';
      socket.end(`Content-Type: text/rude-rejection\nContent-Length: ${message.length}\n\n${message}`);
      return;
    }
    const peer = new FakePeer(socket, this, 'inbound');
    this.peers.add(peer);
    socket.once('close', () => this.peers.delete(peer));
  }

  private deliverAll(headers: HeaderList, body: string): void {
    for (const peer of this.connections) peer.deliver(headers, body);
  }

  private connectReply(channel: FakeChannel, call: { async?: boolean; full?: boolean }): Buffer {
    const headers: Array<[string, string]> = [
      ...standardEventHeaders('CHANNEL_DATA', this.coreUuid, this.hostname),
      ...channel.headers,
      ['Content-Type', 'command/reply'],
      ['Reply-Text', '+OK\n'],
      ['Socket-Mode', call.async === false ? 'static' : 'async'],
      ['Control', call.full === false ? 'single-channel' : 'full'],
    ];
    return Buffer.from(`${headers.map(([n, v]) => `${n}: ${encodeHeaderValue(v)}\n`).join('')}\n`);
  }

  private async execute(channel: FakeChannel, frame: EslFrame): Promise<void> {
    const app = frame.header('execute-app-name') ?? '';
    const arg =
      frame.header('execute-app-arg') ??
      (frame.header('content-type') === 'text/plain' ? frame.bodyText : '');
    const applicationUuid = frame.header('Event-UUID') ?? randomUUID();
    const appHeaders: Array<[string, string]> = [
      ['Application', app],
      ['Application-Data', arg],
      ['Application-UUID', applicationUuid],
    ];
    this.broadcast([['Event-Name', 'CHANNEL_EXECUTE'], ...channel.headers, ...appHeaders], '');
    const handler = this.apps.get(app);
    const response = handler ? await handler(arg, channel) : app === 'playback' ? 'FILE PLAYED' : '_none_';
    this.broadcast(
      [
        ['Event-Name', 'CHANNEL_EXECUTE_COMPLETE'],
        ...channel.headers,
        ['Application', app],
        ['Application-Data', arg],
        ['Application-Response', response],
        ['Application-UUID', applicationUuid],
      ],
      '',
    );
  }

  private hangup(channel: FakeChannel, cause: string): void {
    const hangupHeaders: Array<[string, string]> = [...channel.headers, ['Hangup-Cause', cause]];
    this.broadcast([['Event-Name', 'CHANNEL_HANGUP'], ...hangupHeaders], '');
    const controller = channel.controller;
    const channelName = channel.headers.find(([n]) => n === 'Channel-Name')?.[1];
    if (controller?.lingering) {
      controller.disconnect('linger', channelName);
      this.broadcast([['Event-Name', 'CHANNEL_HANGUP_COMPLETE'], ...hangupHeaders], '');
      // The listener holds the session: the channel stays listed until the socket closes.
      controller.lingerAfterHangup();
      return;
    }
    controller?.disconnect('disconnect', channelName);
    this.broadcast([['Event-Name', 'CHANNEL_HANGUP_COMPLETE'], ...hangupHeaders], '');
    this.channels.delete(channel.uuid);
  }

  private installDefaultApis(): void {
    this.onApi('status', () => statusText(Date.now() - this.started, this.channels.size, this.channels.size));
    this.onApi('version', () => 'FreeSWITCH Version 1.10.12-release fake (fake 64bit)\n');
    // `msleep <ms>` holds the connection's command thread, as FreeSWITCH's does: later commands wait.
    this.onApi(
      'msleep',
      (args) => new Promise((resolve) => setTimeout(() => resolve('+OK'), Number(args) || 0).unref()),
    );
    this.onApi('uptime', () => `${Math.floor((Date.now() - this.started) / 1000)}\n`);
    this.onApi('show', (args) => showAnswer(args, this.channels.values(), this.registrations.rows()));
    // FreeSWITCH's module_exists answers `true` or `false`, without a newline.
    this.onApi('module_exists', (args) => (args === 'mod_callcenter' && this.callcenter ? 'true' : 'false'));
    // callcenter_config: FakeReloads (queue load/reload/unload), which hands the rest to `callcenter`.
    this.onApi('uuid_kill', (args) =>
      this.channels.has(args.split(' ')[0] ?? '') ? '+OK\n' : '-ERR No such channel!\n',
    );
    this.onApi('uuid_getvar', (args) => {
      const [uuid, name] = args.split(' ');
      const channel = uuid ? this.channels.get(uuid) : undefined;
      if (!channel) return '-ERR No such channel!\n';
      return channel.headers.find(([n]) => n === `variable_${name}`)?.[1] ?? '_undef_';
    });
  }
}
