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
  private decodedMap: Map<string, string> | undefined;
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
    if (this.cachedName === undefined) {
      this.cachedName = this.fastName() ?? this.header('Event-Name') ?? '';
    }
    return this.cachedName;
  }

  /** `Event-Subclass` of a `CUSTOM` event (`sofia::register`, ...), else undefined. */
  get subclass(): string | undefined {
    return this.header('Event-Subclass');
  }

  /** Every header, URL-decoded; where a name repeats the first value wins. Array headers keep FreeSWITCH's
   * `ARRAY::a|:b` form (see {@link EslEvent.array}). */
  get headers(): Record<string, string> {
    if (!this.decodedHeaders) {
      if (this.decodedMap) this.decodedHeaders = objectOf(this.decodedMap);
      else this.decode();
    }
    return this.decodedHeaders as Record<string, string>;
  }

  /**
   * The same headers as {@link EslEvent.headers}, as a `Map` (insertion order = FreeSWITCH's order). For a
   * `text/event-plain` event read first through this getter it is the cheaper form to build: about 1.7x faster
   * than the object when every header is decoded, because V8 fills a `Map` faster than a ~75-key object (which
   * it turns into a hash table anyway). Use it when handling every header of every event (logging, forwarding);
   * `headers` builds its object from the map on first use.
   */
  get headerMap(): ReadonlyMap<string, string> {
    if (!this.decodedMap) {
      const src = this.source;
      if (!this.decodedHeaders && src && this.format === 'plain') {
        this.decodePlainInto(src, new Map());
        this.source = undefined;
      } else {
        this.decodedMap = new Map(Object.entries(this.headers));
      }
    }
    return this.decodedMap as Map<string, string>;
  }

  /** The event body (e.g. a BACKGROUND_JOB's result, after its inner Content-Length), `''` when none. */
  get body(): string {
    if (this.decodedBody === undefined) this.decode();
    return this.decodedBody as string;
  }

  /** One header; the name is matched exactly first, then case-insensitively (FreeSWITCH's own rule). */
  get(name: string): string | undefined {
    const exact = this.header(name);
    if (exact !== undefined) return exact;
    const lower = name.toLowerCase();
    for (const [key, value] of this.decodedMap ?? Object.entries(this.headers)) {
      if (key.toLowerCase() === lower) return value;
    }
    return undefined;
  }

  /** A channel variable (`variable_<name>` header). */
  variable(name: string): string | undefined {
    return this.header(`variable_${name}`);
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

  /** One header by its exact name, from the decoded map when there is one, else from the headers object. */
  private header(name: string): string | undefined {
    return this.decodedMap ? this.decodedMap.get(name) : this.headers[name];
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
    if (this.format === 'plain') this.decodePlainInto(src, undefined);
    else if (this.format === 'json') this.decodeJson(src);
    else {
      const { headers, body } = parseEventXml(src.toString('utf8'));
      this.decodedHeaders = headers;
      this.decodedBody = body;
    }
    this.source = undefined;
  }

  /** Decodes a plain event's headers into `map` when given, else into a new plain object. */
  private decodePlainInto(src: Buffer, map: Map<string, string> | undefined): void {
    let end = src.indexOf('\n\n');
    if (end === -1) end = src.length;
    const text = src.toString('utf8', 0, end);
    let contentLength: number;
    if (map) {
      contentLength = fillMap(text, map, false);
      if (contentLength === REPEATED_NAME) {
        // Rare: the fast pass let a repeated name's last value win; redo it keeping the first.
        map.clear();
        contentLength = fillMap(text, map, true);
      }
      this.decodedMap = map;
    } else {
      // A plain object, not Object.create(null): V8 gives events with the same header order one shared hidden
      // class, which makes building and reading them several times faster. Values are strings, so a header
      // named `__proto__` cannot change the prototype (assigning a string to it is a no-op).
      const headers: Record<string, string> = {};
      contentLength = fillObject(text, headers);
      this.decodedHeaders = headers;
    }
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
    if (typeof headers._body === 'string') {
      body = headers._body;
      delete headers._body;
    }
    this.decodedHeaders = headers as Record<string, string>;
    this.decodedBody = body;
  }
}

/** Returned by {@link fillMap} when a header name repeats and the pass did not keep first values. */
const REPEATED_NAME = -2;

// fillObject and fillMap scan the same way on purpose: one function serving both targets made V8's stores
// polymorphic and the Map path 1.7x slower (measured in the bench's plain-full-map row).

/**
 * Decodes `Name: value` lines into `headers`, the first value of a repeated name winning; returns the
 * `Content-Length` value, or -1.
 */
function fillObject(text: string, headers: Record<string, string>): number {
  let contentLength = -1;
  let start = 0;
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
  return contentLength;
}

/**
 * {@link fillObject} into a Map. Without `keepFirst` it skips the lookup before each store (a third of the
 * work) and returns {@link REPEATED_NAME} as soon as a name repeats, which the size of the map reveals.
 */
function fillMap(text: string, map: Map<string, string>, keepFirst: boolean): number {
  let contentLength = -1;
  let start = 0;
  while (start < text.length) {
    let nl = text.indexOf('\n', start);
    if (nl === -1) nl = text.length;
    const colon = text.indexOf(': ', start);
    if (colon !== -1 && colon < nl) {
      const name = text.slice(start, colon);
      if (!keepFirst || !map.has(name)) {
        const value = decodeHeaderValue(text.slice(colon + 2, nl));
        const size = map.size;
        map.set(name, value);
        if (map.size === size) return REPEATED_NAME;
        if (name === 'Content-Length') contentLength = Number(value);
      }
    }
    start = nl + 1;
  }
  return contentLength;
}

/** The headers object built from a map, with the object decoder's rules (`__proto__` is not an own header). */
function objectOf(map: ReadonlyMap<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of map) if (typeof headers[name] !== 'string') headers[name] = value;
  return headers;
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
