import { isHexDigit, percentDecode } from '@pbxkit/core';

/**
 * Decodes a header value the way FreeSWITCH encoded it (`switch_url_encode`: `%XX` escapes, `+` left alone).
 *
 * Never throws: a value with a malformed escape (a bare `%`, as some producers send) or whose escapes do not
 * form UTF-8 is returned raw, unchanged. (modesl's `decodeURIComponent` crashes the process on such values.)
 */
export const decodeHeaderValue: (raw: string) => string = percentDecode;

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
    const keepEscape = b === 37 && isHexDigit(bytes[i + 1] ?? 0) && isHexDigit(bytes[i + 2] ?? 0);
    if (keepEscape || (b > 0x20 && b < 0x7f && !UNSAFE.has(ch))) out += ch;
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
