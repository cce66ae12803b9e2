import { PbxkitError } from '@pbxkit/core';
import type { EslEventFormat } from './event.js';
import { encodeHeaderValue } from './url-codec.js';
import { escapeXml } from './xml-event.js';

/** A command that would break the framing (a line break inside it could smuggle in another command). */
export class EslInvalidCommandError extends PbxkitError {
  constructor(message: string) {
    super('ESL_INVALID_COMMAND', message);
  }
}

function assertSingleLine(what: string, text: string): void {
  if (/[\r\n]/.test(text)) {
    throw new EslInvalidCommandError(`${what} must not contain a line break: ${JSON.stringify(text)}`);
  }
}

/**
 * The bytes of a command sent to FreeSWITCH: the command line, optional headers, an empty line, then the body
 * (with its `Content-Length`) if any. Rejects line breaks in the command and headers, which would otherwise
 * inject a second command.
 */
export function encodeCommand(
  command: string,
  headers?: Record<string, string | number>,
  body?: string,
): Buffer {
  assertSingleLine('command', command);
  let text = `${command}\n`;
  if (headers) {
    for (const [name, value] of Object.entries(headers)) {
      assertSingleLine('header name', name);
      assertSingleLine(`header ${name}`, String(value));
      text += `${name}: ${value}\n`;
    }
  }
  if (body !== undefined && body.length > 0) {
    text += `Content-Length: ${Buffer.byteLength(body)}\n\n${body}`;
    return Buffer.from(text, 'utf8');
  }
  return Buffer.from(`${text}\n`, 'utf8');
}

/** Header pairs in order, as an event carries them. */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

function pairsOf(headers: Record<string, string> | HeaderList): HeaderList {
  return Array.isArray(headers) ? (headers as HeaderList) : Object.entries(headers);
}

/**
 * Serialises an event as FreeSWITCH does for `event plain|json|xml` (`switch_event_serialize`,
 * `switch_event_serialize_json`, `switch_event_xmlize`): used by the fake server, and by tests that check the
 * three encodings decode to equal events. A `Content-Length` header in `headers` is ignored; it is derived from
 * the body.
 */
export function encodeEventPayload(
  headers: Record<string, string> | HeaderList,
  body: string,
  format: EslEventFormat,
): string {
  const pairs = pairsOf(headers).filter(([name]) => name !== 'Content-Length');
  const bodyLength = Buffer.byteLength(body);
  if (format === 'plain') {
    let text = '';
    for (const [name, value] of pairs) text += `${name}: ${encodeHeaderValue(value)}\n`;
    return bodyLength ? `${text}Content-Length: ${bodyLength}\n\n${body}` : `${text}\n`;
  }
  if (format === 'json') {
    const obj: Record<string, unknown> = {};
    for (const [name, value] of pairs) {
      if (!(name in obj)) obj[name] = value.startsWith('ARRAY::') ? value.slice(7).split('|:') : value;
    }
    if (bodyLength) {
      obj['Content-Length'] = String(bodyLength);
      obj._body = body;
    }
    return JSON.stringify(obj);
  }
  let xml = '<event>\n  <headers>\n';
  for (const [name, value] of pairs) {
    const items = value.startsWith('ARRAY::') ? value.slice(7).split('|:') : [value];
    for (const item of items) xml += `    <${name}>${escapeXml(encodeHeaderValue(item))}</${name}>\n`;
  }
  xml += '  </headers>\n';
  if (bodyLength)
    xml += `  <Content-Length>${bodyLength}</Content-Length>\n  <body>${escapeXml(body)}</body>\n`;
  return `${xml}</event>`;
}

/** A whole `text/event-*` frame: the envelope (Content-Length first, as FreeSWITCH writes it) and the payload. */
export function encodeEventFrame(
  headers: Record<string, string> | HeaderList,
  body: string,
  format: EslEventFormat,
): Buffer {
  const payload = Buffer.from(encodeEventPayload(headers, body, format), 'utf8');
  const envelope = Buffer.from(`Content-Length: ${payload.length}\nContent-Type: text/event-${format}\n\n`);
  return Buffer.concat([envelope, payload]);
}

/** `command/reply` with `Reply-Text` and optional extra headers (as `bgapi`'s `Job-UUID`). */
export function encodeCommandReply(replyText: string, extra?: Record<string, string>): Buffer {
  let text = `Content-Type: command/reply\nReply-Text: ${replyText}\n`;
  if (extra) for (const [name, value] of Object.entries(extra)) text += `${name}: ${value}\n`;
  return Buffer.from(`${text}\n`);
}

/** `api/response` with its body (no terminator: the body is exactly Content-Length bytes). */
export function encodeApiResponse(body: string): Buffer {
  const bytes = Buffer.from(body, 'utf8');
  return Buffer.concat([
    Buffer.from(`Content-Type: api/response\nContent-Length: ${bytes.length}\n\n`),
    bytes,
  ]);
}

/** A header block followed by a body, for the frames FreeSWITCH writes by hand (notices, log lines). */
export function encodeRawFrame(headers: HeaderList, body = ''): Buffer {
  const bytes = Buffer.from(body, 'utf8');
  let text = '';
  for (const [name, value] of headers) text += `${name}: ${value}\n`;
  if (bytes.length) text += `Content-Length: ${bytes.length}\n`;
  return Buffer.concat([Buffer.from(`${text}\n`), bytes]);
}

/** The text FreeSWITCH sends with every disconnect notice. */
export const DISCONNECT_NOTICE_TEXT = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';
