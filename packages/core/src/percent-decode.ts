import { isUtf8 } from 'node:buffer';

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/**
 * Decodes `%XX` escapes (as FreeSWITCH's `switch_url_encode` writes them in event headers and CDR variables;
 * `+` is left alone). Never throws: a value with a malformed escape (a bare `%`) or whose escapes do not form
 * UTF-8 is returned raw, unchanged, where `decodeURIComponent` would throw.
 */
export function percentDecode(raw: string): string {
  // Kept tiny so V8 inlines it: most values have no escape at all.
  return raw.indexOf('%') === -1 ? raw : decodeEscapes(raw);
}

function decodeEscapes(raw: string): string {
  let i = raw.indexOf('%');
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
      const cp = raw.codePointAt(i) as number;
      n += bytes.write(String.fromCodePoint(cp), n);
      if (cp > 0xffff) i++;
    }
  }
  const decoded = bytes.subarray(0, n);
  return isUtf8(decoded) ? decoded.toString('utf8') : raw;
}

/** True when `code` is an ASCII hex digit's char code. */
export function isHexDigit(code: number): boolean {
  return hexValue(code) >= 0;
}
