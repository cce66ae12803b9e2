import { createHash, randomInt } from 'node:crypto';
import { AMI_CLASSES, type AmiMessage, parseAmiEventMask } from '@pbxkit/ami';
import type { FakeAmiSession, FakeFields } from './fake-session.js';

/** Handles one action on a `FakeAsterisk`; returning fields sends them as a `Response: Success`. */
export type FakeActionHandler = (
  action: AmiMessage,
  session: FakeAmiSession,
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that wrote its own reply returns nothing
) => void | FakeFields | Promise<void | FakeFields>;

/** What a `Command` handler returns: output text, or a failed command's output. */
export type FakeCommandResult = string | { error: true; output: string };

/** A `manager.conf` user as the fake keeps it: its secret and its `read=`/`write=` class bits. */
export interface FakeUserEntry {
  secret: string;
  read: number;
  write: number;
}

/** The state the built-in handlers read: users, commands, timing. */
export interface BuiltinContext {
  users: ReadonlyMap<string, FakeUserEntry>;
  commands: ReadonlyMap<string, FakeCommandResult | ((cli: string) => FakeCommandResult)>;
  loginFailureDelayMs: number;
  startedAt: number;
  /** `systemname` of asterisk.conf: when set, events carry `SystemName`. */
  systemName: string | undefined;
  setTimer(fn: () => void, ms: number): void;
  /** Sends an event of class `bits` to every logged-in session whose event mask holds that class. */
  broadcast(name: string, fields: FakeFields, bits: number): void;
}

function secondsSince(start: number): number {
  return Math.floor((Date.now() - start) / 1000);
}

function loginAccepted(ctx: BuiltinContext, action: AmiMessage, session: FakeAmiSession): boolean {
  const username = action.get('Username') ?? '';
  const secret = ctx.users.get(username)?.secret;
  if (secret === undefined) return false;
  if ((action.get('AuthType') ?? '').toLowerCase() === 'md5') {
    if (!session.challenge) return false;
    const key = createHash('md5').update(`${session.challenge}${secret}`).digest('hex');
    return key === action.get('Key');
  }
  return action.get('Secret') === secret;
}

/** Asterisk's timestamps in security events: `2026-11-23T07:30:19.171+0000`. */
function eventTime(date = new Date()): string {
  return `${date.toISOString().slice(0, 23)}+0000`;
}

/** The security event Asterisk sends after a login (the `security` class is part of `Events: on`). */
function successfulAuth(ctx: BuiltinContext, session: FakeAmiSession): Array<[string, string]> {
  const now = eventTime();
  return [
    ['Privilege', 'security,all'],
    ...(ctx.systemName ? ([['SystemName', ctx.systemName]] as Array<[string, string]>) : []),
    ['EventTV', now],
    ['Severity', 'Informational'],
    ['Service', 'AMI'],
    ['EventVersion', '1'],
    ['AccountID', session.username ?? ''],
    ['SessionID', `0x${(0x7f0000000000 + session.id * 0x1000).toString(16)}`],
    ['LocalAddress', `IPV4/TCP/${session.localAddress}`],
    ['RemoteAddress', `IPV4/TCP/${session.remoteAddress}`],
    ['UsingPassword', '0'],
    ['SessionTV', now],
  ];
}

