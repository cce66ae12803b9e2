import { EslProtocolError } from '../errors.js';
import { decodeHeaderValue } from './url-codec.js';

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  if (text.indexOf('&') === -1) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref] ?? whole;
  });
}

/** XML-escapes text the way FreeSWITCH's `switch_xml_toxml` does for element content. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

interface Element {
  name: string;
  text: string;
  end: number;
}

/** Reads the element starting at `<` at or after `from`, whose content is text only. */
function readTextElement(xml: string, from: number): Element | undefined {
  const open = xml.indexOf('<', from);
  if (open === -1 || xml[open + 1] === '/') return undefined;
  const close = xml.indexOf('>', open);
  if (close === -1) throw new EslProtocolError('text/event-xml: unterminated tag');
  if (xml[close - 1] === '/')
    return { name: xml.slice(open + 1, close - 1).trim(), text: '', end: close + 1 };
  const name = xml.slice(open + 1, close);
  const endTag = `</${name}>`;
  const endAt = xml.indexOf(endTag, close + 1);
  if (endAt === -1) throw new EslProtocolError(`text/event-xml: <${name}> is not closed`);
  return { name, text: xml.slice(close + 1, endAt), end: endAt + endTag.length };
}

/**
 * Decodes FreeSWITCH's `text/event-xml` body (`switch_event_xmlize`): `<event><headers><Name>value</Name>...
 * </headers><Content-Length>n</Content-Length><body>...</body></event>`. Header values are URL-encoded inside
 * the XML, as in the plain format; repeated elements are an array header unless their values are equal.
 */
export function parseEventXml(xml: string): { headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = Object.create(null);
  const arrays = new Map<string, string[]>();
  const headersOpen = xml.indexOf('<headers>');
  if (headersOpen === -1) throw new EslProtocolError('text/event-xml: no <headers> element');
  const headersClose = xml.indexOf('</headers>', headersOpen);
  if (headersClose === -1) throw new EslProtocolError('text/event-xml: <headers> is not closed');
  let pos = headersOpen + '<headers>'.length;
  for (;;) {
    const el = readTextElement(xml, pos);
    if (!el || el.end > headersClose + '</headers>'.length) break;
    const value = decodeHeaderValue(unescapeXml(el.text));
    const previous = headers[el.name];
    if (previous === undefined) headers[el.name] = value;
    else if (previous !== value || arrays.has(el.name)) {
      const items = arrays.get(el.name) ?? [previous];
      items.push(value);
      arrays.set(el.name, items);
    }
    pos = el.end;
  }
  for (const [name, items] of arrays) headers[name] = `ARRAY::${items.join('|:')}`;
  let body = '';
  pos = headersClose + '</headers>'.length;
  for (;;) {
    const el = readTextElement(xml, pos);
    if (!el) break;
    if (el.name === 'Content-Length') headers['Content-Length'] = decodeHeaderValue(unescapeXml(el.text));
    else if (el.name === 'body') body = unescapeXml(el.text);
    pos = el.end;
  }
  return { headers, body };
}
