import { AmiProtocolError } from '../errors.js';
import { AmiMessage } from './message.js';

/** The greeting line Asterisk sends once, before any message. */
export interface AmiBanner {
  /** The line as sent, without its line ending: `Asterisk Call Manager/11.0.0`. */
  readonly raw: string;
  /** The AMI protocol version after the slash: `11.0.0`. */
  readonly version: string;
}

/** Options of {@link AmiParser}. */
export interface AmiParserOptions {
  /**
   * Largest message accepted, in bytes (approximately: counted in decoded characters). A larger one throws an
   * {@link AmiProtocolError} with code `AMI_MESSAGE_TOO_LARGE` instead of growing memory without bound.
   * Default 8 MiB, room for `GetConfig` of a configuration with thousands of peers.
   */
  maxMessageBytes?: number;
  /**
   * Whether the stream starts with the `Asterisk Call Manager/...` banner (default `true`). When expected, a
   * first line that is not a banner throws `AMI_NOT_AMI`: the client reached something that does not speak
   * AMI. Pass `false` to parse a stream picked up after the banner.
   */
  expectBanner?: boolean;
}

const LF = 10;
const CR = 13;
const SPACE = 32;
const BANNER_PREFIX = 'Asterisk Call Manager';
const END_COMMAND = '--END COMMAND--';

/**
 * Sans-I/O AMI parser: feed it the bytes of a connection, in chunks split anywhere, and it returns the
 * complete messages.
 *
 * Framing: the banner is one line with no blank line after it; each message is `Key: value` lines ended by
 * an empty line; CRLF and bare LF are both accepted. Pre-Asterisk-14 `Response: Follows` command output (raw
 * lines up to `--END COMMAND--`, empty lines included) is collected into {@link AmiMessage.text}.
 *
 * Each chunk is scanned once: only the complete lines are decoded (UTF-8 never uses byte 0x0A inside a
 * character, so cutting at LF is safe), and the bytes of an unfinished last line wait for the next chunk.
 * After a thrown {@link AmiProtocolError} the parser has discarded its state; the stream is not trustworthy
 * and the connection should be closed.
 *
 * @example
 * ```ts
 * const parser = new AmiParser();
 * socket.on('data', (chunk) => {
 *   for (const msg of parser.feed(chunk)) console.log(msg.type, msg.name, msg.get('ActionID'));
 * });
 * ```
 */
export class AmiParser {
  /** The banner, once received. */
  banner: AmiBanner | undefined;
  private readonly maxBytes: number;
  private expectBanner: boolean;
  // Bytes of a line whose LF has not arrived yet.
  private tail: Buffer[] = [];
  private tailBytes = 0;
  // The message being assembled.
  private keys: string[] = [];
  private values: string[] = [];
  private text: string[] = [];
  private actionId: string | undefined;
  private size = 0;
  // Inside a `Response: Follows` body: 1 = headers, 2 = output, 3 = `--END COMMAND--` seen.
  private follows = 0;
  private out: AmiMessage[] = [];

  constructor(options: AmiParserOptions = {}) {
    this.maxBytes = options.maxMessageBytes ?? 8 * 1024 * 1024;
    this.expectBanner = options.expectBanner ?? true;
    if (!(this.maxBytes >= 64)) throw new RangeError('maxMessageBytes must be >= 64');
  }

  /** Bytes received but not yet part of a complete message (what a slow or hostile peer holds in memory). */
  get bufferedBytes(): number {
    return this.size + this.tailBytes;
  }

  /** Parses `chunk` and returns the messages it completed (possibly none), in order. */
  feed(chunk: Buffer): AmiMessage[] {
    this.out = [];
    try {
      let start = 0;
      if (this.tailBytes > 0) {
        const nl = chunk.indexOf(LF);
        if (nl === -1) {
          this.keepTail(chunk);
          return this.out;
        }
        this.tail.push(chunk.subarray(0, nl + 1));
        const line = Buffer.concat(this.tail, this.tailBytes + nl + 1).toString('utf8');
        this.tail = [];
        this.tailBytes = 0;
        this.lines(line);
        start = nl + 1;
      }
      const last = chunk.lastIndexOf(LF);
      if (last >= start) {
        this.lines(chunk.toString('utf8', start, last + 1));
        start = last + 1;
      }
      if (start < chunk.length) this.keepTail(start === 0 ? chunk : chunk.subarray(start));
    } catch (err) {
      this.reset();
      throw err;
    }
    return this.out;
  }

