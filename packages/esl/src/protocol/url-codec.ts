import { isUtf8 } from 'node:buffer';

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/**
 * Decodes a header value the way FreeSWITCH encoded it (`switch_url_encode`: `%XX` escapes, `+` left alone).
 *
 * Never throws: a value with a malformed escape (a bare `%`, as some producers send) or whose escapes do not
 * form UTF-8 is returned raw, unchanged. (modesl's `decodeURIComponent` crashes the process on such values.)
 */
export function decodeHeaderValue(raw: string): string {
  let i = raw.indexOf('%');
  if (i === -1) return raw;
  let out = '';
  let last = 0;
  while (i !== -1) {
    const hi = hexValue(raw.charCodeAt(i + 1));
    const lo = hexValue(raw.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return raw;
    const byte = hi * 16 + lo;
    if (byte >= 0x80) return decodeUtf8Escapes(raw);
    out += raw.slice(last, i) + String.fromCharCode(byte);
    last = i + 3;
    i = raw.indexOf('%', last);
  }
  return out + raw.slice(last);
}

/** Slow path for escapes of non-ASCII bytes: collect bytes, then check they are UTF-8. */
function decodeUtf8Escapes(raw: string): string {
  const bytes = Buffer.allocUnsafe(Buffer.byteLength(raw));
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 37) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return raw;
      bytes[n++] = hi * 16 + lo;
      i += 2;
    } else if (c < 0x80) {
      bytes[n++] = c;
    } else {
      n += bytes.write(raw[i] as string, n);
    }
  }
  const decoded = bytes.subarray(0, n);
  return isUtf8(decoded) ? decoded.toString('utf8') : raw;
}

// The characters FreeSWITCH's `switch_url_encode` escapes (besides control and non-ASCII bytes); `/`, `,`, `(`
// and friends pass through, as the captured events show (`tone_stream%3A//%25(1000,0,440)`).
const UNSAFE = new Set([...'\r\n "#%&+:;<=>?@[\\]^`{|}']);

/**
 * Encodes a header value as FreeSWITCH does for `text/event-plain` and the outbound `connect` reply: unsafe
 * characters and non-ASCII bytes become `%XX`, except that an existing `%XX` escape is copied as it is
 * (FreeSWITCH's encoding is lossy that way, and a faithful fake must be too).
 */
export function encodeHeaderValue(value: string): string {
  let out = '';
  const bytes = Buffer.from(value, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    const ch = String.fromCharCode(b);
    const keepEscape = b === 37 && hexValue(bytes[i + 1] ?? 0) >= 0 && hexValue(bytes[i + 2] ?? 0) >= 0;
    if (keepEscape || (b > 0x20 && b < 0x7f && !UNSAFE.has(ch))) out += ch;
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
