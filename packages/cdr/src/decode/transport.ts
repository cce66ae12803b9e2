import { CdrDecodeError } from '../errors.js';
import { findMultipartCdr } from './multipart.js';

/**
 * How a CDR reached us: the `encode` setting of mod_xml_cdr, a file written by FreeSWITCH, or a
 * `multipart/form-data` form with a `cdr` field or file (what PHP's `$_POST['cdr']` also reads).
 */
export type CdrEncoding = 'urlencoded' | 'plain' | 'base64' | 'xml' | 'multipart';

/** A CDR with its transport layer removed: the XML text, exactly once decoded. */
export interface DecodedCdr {
  xml: string;
  encoding: CdrEncoding;
}

const CDR_PREFIX = 'cdr=';

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Form-URL-decoding of a `cdr=` value (`+` is a space here, as in any HTML form). */
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new CdrDecodeError('urlencoded CDR has a malformed % escape');
  }
}

function base64Decode(value: string): string {
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact))
    throw new CdrDecodeError('base64 CDR has characters outside base64');
  return Buffer.from(compact, 'base64').toString('utf8');
}

/**
 * Removes the transport encoding of an HTTP body sent by `mod_xml_cdr`, chosen by its Content-Type:
 *
 * | `encode` | Content-Type | body |
 * |---|---|---|
 * | `true` | `application/x-www-form-urlencoded` | `cdr=` + URL-encoded XML |
 * | `false`/absent | `application/x-www-form-plaintext` | `cdr=` + raw XML (not a real form: never form-decode it) |
 * | `base64` | `application/x-www-form-base64-encoded` | `cdr=` + base64 (`+`/`/`/`=` unescaped) |
 * | `textxml` | `text/xml` | the XML itself |
 * | (other senders) | `application/xml` | the XML itself |
 * | (other senders) | `multipart/form-data; boundary=...` | a part named `cdr` (field or file, any position), its value sniffed like a file |
 *
 * An unknown or missing Content-Type is sniffed like a file ({@link decodeCdrFile}). Variable values inside
 * the XML stay URL-encoded: the parser decodes each exactly once.
 */
export function decodeCdrBody(body: Buffer | string, contentType?: string): DecodedCdr {
  const type = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (type === 'multipart/form-data') {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    return fromMultipart(bytes, contentType as string);
  }
  const text = stripBom(typeof body === 'string' ? body : body.toString('utf8'));
  const value = () => {
    const start = text.indexOf(CDR_PREFIX);
    if (start === -1 || text.slice(0, start).trim() !== '') {
      throw new CdrDecodeError(`${type} body does not start with cdr=`);
    }
    return text.slice(start + CDR_PREFIX.length);
  };
  switch (type) {
    case 'application/x-www-form-urlencoded': {
      // A real form: other fields may follow (`&name=value`); the cdr value ends at the first `&`.
      const raw = value();
      const amp = raw.indexOf('&');
      return { xml: formDecode(amp === -1 ? raw : raw.slice(0, amp)), encoding: 'urlencoded' };
    }
    case 'application/x-www-form-plaintext':
      return { xml: value(), encoding: 'plain' };
    case 'application/x-www-form-base64-encoded':
      return { xml: base64Decode(value()), encoding: 'base64' };
    case 'text/xml':
    case 'application/xml':
      return { xml: text, encoding: 'xml' };
    default:
      return decodeCdrFile(text);
  }
}

/** The `cdr` part of a multipart body, its value sniffed like a file (raw XML, URL-encoded or base64). */
function fromMultipart(body: Buffer, contentType: string): DecodedCdr {
  const part = findMultipartCdr(body, contentType);
  return { xml: sniff(stripBom(part.content.toString('utf8')).trimStart()).xml, encoding: 'multipart' };
}

/**
 * Decodes a CDR file by sniffing its first bytes: FreeSWITCH's `log-dir` files are raw XML; its `err-log-dir`
 * files hold the POST payload without `cdr=` (URL-encoded for `encode=true`, base64 for `encode=base64`). A
 * leading `cdr=` (a saved request body) is accepted too, and so is a saved `multipart/form-data` body (a
 * quarantined one: it starts with its `--boundary` line).
 */
export function decodeCdrFile(content: Buffer | string): DecodedCdr {
  const text = stripBom(typeof content === 'string' ? content : content.toString('utf8')).trimStart();
  if (text.startsWith('--')) {
    const newline = text.indexOf('\n');
    const boundary = text.slice(2, newline === -1 ? text.length : newline).trim();
    const bytes = Buffer.from(text, 'utf8');
    return fromMultipart(bytes, `multipart/form-data; boundary="${boundary}"`);
  }
  return sniff(text);
}

/** {@link decodeCdrFile} of a text without a byte order mark or leading space. */
function sniff(content: string): DecodedCdr {
  let text = content;
  if (text.startsWith(CDR_PREFIX)) text = text.slice(CDR_PREFIX.length);
  if (text.startsWith('<')) return { xml: text, encoding: 'xml' };
  if (text.startsWith('%3C') || text.startsWith('%3c'))
    return { xml: formDecode(text.trimEnd()), encoding: 'urlencoded' };
  // base64 of "<?xml" is "PD94", of "<cdr" is "PGNk".
  if (text.startsWith('PD94') || text.startsWith('PGNk'))
    return { xml: base64Decode(text), encoding: 'base64' };
  throw new CdrDecodeError(`not a CDR: starts with ${JSON.stringify(text.slice(0, 16))}`);
}