  /** Forgets everything buffered, e.g. before reusing the parser on a new connection. */
  reset(): void {
    this.tail = [];
    this.tailBytes = 0;
    this.clearMessage();
    this.follows = 0;
  }

  /** Like {@link AmiParser.reset}, and expects a banner again, as on a fresh connection. */
  restart(expectBanner = true): void {
    this.reset();
    this.banner = undefined;
    this.expectBanner = expectBanner;
  }

  private keepTail(bytes: Buffer): void {
    // Copied: a subarray would pin the whole socket chunk in memory for the sake of a few bytes.
    this.tail.push(Buffer.from(bytes));
    this.tailBytes += bytes.length;
    if (this.size + this.tailBytes > this.maxBytes) this.tooLarge();
  }

  private tooLarge(): never {
    throw new AmiProtocolError(
      `AMI message exceeds ${this.maxBytes} bytes without ending`,
      'AMI_MESSAGE_TOO_LARGE',
    );
  }

  // `text` holds whole lines, each ending in LF.
  private lines(text: string): void {
    const len = text.length;
    let pos = 0;
    while (pos < len) {
      const nl = text.indexOf('\n', pos);
      let end = nl;
      if (end > pos && text.charCodeAt(end - 1) === CR) end--;
      this.size += nl + 1 - pos;
      if (this.size > this.maxBytes) this.tooLarge();
      if (this.expectBanner) this.bannerLine(text.slice(pos, end));
      else if (this.follows !== 0) this.followsLine(text, pos, end);
      else if (end === pos) this.endMessage();
      else this.headerLine(text, pos, end);
      pos = nl + 1;
    }
  }

  private bannerLine(line: string): void {
    this.expectBanner = false;
    this.size = 0;
    if (!line.startsWith(BANNER_PREFIX)) {
      throw new AmiProtocolError(
        `not an AMI server: first line ${JSON.stringify(line.slice(0, 80))}`,
        'AMI_NOT_AMI',
      );
    }
    const slash = line.lastIndexOf('/');
    this.banner = { raw: line, version: slash === -1 ? '' : line.slice(slash + 1) };
  }

  private headerLine(text: string, start: number, end: number): void {
    const colon = text.indexOf(':', start);
    if (colon === -1 || colon >= end) {
      this.text.push(text.slice(start, end));
      return;
    }
    const key = text.slice(start, colon);
    let valueStart = colon + 1;
    // One space separates key and value; further spaces belong to the value (`Output:   '100' =>`).
    if (valueStart < end && text.charCodeAt(valueStart) === SPACE) valueStart++;
    const value = text.slice(valueStart, end);
    if (colon - start === 8 && this.actionId === undefined && key.toLowerCase() === 'actionid') {
      this.actionId = value;
    }
    if (this.keys.length === 0 && colon - start === 8 && key.toLowerCase() === 'response') {
      if (value.toLowerCase() === 'follows') this.follows = 1;
    }
    this.keys.push(key);
    this.values.push(value);
  }

  private followsLine(text: string, start: number, end: number): void {
    if (this.follows === 3) {
      // After the end marker only the terminating blank line (or stray headers) may come.
      if (end === start) {
        this.follows = 0;
        this.endMessage();
      } else this.headerLine(text, start, end);
      return;
    }
    const line = text.slice(start, end);
    if (line.endsWith(END_COMMAND)) {
      // Output without a final newline is glued to the marker: `last line--END COMMAND--`.
      const rest = line.slice(0, line.length - END_COMMAND.length);
      if (rest.length > 0) this.text.push(rest);
      this.follows = 3;
      return;
    }
    if (this.follows === 1) {
      const colon = line.indexOf(':');
      const key = colon === -1 ? '' : line.slice(0, colon).toLowerCase();
      if (key === 'privilege' || key === 'actionid') {
        this.headerLine(text, start, end);
        return;
      }
      this.follows = 2;
    }
    this.text.push(line);
  }

  private endMessage(): void {
    if (this.keys.length === 0 && this.text.length === 0) {
      // A stray blank line between messages is not a message.
      this.size = 0;
      return;
    }
    this.out.push(new AmiMessage(this.keys, this.values, this.text, this.actionId ?? null));
    this.clearMessage();
  }

  private clearMessage(): void {
    this.keys = [];
    this.values = [];
    this.text = [];
    this.actionId = undefined;
    this.size = 0;
  }
}
