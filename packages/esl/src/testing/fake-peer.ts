import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import {
  DISCONNECT_NOTICE_TEXT,
  type EslEventFormat,
  type EslFrame,
  EslParser,
  encodeApiResponse,
  encodeCommandReply,
  encodeEventFrame,
  encodeRawFrame,
  type HeaderList,
} from '@pbxkit/esl';
import type { ReplayFrame } from './event-replay.js';

/** What a fake peer needs from the fake server it belongs to. */
export interface FakePeerHost {
  password: string;
  users: Record<string, string>;
  /** Runs an API command; the text is what `api` answers. */
  runApi(command: string, args: string, peer: FakePeer): Promise<string>;
  /** Delivers an event to every interested peer (sendevent, BACKGROUND_JOB). */
  broadcast(headers: HeaderList, body: string): void;
  /** A `sendmsg` for a channel: the fake runs it (execute, hangup). */
  runSendMsg(peer: FakePeer, uuid: string | undefined, frame: EslFrame): void;
  /** Called for every command received, for tests to inspect. */
  record(peer: FakePeer, command: string, frame: EslFrame): void;
}

/** One connection of the fake FreeSWITCH, inbound (a client connected to it) or outbound (it dialled out). */
export class FakePeer {
  readonly id = randomUUID();
  authed: boolean;
  format: EslEventFormat = 'plain';
  readonly events = new Set<string>();
  readonly customSubclasses = new Set<string>();
  readonly filters: Array<[string, string]> = [];
  logLevel: number | undefined;
  lingering = false;
  /** `linger <seconds>`: how long the socket stays after the hang-up; undefined: until the client closes it. */
  lingerSeconds: number | undefined;
  /** The channel whose events this peer gets after `myevents`. */
  myeventsUuid: string | undefined;
  /** Outbound: the channel this socket controls. */
  channelUuid: string | undefined;
  private readonly parser = new EslParser();
  private closed = false;
  /** FreeSWITCH handles one command at a time per connection, so replies keep the order of commands. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly socket: Socket,
    readonly host: FakePeerHost,
    readonly mode: 'inbound' | 'outbound',
    /** Outbound: handles `connect` (the channel data reply). */
    private readonly onConnect?: (peer: FakePeer) => Buffer,
  ) {
    this.authed = mode === 'outbound';
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let frames: EslFrame[];
      try {
        frames = this.parser.feed(chunk);
      } catch {
        this.close();
        return;
      }
      for (const frame of frames) this.handle(frame);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
    if (mode === 'inbound') this.write(Buffer.from('Content-Type: auth/request\n\n'));
  }

  get isOpen(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  write(bytes: Buffer): void {
    if (this.isOpen) this.socket.write(bytes);
  }

  reply(text: string, extra?: Record<string, string>): void {
    this.write(encodeCommandReply(text, extra));
  }

  /** Sends an event if this peer is subscribed to it and it passes the filters. */
  deliver(headers: HeaderList, body: string): void {
    if (!this.wants(headers)) return;
    this.write(encodeEventFrame(headers, body, this.format));
  }

  /** Sends a `log/data` frame if this peer asked for logs at this level. */
  deliverLog(level: number, text: string): void {
    if (this.logLevel === undefined || level > this.logLevel) return;
    const headers: Array<[string, string]> = [
      ['Content-Type', 'log/data'],
      ['Content-Length', String(Buffer.byteLength(text))],
      ['Log-Level', String(level)],
      ['Text-Channel', '3'],
      ['Log-File', 'fake.c'],
      ['Log-Func', 'fake_log'],
      ['Log-Line', '1'],
      ['User-Data', ''],
    ];
    const head = headers.map(([n, v]) => `${n}: ${v}\n`).join('');
    this.write(Buffer.concat([Buffer.from(`${head}\n`), Buffer.from(text)]));
  }

  /** The disconnect notice, then (unless lingering) the socket closes. */
  disconnect(disposition: 'disconnect' | 'linger' = 'disconnect', channelName?: string): void {
    const headers: Array<[string, string]> = [['Content-Type', 'text/disconnect-notice']];
    if (this.channelUuid) {
      headers.push(['Controlled-Session-UUID', this.channelUuid], ['Content-Disposition', disposition]);
      if (channelName) headers.push(['Channel-Name', channelName]);
      if (disposition === 'linger') {
        headers.push(['Linger-Time', String(this.lingerSeconds ?? -1)], ['Content-Length', '0']);
      }
      this.write(Buffer.from(`${headers.map(([n, v]) => `${n}: ${v}\n`).join('')}\n`));
    } else {
      this.write(encodeRawFrame(headers, DISCONNECT_NOTICE_TEXT));
    }
    if (disposition === 'disconnect') this.close();
  }

  /**
   * After a lingering call's final events: FreeSWITCH keeps the socket (and the channel) until the client
   * closes it (`Linger-Time: -1`), or closes it itself after `linger <seconds>`.
   */
  lingerAfterHangup(): void {
    if (this.lingerSeconds === undefined) return;
    const timer = setTimeout(() => this.close(), this.lingerSeconds * 1000);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
  }

  close(): void {
    if (!this.isOpen) return;
    this.closed = true;
    this.socket.end();
  }

  /**
   * The bytes of a replayed event for this peer, or undefined when it is not subscribed to it: the captured
   * bytes when the formats match, else the event re-encoded in this peer's format.
   */
  replayBytes(frame: ReplayFrame): Buffer | undefined {
    if (!this.authed || this.mode !== 'inbound' || !this.wantsEvent((n) => frame.lower.get(n.toLowerCase())))
      return undefined;
    return frame.format === this.format
      ? frame.bytes
      : encodeEventFrame(frame.headers, frame.body, this.format);
  }

  private wants(headers: HeaderList): boolean {
    return this.wantsEvent((name) => headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1]);
  }

  private wantsEvent(get: (name: string) => string | undefined): boolean {
    const name = get('Event-Name') ?? '';
    if (this.myeventsUuid && get('Unique-ID') === this.myeventsUuid) return true;
    if (!this.events.has('ALL') && !this.events.has(name)) return false;
    if (name === 'CUSTOM' && this.customSubclasses.size && !this.events.has('ALL')) {
      const subclass = get('Event-Subclass');
      if (!subclass || !this.customSubclasses.has(subclass)) return false;
    }
    if (this.filters.length === 0) return true;
    return this.filters.some(([header, value]) => get(header) === value);
  }

  private handle(frame: EslFrame): void {
    const command = frame.headerText.split('\n', 1)[0]?.trim() ?? '';
    this.host.record(this, command, frame);
    this.queue = this.queue
      .then(() => (this.authed ? this.handleCommand(command, frame) : this.handleUnauthenticated(command)))
      .catch(() => this.close());
  }

  private handleUnauthenticated(command: string): void {
    if (command.startsWith('auth ')) {
      if (command.slice(5) === this.host.password) {
        this.authed = true;
        this.reply('+OK accepted');
      } else {
        this.rejectCredentials();
      }
    } else if (command.startsWith('userauth ')) {
      const [user, pass] = splitOnce(command.slice(9), ':');
      if (pass !== undefined && this.host.users[user] === pass) {
        this.authed = true;
        this.write(
          Buffer.from(
            'Content-Type: command/reply\nReply-Text: +OK accepted\nAllowed-Events: all\nAllowed-API: all\nAllowed-LOG: true\n\n',
          ),
        );
      } else {
        this.rejectCredentials();
      }
    } else if (command === 'exit') {
      this.reply('+OK bye');
      this.disconnect();
    } else {
      this.reply('-ERR command not found');
    }
  }

  private rejectCredentials(): void {
    this.reply('-ERR invalid');
    this.disconnect();
  }

  private async handleCommand(command: string, frame: EslFrame): Promise<void> {
    const [verb, rest = ''] = splitOnce(command, ' ');
    switch (verb) {
      case 'connect':
        if (this.onConnect) this.write(this.onConnect(this));
        else this.reply('-ERR command not found');
        return;
      case 'api': {
        const [name, args = ''] = splitOnce(rest, ' ');
        this.write(encodeApiResponse(await this.host.runApi(name, args, this)));
        return;
      }
      case 'bgapi': {
        const jobUuid = frame.header('Job-UUID') ?? randomUUID();
        const [name, args = ''] = splitOnce(rest, ' ');
        this.reply(`+OK Job-UUID: ${jobUuid}`, { 'Job-UUID': jobUuid });
        // The job runs in its own thread in FreeSWITCH: later commands are not held behind it.
        void this.host.runApi(name, args, this).then((result) => {
          const headers: Array<[string, string]> = [
            ['Event-Name', 'BACKGROUND_JOB'],
            ['Job-UUID', jobUuid],
            ['Job-Command', name],
          ];
          if (args) headers.push(['Job-Command-Arg', args]);
          this.host.broadcast(headers, result);
        });
        return;
      }
      case 'event':
        return this.reply(this.subscribe(rest));
      case 'nixevent': {
        const names = rest.split(' ').filter(Boolean);
        if (!names.length) return this.reply('-ERR no keywords supplied');
        for (const n of names) {
          if (n === 'ALL') this.events.clear();
          this.events.delete(n);
          this.customSubclasses.delete(n);
        }
        return this.reply('+OK events nixed');
      }
      case 'noevents':
        if (!this.events.size) return this.reply('-ERR not listening for events');
        this.events.clear();
        this.customSubclasses.clear();
        return this.reply('+OK no longer listening for events');
      case 'filter':
        return this.reply(this.filter(rest));
      case 'log': {
        const level = rest === '' ? 7 : Number(rest);
        if (!Number.isInteger(level) || level < 0 || level > 7) return this.reply('-ERR invalid log level');
        this.logLevel = level;
        return this.reply(`+OK log level ${rest || 'debug'} [${level}]`);
      }
      case 'nolog':
        if (this.logLevel === undefined) return this.reply('-ERR not loging');
        this.logLevel = undefined;
        return this.reply('+OK no longer logging');
      case 'linger':
        if (this.mode !== 'outbound') return this.reply('-ERR not controlling a session');
        this.lingering = true;
        this.lingerSeconds = rest && Number(rest) > 0 ? Number(rest) : undefined;
        return this.reply(rest ? `+OK will linger ${Number(rest)} seconds` : '+OK will linger');
      case 'nolinger':
        if (this.mode !== 'outbound') return this.reply('-ERR not controlling a session');
        this.lingering = false;
        this.lingerSeconds = undefined;
        return this.reply('+OK will not linger');
      case 'myevents':
        if (this.myeventsUuid) return this.reply('-ERR aready enabled.');
        this.myeventsUuid = this.mode === 'outbound' ? this.channelUuid : rest.split(' ')[0];
        return this.reply('+OK Events Enabled');
      case 'sendevent': {
        const eventUuid = randomUUID();
        const headers: Array<[string, string]> = [['Event-Name', rest || 'CUSTOM']];
        for (const [n, v] of frame.rawHeaders) headers.push([n, v]);
        headers.push(['Event-UUID', eventUuid]);
        this.host.broadcast(headers, frame.bodyText);
        return this.reply(`+OK ${eventUuid}`);
      }
      case 'sendmsg':
        this.host.runSendMsg(this, rest || undefined, frame);
        return;
      case 'exit':
        this.reply('+OK bye');
        this.disconnect();
        return;
      default:
        this.reply('-ERR command not found');
    }
  }

  private subscribe(rest: string): string {
    const words = rest.split(' ').filter(Boolean);
    let keys = 0;
    let custom = false;
    for (const [i, word] of words.entries()) {
      if (i === 0 && (word === 'plain' || word === 'json' || word === 'xml')) {
        this.format = word;
        continue;
      }
      if (custom && word !== word.toUpperCase()) {
        this.customSubclasses.add(word);
        continue;
      }
      keys++;
      this.events.add(word);
      if (word === 'CUSTOM') custom = true;
    }
    return keys ? `+OK event listener enabled ${this.format}` : '-ERR no keywords supplied';
  }

  private filter(rest: string): string {
    const [first, tail] = splitOnce(rest, ' ');
    if (first === 'delete' && tail) {
      const [header, value] = splitOnce(tail, ' ');
      for (let i = this.filters.length - 1; i >= 0; i--) {
        const [h, v] = this.filters[i] as [string, string];
        if (header === 'all' || (h === header && (value === undefined || v === value)))
          this.filters.splice(i, 1);
      }
      return `+OK filter deleted. [${header}][${value ?? ''}]`;
    }
    if (tail === undefined) return '-ERR invalid syntax';
    this.filters.push([first, tail]);
    return `+OK filter added. [${first}]=[${tail}]`;
  }
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}
