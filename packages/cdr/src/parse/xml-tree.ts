import { CdrParseError } from '../errors.js';

/** An element of the tolerant XML tree: attributes, child elements and its own text. */
export interface XmlElement {
  /** The tag name as written, which in CDRs may be an invalid XML name (`set api_hangup_hook`, `^^,x`). */
  name: string;
  attrs: Record<string, string> | undefined;
  children: XmlElement[];
  /** Text directly inside the element, entities decoded; `''` when none. */
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes XML character and entity references; unknown entities stay as written. */
export function decodeEntities(text: string): string {
  if (text.indexOf('&') === -1) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.charCodeAt(0) === 35) {
      const code =
        ref[1] === 'x' || ref[1] === 'X'
          ? Number.parseInt(ref.slice(2), 16)
          : Number.parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref] ?? whole;
  });
}

const ATTR = /([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function splitTag(inner: string): { name: string; attrs: Record<string, string> | undefined } {
  let end = 0;
  while (end < inner.length && inner.charCodeAt(end) > 32) end++;
  if (end === inner.length) return { name: inner, attrs: undefined };
  const rest = inner.slice(end);
  let attrs: Record<string, string> | undefined;
  ATTR.lastIndex = 0;
  for (let m = ATTR.exec(rest); m; m = ATTR.exec(rest)) {
    attrs ??= Object.create(null) as Record<string, string>;
    attrs[m[1] as string] = decodeEntities(m[2] ?? m[3] ?? '');
  }
  // `<set api_hangup_hook>`: a name with a space and no attributes is a (broken) name, as FreeSWITCH wrote it.
  if (!attrs) return { name: inner.trim(), attrs: undefined };
  return { name: inner.slice(0, end), attrs };
}

function isBlank(xml: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (xml.charCodeAt(i) > 32) return false;
  return true;
}

/**
 * Builds a tree from CDR XML, tolerating what real CDRs contain and strict parsers reject: element names that
 * are not XML names (FreeSWITCH writes channel variable names unchecked), a close tag that skips open ones,
 * and, inside the elements named in `leafParents` (`variables`), raw `<` in values: the children of those
 * elements are read as text up to their own close tag.
 *
 * @throws {CdrParseError} when the document ends inside an element (truncated) or has no root element.
 */
export function parseXmlTree(
  xml: string,
  leafParents: ReadonlySet<string>,
  onLeaf?: (parent: string, name: string, text: string) => void,
): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let pos = 0;
  for (;;) {
    const lt = xml.indexOf('<', pos);
    const top = stack[stack.length - 1];
    if (lt === -1) {
      if (top && !isBlank(xml, pos, xml.length)) top.text += decodeEntities(xml.slice(pos));
      break;
    }
    if (top && lt > pos && !isBlank(xml, pos, lt)) top.text += decodeEntities(xml.slice(pos, lt));
    const next = xml.charCodeAt(lt + 1);
    if (next === 63 /* ? */) {
      const end = xml.indexOf('?>', lt);
      if (end === -1) throw new CdrParseError('truncated XML: unterminated <? ?>');
      pos = end + 2;
      continue;
    }
    if (next === 33 /* ! */) {
      if (xml.startsWith('<!--', lt)) {
        const end = xml.indexOf('-->', lt + 4);
        if (end === -1) throw new CdrParseError('truncated XML: unterminated comment');
        pos = end + 3;
      } else if (xml.startsWith('<![CDATA[', lt)) {
        const end = xml.indexOf(']]>', lt + 9);
        if (end === -1) throw new CdrParseError('truncated XML: unterminated CDATA');
        if (top) top.text += xml.slice(lt + 9, end);
        pos = end + 3;
      } else {
        const end = xml.indexOf('>', lt);
        if (end === -1) throw new CdrParseError('truncated XML: unterminated declaration');
        pos = end + 1;
      }
      continue;
    }
    const gt = xml.indexOf('>', lt);
    if (gt === -1) throw new CdrParseError('truncated XML: a tag is not closed');
    if (next === 47 /* / */) {
      const name = xml.slice(lt + 2, gt).trim();
      for (let i = stack.length - 1; i >= 0; i--) {
        if (stack[i]?.name === name) {
          stack.length = i;
          break;
        }
      }
      pos = gt + 1;
      if (stack.length === 0 && root) break;
      continue;
    }
    const selfClosing = xml.charCodeAt(gt - 1) === 47;
    const inner = xml.slice(lt + 1, selfClosing ? gt - 1 : gt);
    const { name, attrs } = splitTag(inner);
    const element: XmlElement = { name, attrs, children: [], text: '' };
    pos = gt + 1;
    if (top) top.children.push(element);
    else if (!root) root = element;
    else throw new CdrParseError(`more than one root element (<${root.name}> and <${name}>)`);
    if (selfClosing) continue;
    if (onLeaf && leafParents.has(name)) {
      pos = readLeaves(xml, pos, name, onLeaf);
      continue;
    }
    stack.push(element);
  }
  if (!root) throw new CdrParseError('no XML element found');
  if (stack.length > 0)
    throw new CdrParseError(`truncated XML: <${stack[stack.length - 1]?.name}> is not closed`);
  return root;
}

/** Position of `</name>` at or after `from`, without building the tag string; -1 when absent. */
function findCloseTag(xml: string, name: string, from: number): number {
  let at = xml.indexOf('</', from);
  while (at !== -1) {
    if (xml.startsWith(name, at + 2) && xml.charCodeAt(at + 2 + name.length) === 62 /* > */) return at;
    at = xml.indexOf('</', at + 2);
  }
  return -1;
}

/**
 * Reads the children of a leaf parent (`<variables>`) straight into `onLeaf`, without building elements:
 * each child's text runs to its own close tag, so a raw `<` inside a value cannot derail the parse.
 * Returns the position after the parent's close tag.
 */
function readLeaves(
  xml: string,
  from: number,
  parent: string,
  onLeaf: (parent: string, name: string, text: string) => void,
): number {
  let pos = from;
  for (;;) {
    const lt = xml.indexOf('<', pos);
    if (lt === -1) throw new CdrParseError(`truncated XML: <${parent}> is not closed`);
    if (xml.charCodeAt(lt + 1) === 47 /* / */) {
      const gt = xml.indexOf('>', lt);
      if (gt === -1) throw new CdrParseError(`truncated XML: <${parent}> is not closed`);
      return gt + 1;
    }
    const gt = xml.indexOf('>', lt);
    if (gt === -1) throw new CdrParseError(`truncated XML: <${parent}> is not closed`);
    if (xml.charCodeAt(gt - 1) === 47) {
      onLeaf(parent, xml.slice(lt + 1, gt - 1).trim(), '');
      pos = gt + 1;
      continue;
    }
    const name = xml.slice(lt + 1, gt);
    const end = findCloseTag(xml, name, gt + 1);
    if (end === -1) throw new CdrParseError(`truncated XML: <${name}> is not closed`);
    onLeaf(parent, name, decodeEntities(xml.slice(gt + 1, end)));
    pos = end + name.length + 3;
  }
}

/** The first child element named `name`. */
export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  if (!element) return undefined;
  for (const c of element.children) if (c.name === name) return c;
  return undefined;
}

/** Child elements named `name`. */
export function children(element: XmlElement | undefined, name: string): XmlElement[] {
  return element ? element.children.filter((c) => c.name === name) : [];
}

/** The leaf children of an element as a name → text map; where a name repeats, the first wins. */
export function leafMap(element: XmlElement | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (!element) return out;
  for (const c of element.children) if (c.children.length === 0 && !(c.name in out)) out[c.name] = c.text;
  return out;
}
