import net from 'node:net';
import tls from 'node:tls';
import { type AmiMessage, AmiParser, ConfFile } from '@pbxkit/ami';
import { TypedEmitter } from '@pbxkit/core';
import {
  type BuiltinContext,
  builtinActions,
  type FakeActionHandler,
  type FakeCommandResult,
  type FakeUserEntry,
} from './builtin-actions.js';
import { configActions } from './config-actions.js';
import { FakeConfigFiles } from './config-files.js';
import { FakeAmiSession, type FakeFields, fieldPairs } from './fake-session.js';
import { actionClasses, classBits, eventClass, privilegeText } from './privileges.js';
import { DEFAULT_FAKE_MODULES, reloadAction } from './reload-action.js';

/**
 * A `manager.conf` user with its permissions. Class lists are written as in manager.conf
 * (`'system,call,originate'`, `'all'`) or as arrays; names are case-sensitive, unknown ones count for nothing.
 */
export interface FakeManagerUser {
  secret: string;
  /** `read=`: the classes of events the user receives. None when omitted, as in manager.conf. */
  read?: string | readonly string[];
  /** `write=`: the classes of actions the user may run (`Permission denied` otherwise). None when omitted. */
  write?: string | readonly string[];
}

/** Options of {@link FakeAsterisk.onAction}. */
export interface FakeActionOptions {
  /**
   * The classes the action is registered with (`ast_manager_register_xml`): a user needs one of them in
   * `write=`. Default: what Asterisk registers for the built-in and common actions, nothing for others.
   */
  privilege?: string | readonly string[];
}

/** Options of {@link FakeAsterisk}. */
export interface FakeAsteriskOptions {
  /**
   * `manager.conf` users: name → secret (that user has `read=all`, `write=all`), or name →
   * {@link FakeManagerUser} with its `read=`/`write=` classes. Default `{ admin: 'secret' }`.
   */
  users?: Record<string, string | FakeManagerUser>;
  /** The greeting line. Default `Asterisk Call Manager/11.0.0`, what Asterisk 22 sends. */
  banner?: string;
  /**
   * How long a refused login waits before `Response: Error` and the close. Asterisk waits 1 s (the default);
   * tests usually pass something small.
   */
  loginFailureDelayMs?: number;
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port; default 0 (any free port, read it from `port` after `start()`). */
  port?: number;
  /** `systemname` of asterisk.conf: when set, the events the fake writes itself carry `SystemName`. */
  systemName?: string;
  /** Serve AMI over TLS (Asterisk's `tlsenable=yes`, usually port 5039) with this key and certificate. */
  tls?: tls.TlsOptions;
  /** Keep every action received in `actions` (default `true`); turn off for long load tests. */
  recordActions?: boolean;
  /**
   * Serve and write configuration files as real files under this directory (Asterisk's `/etc/asterisk`), so
   * a program that writes them itself sees what AMI sees. Default: in memory (see `setConfig`).
   */
  configDir?: string;
  /**
   * Loaded modules, for `Reload` (`Module: chan_sip.so` of a module not listed is `No such module`).
   * Default: `res_pjsip.so`, `chan_pjsip.so`, `pbx_config.so`, `app_voicemail.so` (Asterisk 22 has no chan_sip).
   */
  modules?: readonly string[];
}

/** Events of {@link FakeAsterisk}, for tests that wait on what the client did. */
export interface FakeAsteriskEvents {
  /** A client connected. */
  session: (session: FakeAmiSession) => void;
  /** An action arrived (before it is handled). */
  action: (action: AmiMessage, session: FakeAmiSession) => void;
  /** A `Reload` reloaded `module` (`''`: everything). */
  reload: (module: string) => void;
}

const DEFAULT_COMMANDS: Record<string, FakeCommandResult> = {
  'core show version':
    'Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux on 2026-11-23 07:18:10 UTC',
};

/**
 * A fake Asterisk Manager Interface over real TCP, faithful to Asterisk 22's bytes: the banner with no blank
 * line after it; `Login` (plain and MD5 challenge), followed by `FullyBooted` and `SuccessfulAuth` when
 * events are on, and a refused login answered late and the socket closed; `Logoff` with `Goodbye`; `Ping`;
 * `Events`; `Command` with `Output:` lines; async `Originate` with its `OriginateResponse`;
 * `GetConfig`/`UpdateConfig`/`CreateConfig` over in-memory files (see `setConfig`) or a directory
 * (`configDir`); `Reload` of the loaded `modules`; `Permission denied`
 * before login and `Invalid/unknown command` for the rest. As in Asterisk, each user has manager.conf
 * `read=`/`write=` classes: an action the user's write classes do not cover gets `Permission denied`, and a
 * session receives only the events whose class is in its `read=` and its event mask (`OriginateResponse`
 * is a call event). Tests add their own actions with
 * {@link FakeAsterisk.onAction}, CLI output with {@link FakeAsterisk.onCommand}, and broadcast events with
 * {@link FakeAsterisk.emitEvent}.
 *
 * @example
 * ```ts
 * import { FakeAsterisk } from '@pbxkit/ami/testing';
 * const fake = await FakeAsterisk.start({ users: { admin: 'pw' }, loginFailureDelayMs: 10 });
 * fake.onAction('CoreShowChannels', (action, session) => {
 *   session.sendList(action, 'CoreShowChannel', [{ Channel: 'PJSIP/100-00000001' }]);
 * });
 * const ami = new AmiClient({ host: fake.host, port: fake.port, username: 'admin', secret: 'pw' });
 * ```
 */
