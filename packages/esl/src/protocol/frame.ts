import { decodeHeaderValue } from './url-codec.js';

/** The content types FreeSWITCH's event socket sends. */
export type EslContentType =
  | 'auth/request'
  | 'command/reply'
  | 'api/response'
  | 'text/event-plain'
  | 'text/event-json'
  | 'text/event-xml'
  | 'log/data'
  | 'text/disconnect-notice'
  | 'text/rude-rejection'
  | (string & {});

/**
 * One message from the event socket: a block of `Name: value` header lines and, when the headers carry a
 * `Content-Length`, a body of exactly that many bytes.
 *
 * Header values are kept raw and URL-decoded only when read: framing stays cheap, and most consumers read a
 * handful of headers.
 */
export class EslFrame {
  /** Raw header pairs in the order sent; lines without a colon are not headers and are left out. */
  readonly rawHeaders: ReadonlyArray<readonly [name: string, value: string]>;
  /** The body (`Content-Length` bytes), or undefined when the frame had none. */
  readonly body: Buffer | undefined;
  /** `Content-Type`, or `''` when the frame had none. */
  readonly contentType: EslContentType;
  /** Offset in the parser's input just past this frame: lets tools cut a captured stream frame by frame. */
  readonly streamOffset: number;
  /** The header block as text (first line included, which for a command sent to FreeSWITCH is the command). */
  readonly headerText: string;
  private decoded: Record<string, string> | undefined;

  constructor(
    headerText: string,
    rawHeaders: ReadonlyArray<readonly [string, string]>,
    contentType: string,
    body: Buffer | undefined,
    streamOffset: number,
  ) {
    this.headerText = headerText;
    this.rawHeaders = rawHeaders;
    this.contentType = contentType;
    this.body = body;
    this.streamOffset = streamOffset;
  }

  /**
   * Headers by name, URL-decoded (computed on first access). Where a name repeats, the first value wins, as
   * FreeSWITCH's own `switch_event_get_header` does.
   */
  get headers(): Record<string, string> {
    if (!this.decoded) {
      const out: Record<string, string> = Object.create(null);
      for (const [name, value] of this.rawHeaders) if (!(name in out)) out[name] = decodeHeaderValue(value);
      this.decoded = out;
    }
    return this.decoded;
  }

  /** One header, URL-decoded; the name is matched exactly first, then case-insensitively as FreeSWITCH does. */
  header(name: string): string | undefined {
    const exact = this.headers[name];
    if (exact !== undefined) return exact;
    const lower = name.toLowerCase();
    for (const [n, v] of this.rawHeaders) if (n.toLowerCase() === lower) return decodeHeaderValue(v);
    return undefined;
  }

  /** The body as UTF-8 text (`''` when there is none). */
  get bodyText(): string {
    return this.body ? this.body.toString('utf8') : '';
  }
}
