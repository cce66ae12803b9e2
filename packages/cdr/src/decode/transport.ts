import { CdrDecodeError } from '../errors.js';

/** How a CDR reached us: the `encode` setting of mod_xml_cdr, or a file written by FreeSWITCH. */
export type CdrEncoding = 'urlencoded' | 'plain' | 'base64' | 'xml';

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
 *
 * An unknown or missing Content-Type is sniffed like a file ({@link decodeCdrFile}). Variable values inside
 * the XML stay URL-encoded: the parser decodes each exactly once.
 */
export function decodeCdrBody(body: Buffer | string, contentType?: string): DecodedCdr {
  const text = stripBom(typeof body === 'string' ? body : body.toString('utf8'));
  const type = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
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

/**
 * Decodes a CDR file by sniffing its first bytes: FreeSWITCH's `log-dir` files are raw XML; its `err-log-dir`
 * files hold the POST payload without `cdr=` (URL-encoded for `encode=true`, base64 for `encode=base64`). A
 * leading `cdr=` (a saved request body) is accepted too.
 */
export function decodeCdrFile(content: Buffer | string): DecodedCdr {
  let text = stripBom(typeof content === 'string' ? content : content.toString('utf8')).trimStart();
  if (text.startsWith(CDR_PREFIX)) text = text.slice(CDR_PREFIX.length);
  if (text.startsWith('<')) return { xml: text, encoding: 'xml' };
  if (text.startsWith('%3C') || text.startsWith('%3c'))
    return { xml: formDecode(text.trimEnd()), encoding: 'urlencoded' };
  // base64 of "<?xml" is "PD94", of "<cdr" is "PGNk".
  if (text.startsWith('PD94') || text.startsWith('PGNk'))
    return { xml: base64Decode(text), encoding: 'base64' };
  throw new CdrDecodeError(`not a CDR: starts with ${JSON.stringify(text.slice(0, 16))}`);
}