export class FakeAsterisk extends TypedEmitter<FakeAsteriskEvents> {
  /** Every action received, in order, from every session. */
  readonly actions: AmiMessage[] = [];
  /** Every module a `Reload` reloaded, in order (`''` for a reload of everything). */
  readonly reloads: string[] = [];
  private readonly server: net.Server;
  private readonly sessionSet = new Set<FakeAmiSession>();
  private readonly handlers: Map<string, FakeActionHandler>;
  private readonly commands = new Map<string, FakeCommandResult | ((cli: string) => FakeCommandResult)>();
  private readonly users: Map<string, FakeUserEntry>;
  // Classes of actions registered through onAction with a privilege of their own.
  private readonly privileges = new Map<string, number>();
  private readonly files: FakeConfigFiles;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly options: FakeAsteriskOptions;
  private sessionSeq = 0;
  private address: net.AddressInfo | undefined;

  constructor(options: FakeAsteriskOptions = {}) {
    super();
    this.options = options;
    this.users = new Map(
      Object.entries(options.users ?? { admin: 'secret' }).map(([name, user]) => [
        name,
        typeof user === 'string'
          ? { secret: user, read: classBits('all'), write: classBits('all') }
          : { secret: user.secret, read: classBits(user.read ?? ''), write: classBits(user.write ?? '') },
      ]),
    );
    for (const [cli, out] of Object.entries(DEFAULT_COMMANDS)) this.commands.set(cli, out);
    const ctx: BuiltinContext = {
      users: this.users,
      commands: this.commands,
      loginFailureDelayMs: options.loginFailureDelayMs ?? 1000,
      startedAt: Date.now(),
      systemName: options.systemName,
      setTimer: (fn, ms) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          fn();
        }, ms);
        this.timers.add(timer);
      },
      // Events the fake writes itself go through manager_event in Asterisk: SystemName after Privilege.
      broadcast: (name, fields, bits) => {
        const [privilege, ...rest] = fieldPairs(fields);
        const system: Array<[string, string]> = options.systemName
          ? [['SystemName', options.systemName]]
          : [];
        this.broadcast(name, privilege ? [privilege, ...system, ...rest] : system, bits);
      },
    };
    this.handlers = builtinActions(ctx);
    this.files = new FakeConfigFiles(options.configDir);
    for (const [name, handler] of configActions(this.files)) this.handlers.set(name, handler);
    this.handlers.set(
      'reload',
      reloadAction(options.modules ?? DEFAULT_FAKE_MODULES, (module) => {
        this.reloads.push(module);
        this.emit('reload', module);
      }),
    );
    this.server = options.tls
      ? tls.createServer(options.tls, (socket) => this.accept(socket))
      : net.createServer((socket) => this.accept(socket));
  }

  /** Creates a fake and starts it: `const fake = await FakeAsterisk.start({ users: { admin: 'pw' } })`. */
  static start(options: FakeAsteriskOptions = {}): Promise<FakeAsterisk> {
    return new FakeAsterisk(options).start();
  }

  /** Starts listening; resolves once the port is known. */
  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.address = this.server.address() as net.AddressInfo;
    return this;
  }

  /** The address listened on. */
  get host(): string {
    return this.address?.address ?? this.options.host ?? '127.0.0.1';
  }

  /** The port listened on (after `start()`). */
  get port(): number {
    if (!this.address) throw new Error('FakeAsterisk.start() has not completed');
    return this.address.port;
  }

  /** The connections currently open. */
  get sessions(): ReadonlySet<FakeAmiSession> {
    return this.sessionSet;
  }

  /**
   * Handles action `name` (any case) with `handler`, replacing a built-in one. Return fields to answer
   * `Response: Success` with them, or write through the session (`respond`, `error`, `sendList`, `event`).
   * A user whose `write=` shares no class with the action's (`options.privilege`, else Asterisk's own for
   * the actions it knows) gets `Permission denied` and the handler does not run.
   */
  onAction(name: string, handler: FakeActionHandler, options: FakeActionOptions = {}): this {
    const lower = name.toLowerCase();
    this.handlers.set(lower, handler);
    if (options.privilege !== undefined) this.privileges.set(lower, classBits(options.privilege));
    return this;
  }

  /** Output of CLI command `cli` for the `Command` action; `{ error: true, output }` for a failing one. */
  onCommand(cli: string, result: FakeCommandResult | ((cli: string) => FakeCommandResult)): this {
    this.commands.set(cli, result);
    return this;
  }

  /**
   * Serves `filename` to `GetConfig` and `UpdateConfig` (which replaces it with the changed copy). Text is
   * parsed as a `.conf` file. Both work on the file as Asterisk loads it: `GetConfig` shows templates only
   * with `Filter: TEMPLATES=include`, and lists a category's inherited template lines before its own;
   * `UpdateConfig` applies its changes to that and writes back what Asterisk would.
   */
  setConfig(filename: string, conf: ConfFile | string): this {
    this.files.set(filename, typeof conf === 'string' ? ConfFile.parse(conf) : conf);
    return this;
  }

  /** The current content of `filename` (after any `UpdateConfig`, or as on disk with `configDir`), or `undefined`. */
  config(filename: string): ConfFile | undefined {
    return this.files.get(filename);
  }

  /**
   * Sends event `name` to every logged-in session whose event mask holds the event's class, as Asterisk
   * does: the class is read from a `Privilege` field (`'call,all'`) or, for the events Asterisk sends, known
   * by name (`Newchannel`, `Hangup`: call; `VarSet`, `Newexten`: dialplan; `PeerStatus`: system; `UserEvent`:
   * user...), and a `Privilege` line is added the way Asterisk writes it. An event of unknown class goes to
   * every session with events on.
   */
  emitEvent(name: string, fields?: FakeFields): void {
    const pairs = fieldPairs(fields);
    const given = pairs.find(([key]) => key.toLowerCase() === 'privilege')?.[1];
    const bits = eventClass(name, given === undefined ? undefined : String(given));
    const privilege: Array<[string, string]> =
      given === undefined && bits !== 0 ? [['Privilege', privilegeText(bits)]] : [];
    this.broadcast(name, [...privilege, ...pairs], bits);
  }

  private broadcast(name: string, fields: FakeFields, bits: number): void {
    for (const session of this.sessionSet) {
      if (!session.authenticated) continue;
      const wanted = bits === 0 ? session.eventMask !== 0 : (session.eventMask & bits) === bits;
      if (wanted) session.event(name, fields);
    }
  }

  /** Resolves with the next action named `name` (any case) that arrives. */
  nextAction(name: string): Promise<AmiMessage> {
    const wanted = name.toLowerCase();
    return new Promise((resolve) => {
      const listener = (action: AmiMessage): void => {
        if (action.name.toLowerCase() !== wanted) return;
        this.off('action', listener);
        resolve(action);
      };
      this.on('action', listener);
    });
  }

  /** Resolves with the next session to connect. */
  nextSession(): Promise<FakeAmiSession> {
    return new Promise((resolve) => this.once('session', resolve));
  }

  /** Drops every connection at once, as a crash or restart of Asterisk would. */
  dropConnections(): void {
    for (const session of this.sessionSet) session.destroy();
  }

  /** Closes every connection and stops listening. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    const session = new FakeAmiSession(++this.sessionSeq, socket);
    this.sessionSet.add(session);
    const parser = new AmiParser({ expectBanner: false });
    // Asterisk runs one session's actions one after the other: while an asynchronous handler (a refused
    // login, say) is running, later actions wait, so replies keep their order.
    const backlog: AmiMessage[] = [];
    let busy = false;
    const run = (action: AmiMessage): void => {
      let result: void | Promise<void>;
      try {
        result = this.handle(action, session);
      } catch {
        session.destroy();
        return;
      }
      if (!result) return;
      busy = true;
      result.then(
        () => {
          busy = false;
          while (!busy && backlog.length > 0) run(backlog.shift() as AmiMessage);
        },
        () => session.destroy(),
      );
    };
    socket.on('close', () => this.sessionSet.delete(session));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      let actions: AmiMessage[];
      try {
        actions = parser.feed(chunk);
      } catch {
        socket.destroy();
        return;
      }
      // Replies to the actions of one chunk leave in one write.
      socket.cork();
      for (const action of actions) {
        if (busy) backlog.push(action);
        else run(action);
      }
      socket.uncork();
    });
    socket.write(`${this.options.banner ?? 'Asterisk Call Manager/11.0.0'}\r\n`);
    this.emit('session', session);
  }

  private handle(action: AmiMessage, session: FakeAmiSession): void | Promise<void> {
    if (this.options.recordActions ?? true) this.actions.push(action);
    this.emit('action', action, session);
    const name = action.get('Action') ?? '';
    const lower = name.toLowerCase();
    if (name === '') {
      session.error(action, 'Missing action in request');
      return;
    }
    if (!session.authenticated && lower !== 'login' && lower !== 'logoff' && lower !== 'challenge') {
      session.error(action, 'Permission denied');
      return;
    }
    const handler = this.handlers.get(lower);
    if (!handler) {
      session.error(
        action,
        `Invalid/unknown command: ${name}. Use Action: ListCommands to show available commands.`,
      );
      return;
    }
    // manager.c runs an action when the user's write= shares a class with it (or it needs none).
    const needs = this.privileges.get(lower) ?? actionClasses(lower) ?? 0;
    if (session.authenticated && needs !== 0 && (session.writePermission & needs) === 0) {
      session.error(action, 'Permission denied');
      return;
    }
    const reply = handler(action, session);
    if (reply instanceof Promise) {
      return reply.then((fields) => {
        if (fields) session.respond(action, fields);
      });
    }
    if (reply) session.respond(action, reply);
  }
}
