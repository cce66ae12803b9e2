const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines (LF or CRLF) without ever holding more than one line of at most
 * `maxLineBytes` plus the chunk that arrived: sans-I/O, the connection feeds it and asks for lines.
 */
export class LineBuffer {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(readonly maxLineBytes: number) {}

  feed(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
  }

  /**
   * The next complete line without its line end; `tooLong` when the next line is longer than `maxLineBytes`
   * (framing is lost then: the connection should answer and close); `undefined` until a line is complete.
   */
  next(): Buffer | 'tooLong' | undefined {
    const end = this.buffer.indexOf(NEWLINE);
    if (end === -1) return this.buffer.length > this.maxLineBytes ? 'tooLong' : undefined;
    const withoutCr = end > 0 && this.buffer[end - 1] === CR ? end - 1 : end;
    if (withoutCr > this.maxLineBytes) return 'tooLong';
    const line = this.buffer.subarray(0, withoutCr);
    this.buffer = this.buffer.subarray(end + 1);
    return line;
  }

  /** The bytes after the last line end (an unterminated last request), and forgets them. */
  takeRest(): Buffer {
    const rest = this.buffer;
    this.buffer = Buffer.alloc(0);
    return rest;
  }

  /** The unterminated bytes, without taking them. */
  peekRest(): Buffer {
    return this.buffer;
  }

  /** Bytes held. */
  get size(): number {
    return this.buffer.length;
  }
}
