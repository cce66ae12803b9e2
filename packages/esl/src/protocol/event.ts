import { EslProtocolError } from '../errors.js';
import type { EslFrame } from './frame.js';
import { decodeHeaderValue } from './url-codec.js';
import { parseEventXml } from './xml-event.js';

/** The encodings FreeSWITCH can send events in (`event plain|json|xml ...`). */
export type EslEventFormat = 'plain' | 'json' | 'xml';

const EVENT_NAME_PREFIX = 'Event-Name: ';
/** A JSON member whose value is not a string: an array, number, boolean, null or object. */
const NON_STRING_VALUE = /":\s*[[\d\-tfn{]/;

/**
 * A FreeSWITCH event, whichever encoding it arrived in: the plain, JSON and XML encodings of one event give
 * equal `name`, `subclass`, `headers` and `body`.
 *
 * Decoding is lazy: an event built from a frame keeps the frame's bytes and decodes headers on first access,
 * so routing events by name costs almost nothing.
 */
export class EslEvent {
  private source: Buffer | undefined;
  private readonly format: EslEventFormat;
  private decodedHeaders: Record<string, string> | undefined;
  private decodedBody: string | undefined;
  private cachedName: string | undefined;

  private constructor(format: EslEventFormat, source: Buffer | undefined) {
    this.format = format;
    this.source = source;
  }

  /** The event carried by a `text/event-plain|json|xml` frame. */
  static fromFrame(frame: EslFrame): EslEvent {
    const format = formatOf(frame.contentType);
    if (!format) throw new EslProtocolError(`frame of type ${frame.contentType} is not an event`);
    return new EslEvent(format, frame.body ?? Buffer.alloc(0));
  }

  /**
   * An event from decoded headers and an optional body, e.g. the channel data of an outbound `connect` reply,
   * or an event a test wants a fake server to send.
   */
  static fromHeaders(headers: Record<string, string>, body?: string): EslEvent {
    const event = new EslEvent('plain', undefined);
    event.decodedHeaders = { ...headers };
    event.decodedBody = body ?? '';
    return event;
  }

  /** `Event-Name`: `CHANNEL_ANSWER`, `BACKGROUND_JOB`, `CUSTOM`, ... (`''` if absent). */
  get name(): string {
    if (this.cachedName === undefined) this.cachedName = this.fastName() ?? this.headers['Event-Name'] ?? '';
    return this.cachedName;
  }

  /** `Event-Subclass` of a `CUSTOM` event (`sofia::register`, ...), else undefined. */
  get subclass(): string | undefined {
    return this.headers['Event-Subclass'];
  }

  /** Every header, URL-decoded; where a name repeats the first value wins. Array headers keep FreeSWITCH's
   * `ARRAY::a|:b` form (see {@link EslEvent.array}). */
  get headers(): Record<string, string> {
    if (!this.decodedHeaders) this.decode();
    return this.decodedHeaders as Record<string, string>;
  }

  /** The event body (e.g. a BACKGROUND_JOB's result, after its inner Content-Length), `''` when none. */
  get body(): string {
    if (this.decodedBody === undefined) this.decode();
    return this.decodedBody as string;
  }

  /** One header; the name is matched exactly first, then case-insensitively (FreeSWITCH's own rule). */
  get(name: string): string | undefined {
    const headers = this.headers;
    const exact = headers[name];
    if (exact !== undefined) return exact;
    const lower = name.toLowerCase();
    for (const key in headers) if (key.toLowerCase() === lower) return headers[key];
    return undefined;
  }

  /** A channel variable (`variable_<name>` header). */
  variable(name: string): string | undefined {
    return this.headers[`variable_${name}`];
  }

  /** An array header (`ARRAY::a|:b`) as its items; a plain header as a one-item array; absent → `[]`. */
  array(name: string): string[] {
    const value = this.get(name);
    if (value === undefined) return [];
    return value.startsWith('ARRAY::') ? value.slice(7).split('|:') : [value];
  }

