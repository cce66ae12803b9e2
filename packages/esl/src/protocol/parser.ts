import { EslProtocolError } from '../errors.js';
import { EslFrame } from './frame.js';

/** Options of {@link EslParser}. */
export interface EslParserOptions {
  /**
   * Largest frame accepted, header block and body together, in bytes. Default 64 MiB: larger than any real
   * `api` answer, small enough that a corrupt or hostile `Content-Length` cannot exhaust memory. Past it,
   * `feed` throws {@link EslProtocolError} (code `ESL_FRAME_TOO_LARGE`) and the connection must be closed.
   */
  maxFrameBytes?: number;
}

const EMPTY = Buffer.alloc(0);
const LF = 10;
const CR = 13;
const DIGITS = /^\d+$/;

interface PendingBody {
  headerText: string;
  rawHeaders: Array<[string, string]>;
  contentType: string;
  length: number;
}

/**
 * Sans-I/O parser of the FreeSWITCH event socket stream (either direction): feed it bytes as they arrive, split
 * anywhere, and it returns the frames completed by them.
 *
 * A frame is a header block ended by an empty line (`\n\n`), then `Content-Length` bytes of body when that
 * header is present. Bodies have no terminator of their own, and the next frame may start right after the last
 * body byte. Stray blank lines between frames are skipped.
 *
 * @example
 * ```ts
 * const parser = new EslParser();
 * socket.on('data', (chunk) => { for (const frame of parser.feed(chunk)) handle(frame); });
 * ```
 */
export class EslParser {
  readonly maxFrameBytes: number;
  private buf: Buffer = EMPTY;
  /** Bytes of `buf` already searched for the end of a header block. */
  private scanned = 0;
  private pending: PendingBody | undefined;
  private bodyParts: Buffer[] = [];
  private bodyBytes = 0;
  /** Offset in the whole input of `buf[0]` (or, while a body is pending, of its first byte). */
  private offset = 0;
  private failed: EslProtocolError | undefined;

  constructor(options: EslParserOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes held for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.buf.length + this.bodyBytes;
  }

  /**
   * Consumes `chunk` and returns every frame it completes, in order.
   * @throws {EslProtocolError} on a frame over `maxFrameBytes` or an invalid `Content-Length`; the parser then
   *   stays failed and every later call throws the same error.
   */
  feed(chunk: Buffer): EslFrame[] {
    if (this.failed) throw this.failed;
    const frames: EslFrame[] = [];
    if (this.pending) {
      this.bodyParts.push(chunk);
      this.bodyBytes += chunk.length;
      if (this.bodyBytes < this.pending.length) return frames;
      const data = this.bodyParts.length === 1 ? chunk : Buffer.concat(this.bodyParts, this.bodyBytes);
      const { headerText, rawHeaders, contentType, length } = this.pending;
      this.pending = undefined;
      this.bodyParts = [];
      this.bodyBytes = 0;
      this.offset += length;
      frames.push(new EslFrame(headerText, rawHeaders, contentType, data.subarray(0, length), this.offset));
      this.buf = data.subarray(length);
      this.scanned = 0;
    } else if (this.buf.length === 0) {
      this.buf = chunk;
    } else {
      this.buf = Buffer.concat([this.buf, chunk]);
    }
    try {
      this.drain(frames);
    } catch (err) {
      this.failed = err as EslProtocolError;
      this.buf = EMPTY;
      this.bodyParts = [];
      throw err;
    }
    return frames;
  }

  private drain(frames: EslFrame[]): void {
    const buf = this.buf;
    let pos = 0;
    for (;;) {
      while (pos < buf.length && (buf[pos] === LF || buf[pos] === CR)) pos++;
      const end = buf.indexOf('\n\n', Math.max(pos, this.scanned - 1));
      if (end === -1) {
        if (buf.length - pos > this.maxFrameBytes) {
          throw new EslProtocolError(
            `header block exceeds ${this.maxFrameBytes} bytes without an end`,
            'ESL_FRAME_TOO_LARGE',
          );
        }
        this.scanned = buf.length - pos;
        break;
      }
      this.scanned = 0;
      const headerText = buf.toString('utf8', pos, end);
      const { rawHeaders, contentType, contentLength } = parseHeaderBlock(headerText);
      const bodyStart = end + 2;
      if (contentLength === undefined || contentLength === 0) {
        frames.push(new EslFrame(headerText, rawHeaders, contentType, undefined, this.offset + bodyStart));
        pos = bodyStart;
        continue;
      }
      if (contentLength + (bodyStart - pos) > this.maxFrameBytes) {
        throw new EslProtocolError(
          `frame of ${contentLength} body bytes exceeds the limit of ${this.maxFrameBytes}`,
          'ESL_FRAME_TOO_LARGE',
        );
      }
      if (buf.length - bodyStart >= contentLength) {
        const bodyEnd = bodyStart + contentLength;
        frames.push(
          new EslFrame(
            headerText,
            rawHeaders,
            contentType,
            buf.subarray(bodyStart, bodyEnd),
            this.offset + bodyEnd,
          ),
        );
        pos = bodyEnd;
        continue;
      }
      // The body continues in later chunks: keep its parts and concatenate once, when complete.
      this.pending = { headerText, rawHeaders, contentType, length: contentLength };
      const part = buf.subarray(bodyStart);
      this.bodyParts = part.length ? [part] : [];
      this.bodyBytes = part.length;
      this.offset += bodyStart;
      this.buf = EMPTY;
      return;
    }
    this.offset += pos;
    this.buf = pos === buf.length ? EMPTY : buf.subarray(pos);
  }
}

function parseHeaderBlock(text: string): {
  rawHeaders: Array<[string, string]>;
  contentType: string;
  contentLength: number | undefined;
} {
  const rawHeaders: Array<[string, string]> = [];
  let contentType = '';
  let contentLength: number | undefined;
  let start = 0;
  while (start < text.length) {
    let nl = text.indexOf('\n', start);
    if (nl === -1) nl = text.length;
    const lineEnd = text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    const colon = text.indexOf(':', start);
    if (colon !== -1 && colon < lineEnd) {
      const name = text.slice(start, colon);
      let valueStart = colon + 1;
      while (text.charCodeAt(valueStart) === 32) valueStart++;
      const value = text.slice(valueStart, lineEnd);
      rawHeaders.push([name, value]);
      if (name.length === 12 && name === 'Content-Type') contentType = value;
      else if (name.length === 14 && (name === 'Content-Length' || name.toLowerCase() === 'content-length')) {
        if (!DIGITS.test(value))
          throw new EslProtocolError(`invalid Content-Length ${JSON.stringify(value)}`);
        contentLength = Number(value);
      }
    }
    start = nl + 1;
  }
  return { rawHeaders, contentType, contentLength };
}
