import type { Socket } from 'node:net';
import type { AmiMessage } from '@pbxkit/ami';

/**
 * Fields a fake reply carries after its first line: an object (an array value repeats the key, in order)
 * or `[key, value]` pairs when order across keys matters.
 */
export type FakeFields =
  | Readonly<Record<string, string | number | readonly (string | number)[]>>
  | ReadonlyArray<readonly [string, string | number]>;

/** Options of {@link FakeAmiSession.sendList}. */
export interface FakeListOptions {
  /** `Message:` of the first response. Default `Results will follow`. */
  message?: string;
  /** Name of the closing event. Default the action name + `Complete` (`CoreShowChannelsComplete`). */
  completeEvent?: string;
  /** Extra fields of the closing event, after `ListItems`. */
  completeFields?: FakeFields;
}

/** `fields` as `[key, value]` pairs in order, a repeated key once per value. */
export function fieldPairs(fields: FakeFields | undefined): Array<[string, string | number]> {
  if (!fields) return [];
  const pairs: Iterable<readonly [string, unknown]> = Array.isArray(fields)
    ? (fields as ReadonlyArray<readonly [string, string | number]>)
    : Object.entries(fields);
  const out: Array<[string, string | number]> = [];
  for (const [key, value] of pairs) {
    if (Array.isArray(value)) for (const v of value) out.push([key, v]);
    else out.push([key, value as string | number]);
  }
  return out;
}

function renderFields(fields: FakeFields | undefined): string {
  let out = '';
  for (const [key, value] of fieldPairs(fields)) out += `${key}: ${value}\r\n`;
  return out;
}

function idLine(action: AmiMessage): string {
  const id = action.get('ActionID');
  // Asterisk echoes ActionID only when the action had a non-empty one.
  return id ? `ActionID: ${id}\r\n` : '';
}

/**
 * One client connection to a `FakeAsterisk`, with helpers that write replies byte for byte the way
 * Asterisk 22 does (`astman_send_response_full`): `Response`, `ActionID` only if the action had one, then
 * `EventList`, then `Message`, then a blank line.
 */
export class FakeAmiSession {
  /** True after a successful `Login`. */
  authenticated = false;
  /** The user that logged in. */
  username: string | undefined;
  /** The user's `read=` classes (bits of `AMI_CLASSES`), set at login. */
  readPermission = 0;
  /** The user's `write=` classes: an action runs only when they share a class with the action's. */
  writePermission = 0;
  /**
   * The classes of events this session receives: its `read=` classes narrowed by the login's `Events:` and
   * later `Events` actions (manager.c `send_events`). An event goes out only when its class is in it.
   */
  eventMask = 0;
  /** The MD5 challenge handed out by `Challenge`, if any. */
  challenge: string | undefined;

  constructor(
    /** Sequential number of this session on its server, from 1. */
    readonly id: number,
    private readonly socket: Socket,
  ) {}

  /** `address/port` of the server end, as Asterisk prints it in security events. */
  get localAddress(): string {
    return `${this.socket.localAddress ?? ''}/${this.socket.localPort ?? ''}`;
  }

  /** `address/port` of the client end. */
  get remoteAddress(): string {
    return `${this.socket.remoteAddress ?? ''}/${this.socket.remotePort ?? ''}`;
  }

  /** Whether this session receives events at all (`Events: off` in the login turns them off). */
  get eventsOn(): boolean {
    return this.eventMask !== 0;
  }

  set eventsOn(on: boolean) {
    this.eventMask = on ? this.readPermission : 0;
  }

  /** True once the socket is closed. */
  get closed(): boolean {
    return this.socket.destroyed;
  }

  /** Writes raw bytes, e.g. a captured `.rx` stream or a deliberately malformed message. */
  write(data: string | Buffer): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  /** Resolves when the socket can take more data again (after `write` returned false). */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.socket.writableNeedDrain || this.socket.destroyed) resolve();
      else this.socket.once('drain', () => resolve());
    });
  }

  /**
   * `Response: <status>` to `action`: then `ActionID` (if the action had one), `Message` (if given), the
   * fields, and free text lines such as `No categories found`.
   */
  reply(
    status: string,
    action: AmiMessage,
    fields?: FakeFields,
    message?: string,
    text: readonly string[] = [],
  ): void {
    const msg = message === undefined ? '' : `Message: ${message}\r\n`;
    const lines = text.map((line) => `${line}\r\n`).join('');
    this.write(`Response: ${status}\r\n${idLine(action)}${msg}${renderFields(fields)}${lines}\r\n`);
  }

  /** `Response: Success` to `action`, with `Message` (if given) then `fields`. */
  respond(action: AmiMessage, fields?: FakeFields, message?: string): void {
    this.reply('Success', action, fields, message);
  }

  /** `Response: Error` to `action` with `Message: message`, then `fields` (e.g. `Output`). */
  error(action: AmiMessage, message: string, fields?: FakeFields): void {
    this.reply('Error', action, fields, message);
  }

  /** An event named `name` with `fields`; an `ActionID` field ties it to an action. */
  event(name: string, fields?: FakeFields): void {
    this.write(`Event: ${name}\r\n${renderFields(fields)}\r\n`);
  }

  /**
   * A complete event list as Asterisk sends it: `Response: Success` with `EventList: start`, one event per
   * item carrying the ActionID, then `<Action>Complete` with `EventList: Complete` and `ListItems`.
   */
  sendList(
    action: AmiMessage,
    itemEvent: string,
    items: readonly FakeFields[],
    options: FakeListOptions = {},
  ): void {
    const id = idLine(action);
    let out = `Response: Success\r\n${id}EventList: start\r\nMessage: ${options.message ?? 'Results will follow'}\r\n\r\n`;
    for (const item of items) out += `Event: ${itemEvent}\r\n${id}${renderFields(item)}\r\n`;
    const complete = options.completeEvent ?? `${action.name}Complete`;
    out += `Event: ${complete}\r\n${id}EventList: Complete\r\nListItems: ${items.length}\r\n${renderFields(options.completeFields)}\r\n`;
    this.write(out);
  }

  /** Closes the connection after what was written is flushed, as Asterisk does after `Logoff`. */
  end(): void {
    this.socket.end();
  }

  /** Drops the connection at once, like a crash or a network cut. */
  destroy(): void {
    this.socket.destroy();
  }
}
