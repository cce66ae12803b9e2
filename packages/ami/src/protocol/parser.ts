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
// A line end followed by an empty line: the end of a message.
const CRLF_BLANK = Buffer.from('\n\r\n');
const LF_BLANK = Buffer.from('\n\n');
// Frozen: it is shared by every message without free text.
const NO_TEXT = Object.freeze([]) as unknown as string[];

/**
 * Sans-I/O AMI parser: feed it the bytes of a connection, in chunks split anywhere, and it returns the
 * complete messages.
 *
 * Framing: the banner is one line with no blank line after it; each message is `Key: value` lines ended by
 * an empty line; CRLF and bare LF are both accepted. Pre-Asterisk-14 `Response: Follows` command output (raw
 * lines up to `--END COMMAND--`, empty lines included) is collected into {@link AmiMessage.text}.
 *
 * Each byte is scanned once, for LF (UTF-8 never uses byte 0x0A inside a character, so cutting there is
 * safe); a message is decoded once, when its blank line arrives, and the bytes of an unfinished one wait.
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
  // Bytes of the unfinished message from earlier chunks, from its first byte, and its last two bytes.
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private prev1 = -1;
  private prev2 = -1;
  // The message being assembled from its decoded text.
  private keys: string[] = [];
  private values: string[] = [];
  private text: string[] = NO_TEXT;
  private actionId: string | undefined;
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
    return this.partsBytes;
  }

  /** Parses `chunk` and returns the messages it completed (possibly none), in order. */
  feed(chunk: Buffer): AmiMessage[] {
    this.out = [];
    try {
      this.scan(chunk);
    } catch (err) {
      this.reset();
      throw err;
    }
    return this.out;
  }

  /** Forgets everything buffered, e.g. before reusing the parser on a new connection. */
  reset(): void {
    this.parts = [];
    this.partsBytes = 0;
    this.prev1 = -1;
    this.prev2 = -1;
    this.clearMessage();
  }

  /** Like {@link AmiParser.reset}, and expects a banner again, as on a fresh connection. */
  restart(expectBanner = true): void {
    this.reset();
    this.banner = undefined;
    this.expectBanner = expectBanner;
  }

  /**
   * Finds message ends (a line end followed by an empty line) with native byte searches, about one per
   * message, and decodes each message once, into its own string: values sliced from it keep that message
   * alive, never a whole socket chunk. Bytes of an unfinished message are carried (indices below 0 stand for
   * them) and joined once, when it completes.
   */
  private scan(chunk: Buffer): void {
    let pos = 0;
    if (this.expectBanner) {
      pos = this.scanBanner(chunk);
      if (this.expectBanner) return;
    }
    let msgStart = this.partsBytes > 0 ? -this.partsBytes : pos;
    let nextCrlf = -2;
    let nextLf = -2;
    let from = pos;
    for (;;) {
      let contentEnd: number;
      let termEnd: number;
      const straddle = from === 0 && this.partsBytes > 0 ? this.straddlingEnd(chunk) : undefined;
      if (straddle) {
        [contentEnd, termEnd] = straddle;
      } else {
        if (nextCrlf !== -1 && nextCrlf < from) nextCrlf = chunk.indexOf(CRLF_BLANK, from);
        if (nextLf !== -1 && nextLf < from) nextLf = chunk.indexOf(LF_BLANK, from);
        if (nextCrlf === -1 && nextLf === -1) break;
        if (nextLf === -1 || (nextCrlf !== -1 && nextCrlf < nextLf)) {
          contentEnd = nextCrlf + 1;
          termEnd = nextCrlf + 3;
        } else {
          contentEnd = nextLf + 1;
          termEnd = nextLf + 2;
        }
      }
      from = termEnd;
      if (contentEnd - msgStart > this.maxBytes) this.tooLarge();
      // A blank line inside a `Response: Follows` body does not end it; the one after --END COMMAND-- does.
      if (this.isOpenFollows(chunk, msgStart, contentEnd)) continue;
      this.complete(chunk, msgStart, contentEnd);
      msgStart = termEnd;
    }
    this.carry(chunk, msgStart);
  }

  private scanBanner(chunk: Buffer): number {
    const nl = chunk.indexOf(LF);
    if (nl === -1) {
      this.carry(chunk, this.partsBytes > 0 ? -this.partsBytes : 0);
      return chunk.length;
    }
    const line = this.bytes(chunk, this.partsBytes > 0 ? -this.partsBytes : 0, nl).toString('utf8');
    this.parts = [];
    this.partsBytes = 0;
    this.bannerLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    return nl + 1;
  }

  /** `[contentEnd, termEnd]` of a message end split between the carried bytes and `chunk`, if any. */
  private straddlingEnd(chunk: Buffer): [number, number] | undefined {
    const c0 = chunk[0];
    if (this.prev1 === CR && this.prev2 === LF && c0 === LF) return [-1, 1];
    if (this.prev1 === LF && c0 === LF) return [0, 1];
    if (this.prev1 === LF && c0 === CR && chunk[1] === LF) return [0, 2];
    return undefined;
  }

  /** The bytes from `start` (negative: carried) to `end` in `chunk`. */
  private bytes(chunk: Buffer, start: number, end: number): Buffer {
    if (start >= 0) return chunk.subarray(start, end);
    return Buffer.concat([...this.parts, chunk.subarray(0, Math.max(0, end))]).subarray(0, end - start);
  }

  private isOpenFollows(chunk: Buffer, start: number, end: number): boolean {
    // Cheap tests first, on the message's first bytes (after any stray blank lines): an R, then the F of
    // `Follows` at the 10th or 11th byte; only then decode a few bytes and, rarely, search the body.
    let head = this.head(chunk, start, end, 64);
    let k = 0;
    while (k < head.length && (head[k] === CR || head[k] === LF)) k++;
    if (k === head.length && head.length < end - start) {
      head = this.bytes(chunk, start, end);
      while (k < head.length && (head[k] === CR || head[k] === LF)) k++;
    }
    const first = head[k];
    if (first === undefined || (first | 0x20) !== 0x72) return false;
    const a = head[k + 9];
    const b = head[k + 10];
    if (
      a !== undefined &&
      b !== undefined &&
      (a | 0x20) !== 0x66 &&
      (b | 0x20) !== 0x66 &&
      b !== 0x20 &&
      b !== 0x09
    ) {
      return false;
    }
    if (!/^response:[ \t]*follows[ \t]*\r?\n/i.test(head.toString('latin1', k, k + 40))) return false;
    return this.bytes(chunk, start, end).indexOf(END_COMMAND) === -1;
  }

  /** Up to `n` bytes from the message start, without joining carried bytes when the first part has them. */
  private head(chunk: Buffer, start: number, end: number, n: number): Buffer {
    if (start >= 0) return chunk.subarray(start, Math.min(end, start + n));
    // A carried message starts at the first carried part.
    const first = this.parts[0];
    if (first && first.length >= n) return first.subarray(0, n);
    return this.bytes(chunk, start, Math.min(end, start + n));
  }

  private complete(chunk: Buffer, start: number, end: number): void {
    let text: string;
    if (start >= 0) {
      text = chunk.toString('utf8', start, end);
    } else {
      text = this.bytes(chunk, start, end).toString('utf8');
      this.parts = [];
      this.partsBytes = 0;
    }
    this.lines(text);
    this.endMessage();
  }

  /** Keeps the bytes of `chunk` from `start` (the unfinished message), copied: a caller may reuse its buffer. */
  private carry(chunk: Buffer, start: number): void {
    const from = Math.max(0, start);
    if (from >= chunk.length) return;
    // The byte before a lone carried byte is only meaningful if it belongs to the same message.
    const before = this.partsBytes > 0 ? this.prev1 : -1;
    this.parts.push(Buffer.from(chunk.subarray(from)));
    this.partsBytes += chunk.length - from;
    this.prev2 = chunk.length - from >= 2 ? (chunk[chunk.length - 2] as number) : before;
    this.prev1 = chunk[chunk.length - 1] as number;
    if (this.partsBytes > this.maxBytes) this.tooLarge();
  }

  private tooLarge(): never {
    throw new AmiProtocolError(
      `AMI message exceeds ${this.maxBytes} bytes without ending`,
      'AMI_MESSAGE_TOO_LARGE',
    );
  }

  // `text` is one message: whole lines, each ending in LF, without the blank line that ended it.
  private lines(text: string): void {
    const len = text.length;
    let pos = 0;
    while (pos < len) {
      const nl = text.indexOf('\n', pos);
      let end = nl;
      if (end > pos && text.charCodeAt(end - 1) === CR) end--;
      if (this.follows !== 0) this.followsLine(text, pos, end);
      else if (end > pos) this.headerLine(text, pos, end);
      pos = nl + 1;
    }
  }

  private bannerLine(line: string): void {
    this.expectBanner = false;
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
      this.addText(text.slice(start, end));
      return;
    }
    const key = text.slice(start, colon);
    let valueStart = colon + 1;
    // One space separates key and value; further spaces belong to the value (`Output:   '100' =>`).
    if (valueStart < end && text.charCodeAt(valueStart) === SPACE) valueStart++;
    const value = text.slice(valueStart, end);
    // Many keys have 8 letters (Priority, Uniqueid, Linkedid...): compare the exact spelling, and lower-case
    // only a key that starts with an A.
    if (
      colon - start === 8 &&
      this.actionId === undefined &&
      (key === 'ActionID' || ((key.charCodeAt(0) | 0x20) === 0x61 && key.toLowerCase() === 'actionid'))
    ) {
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
      // After the end marker only the terminating blank line (which ended the text) or stray headers.
      if (end > start) this.headerLine(text, start, end);
      return;
    }
    const line = text.slice(start, end);
    if (line.endsWith(END_COMMAND)) {
      // Output without a final newline is glued to the marker: `last line--END COMMAND--`.
      const rest = line.slice(0, line.length - END_COMMAND.length);
      if (rest.length > 0) this.addText(rest);
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
    this.addText(line);
  }

  // Most messages have no free text: they share one empty array instead of allocating their own.
  private addText(line: string): void {
    if (this.text === NO_TEXT) this.text = [];
    this.text.push(line);
  }

  private endMessage(): void {
    // Stray blank lines between messages are not a message.
    if (this.keys.length === 0 && this.text === NO_TEXT) return;
    this.out.push(new AmiMessage(this.keys, this.values, this.text, this.actionId ?? null));
    this.clearMessage();
  }

  private clearMessage(): void {
    this.keys = [];
    this.values = [];
    this.text = NO_TEXT;
    this.actionId = undefined;
    this.follows = 0;
  }
}