  /** A plain object copy: `{ name, subclass, headers, body }`, handy for logging and JSON. */
  toJSON(): { name: string; subclass: string | undefined; headers: Record<string, string>; body: string } {
    return { name: this.name, subclass: this.subclass, headers: { ...this.headers }, body: this.body };
  }

  private fastName(): string | undefined {
    const src = this.source;
    if (!src || this.format !== 'plain' || this.decodedHeaders) return undefined;
    // FreeSWITCH writes Event-Name first in almost every event; read it without decoding the rest.
    if (src.length > EVENT_NAME_PREFIX.length && src.toString('latin1', 0, 12) === EVENT_NAME_PREFIX) {
      const nl = src.indexOf(10, 12);
      return decodeHeaderValue(src.toString('utf8', 12, nl === -1 ? src.length : nl));
    }
    return undefined;
  }

  private decode(): void {
    const src = this.source ?? Buffer.alloc(0);
    if (this.format === 'plain') this.decodePlain(src);
    else if (this.format === 'json') this.decodeJson(src);
    else {
      const { headers, body } = parseEventXml(src.toString('utf8'));
      this.decodedHeaders = headers;
      this.decodedBody = body;
    }
    this.source = undefined;
  }

  private decodePlain(src: Buffer): void {
    // A plain object, not Object.create(null): V8 gives events with the same header order one shared hidden
    // class, which makes building and reading them several times faster. Values are strings, so a header named
    // `__proto__` cannot change the prototype (assigning a string to it is a no-op).
    const headers: Record<string, string> = {};
    let end = src.indexOf('\n\n');
    if (end === -1) end = src.length;
    const text = src.toString('utf8', 0, end);
    let start = 0;
    let contentLength = -1;
    while (start < text.length) {
      let nl = text.indexOf('\n', start);
      if (nl === -1) nl = text.length;
      const colon = text.indexOf(': ', start);
      if (colon !== -1 && colon < nl) {
        const name = text.slice(start, colon);
        // First value wins; an inherited member (`constructor`) is not a header and gets shadowed.
        if (typeof headers[name] !== 'string') {
          const value = decodeHeaderValue(text.slice(colon + 2, nl));
          headers[name] = value;
          if (name === 'Content-Length') contentLength = Number(value);
        }
      }
      start = nl + 1;
    }
    this.decodedHeaders = headers;
    const bodyStart = end + 2;
    this.decodedBody =
      contentLength >= 0 && bodyStart <= src.length
        ? src.toString('utf8', bodyStart, Math.min(src.length, bodyStart + contentLength))
        : '';
  }

  private decodeJson(src: Buffer): void {
    const text = src.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new EslProtocolError(`text/event-json body is not JSON: ${(err as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new EslProtocolError('text/event-json body is not a JSON object');
    }
    // JSON.parse already built a fresh object of own properties: use it as the headers instead of copying.
    // FreeSWITCH writes every value as a JSON string except array headers; look for any other value (and for the
    // body) in the text first, so the common event costs little beyond JSON.parse.
    const headers = parsed as Record<string, unknown>;
    if (NON_STRING_VALUE.test(text)) {
      for (const key in headers) {
        const value = headers[key];
        if (typeof value !== 'string') {
          headers[key] = Array.isArray(value) ? `ARRAY::${value.map(String).join('|:')}` : String(value);
        }
      }
    }
    let body = '';
    if (text.lastIndexOf('"_body":') !== -1 && typeof headers._body === 'string') {
      body = headers._body;
      delete headers._body;
    }
    this.decodedHeaders = headers as Record<string, string>;
    this.decodedBody = body;
  }
}

function formatOf(contentType: string): EslEventFormat | undefined {
  switch (contentType) {
    case 'text/event-plain':
      return 'plain';
    case 'text/event-json':
      return 'json';
    case 'text/event-xml':
      return 'xml';
    default:
      return undefined;
  }
}

/** True for the content types that carry an event. */
export function isEventFrame(frame: EslFrame): boolean {
  return formatOf(frame.contentType) !== undefined;
}