/** The actions every fake server answers unless a test overrides them. */
export function builtinActions(ctx: BuiltinContext): Map<string, FakeActionHandler> {
  const handlers = new Map<string, FakeActionHandler>();

  handlers.set('login', async (action, session) => {
    if (session.authenticated) {
      session.respond(action, undefined, 'Already authenticated');
      return;
    }
    if (!loginAccepted(ctx, action, session)) {
      // Asterisk sleeps a second before refusing (holding the session's later actions), then drops it.
      await new Promise<void>((resolve) => ctx.setTimer(resolve, ctx.loginFailureDelayMs));
      session.error(action, 'Authentication failed');
      session.end();
      return;
    }
    const user = ctx.users.get(action.get('Username') ?? '') as FakeUserEntry;
    session.authenticated = true;
    session.username = action.get('Username');
    session.readPermission = user.read;
    session.writePermission = user.write;
    // No Events header (or an empty one): the user's read= classes; else those narrowed by the mask.
    const mask = parseAmiEventMask(action.get('Events'));
    session.eventMask = mask === undefined ? user.read : user.read & mask;
    session.respond(action, undefined, 'Authentication accepted');
    if (session.eventMask & AMI_CLASSES.system) {
      const up = secondsSince(ctx.startedAt);
      session.event('FullyBooted', {
        Privilege: 'system,all',
        Uptime: up,
        LastReload: up,
        Status: 'Fully Booted',
      });
    }
    if (session.eventMask & AMI_CLASSES.security) {
      session.event('SuccessfulAuth', successfulAuth(ctx, session));
    }
  });

  handlers.set('challenge', (action, session) => {
    if ((action.get('AuthType') ?? '').toLowerCase() !== 'md5') {
      session.error(action, 'Must specify AuthType');
      return;
    }
    session.challenge ??= String(randomInt(1, 2 ** 31 - 1));
    return { Challenge: session.challenge };
  });

  handlers.set('logoff', (action, session) => {
    session.write(
      `Response: Goodbye\r\n${action.get('ActionID') ? `ActionID: ${action.get('ActionID')}\r\n` : ''}`,
    );
    session.write('Message: Thanks for all the fish.\r\n\r\n');
    session.end();
  });

  handlers.set('ping', () => ({ Ping: 'Pong', Timestamp: (Date.now() / 1000).toFixed(6) }));

  handlers.set('events', (action, session) => {
    const mask = parseAmiEventMask(action.get('EventMask'));
    if (mask === undefined) {
      session.error(action, 'Invalid event mask');
      return;
    }
    // The session gets what it asked for within its read= classes; the answer tells what it asked for.
    session.eventMask = session.readPermission & mask;
    return { Events: mask > 0 ? 'On' : 'Off' };
  });

  handlers.set('command', (action, session) => {
    const cli = action.get('Command') ?? '';
    if (cli === '') {
      session.error(action, 'No command provided');
      return;
    }
    const entry = ctx.commands.get(cli);
    const result: FakeCommandResult =
      entry === undefined
        ? {
            error: true,
            output: `No such command '${cli}' (type 'core show help ${cli}' for other possible commands)`,
          }
        : typeof entry === 'function'
          ? entry(cli)
          : entry;
    const failed = typeof result !== 'string';
    const output = (failed ? result.output : result).replace(/\n$/, '').split('\n');
    session.reply(failed ? 'Error' : 'Success', action, { Output: output }, 'Command output follows');
  });

  handlers.set('originate', (action, session) => {
    const isAsync = ['true', 'yes', '1', 'on'].includes((action.get('Async') ?? '').toLowerCase());
    if (!action.get('Channel')) {
      session.error(action, 'Channel not specified');
      return;
    }
    if (!isAsync) {
      session.respond(action, undefined, 'Originate successfully queued');
      return;
    }
    session.respond(action, undefined, 'Originate successfully queued');
    const callerId = action.get('CallerID') ?? '';
    const match = /^(.*?)\s*<([^>]*)>$/.exec(callerId);
    const app = action.get('Application');
    const id = action.get('ActionID');
    // A call event like any other: every session whose event mask holds `call` gets it, the one that
    // asked included, and no other.
    ctx.broadcast(
      'OriginateResponse',
      [
        ['Privilege', 'call,all'],
        ...(id ? ([['ActionID', id]] as Array<[string, string]>) : []),
        ['Response', 'Success'],
        ['Channel', `${action.get('Channel')}-00000001;1`],
        ...((app
          ? [
              ['Application', app],
              ['Data', action.get('Data') ?? ''],
            ]
          : [
              ['Context', action.get('Context') ?? ''],
              ['Exten', action.get('Exten') ?? ''],
            ]) as Array<[string, string]>),
        ['Reason', '4'],
        ['Uniqueid', `fake-${Date.now()}.${session.id}`],
        ['CallerIDNum', (match ? match[2] : callerId) || '<unknown>'],
        ['CallerIDName', (match ? (match[1] as string).replace(/^"|"$/g, '') : '') || '<unknown>'],
      ],
      AMI_CLASSES.call,
    );
  });

  return handlers;
}
