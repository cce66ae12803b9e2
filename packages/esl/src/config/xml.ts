/** An element of a parsed configuration file. */
export interface XmlElement {
  name: string;
  /** Attributes, entities decoded, in document order. */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Non-blank text directly inside, entities decoded and trimmed; `''` when none. */
  text: string;
  /** 1-based line of the start tag. */
  line: number;
  /** The file it was parsed from (relative path). */
  file: string;
}

/** A well-formedness error with its position. */
export class XmlSyntaxError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const SPACE = /[ \t\r\n]*/y;
const ENTITY = /&(?:#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);/y;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Parses one XML file strictly (well-formedness as XML 1.0 defines it, without DTD validation): one root
 * element, matching tags, quoted attributes without `<`, no duplicate attribute, every `&` a known entity or a
 * character reference. Comments, processing instructions, CDATA and a DOCTYPE are accepted and dropped. Throws
 * {@link XmlSyntaxError} naming the line, which FreeSWITCH's own `reloadxml` reports only as a line of the
 * whole preprocessed document.
 */
export function parseXml(text: string, file: string): XmlElement {
  const p = new Parser(text, file);
  return p.document();
}

class Parser {
  private pos = 0;
  private lineAtPos = 1;
  private linePos = 0;
  private selfClosing = false;

  constructor(
    private readonly s: string,
    private readonly file: string,
  ) {}

  document(): XmlElement {
    let root: XmlElement | undefined;
    const stack: XmlElement[] = [];
    const s = this.s;
    if (s.charCodeAt(0) === 0xfeff) this.pos = 1;
    while (this.pos < s.length) {
      const lt = s.indexOf('<', this.pos);
      const end = lt === -1 ? s.length : lt;
      if (end > this.pos) this.text(stack.at(-1), end);
      if (lt === -1) break;
      this.pos = lt;
      const next = s.charCodeAt(lt + 1);
      if (next === 33 /* ! */) this.bang(stack.length > 0);
      else if (next === 63 /* ? */) this.skipPast('?>', 'processing instruction');
      else if (next === 47 /* / */) {
        const open = stack.pop();
        this.pos = lt + 2;
        const name = this.name('a closing tag');
        if (!open) this.fail(`closing tag </${name}> without an open element`);
        else if (open.name !== name)
          this.fail(`closing tag </${name}> does not match <${open.name}> of line ${open.line}`);
        this.space();
        if (s.charCodeAt(this.pos) !== 62) this.fail(`closing tag </${name}> is not closed by >`);
        this.pos++;
      } else {
        if (root && stack.length === 0)
          this.fail('content after the root element (a file has one root element)');
        const element = this.startTag();
        const parent = stack.at(-1);
        if (parent) parent.children.push(element);
        else root = element;
        if (!this.selfClosing) stack.push(element);
      }
    }
    const open = stack.at(-1);
    if (open) this.fail(`end of file inside <${open.name}> of line ${open.line}`);
    if (!root) this.fail('no root element');
    return root as XmlElement;
  }

  private startTag(): XmlElement {
    const s = this.s;
    const line = this.line();
    this.pos++;
    const name = this.name('a tag');
    const element: XmlElement = { name, attrs: {}, children: [], text: '', line, file: this.file };
    for (;;) {
      const before = this.pos;
      this.space();
      const c = s.charCodeAt(this.pos);
      if (c === 62 /* > */) {
        this.pos++;
        this.selfClosing = false;
        return element;
      }
      if (c === 47 /* / */ && s.charCodeAt(this.pos + 1) === 62) {
        this.pos += 2;
        this.selfClosing = true;
        return element;
      }
      if (Number.isNaN(c)) this.fail(`end of file inside the tag <${name}>`);
      if (this.pos === before) this.fail(`missing space or > in the tag <${name}>`);
      const attr = this.name(`an attribute of <${name}>`);
      this.space();
      if (s.charCodeAt(this.pos) !== 61 /* = */) this.fail(`attribute ${attr} of <${name}> has no =value`);
      this.pos++;
      this.space();
      const quote = s[this.pos];
      if (quote !== '"' && quote !== "'") this.fail(`value of ${attr} in <${name}> is not quoted`);
      const close = s.indexOf(quote as string, this.pos + 1);
      if (close === -1) this.fail(`value of ${attr} in <${name}> is not closed`);
      const raw = s.slice(this.pos + 1, close);
      const lt = raw.indexOf('<');
      if (lt !== -1) {
        this.pos += 1 + lt;
        this.fail(`< inside the value of ${attr} in <${name}> (write &lt;)`);
      }
      if (Object.hasOwn(element.attrs, attr)) this.fail(`attribute ${attr} twice in <${name}>`);
      element.attrs[attr] = this.decode(raw, this.pos + 1);
      this.pos = close + 1;
    }
  }

  private text(parent: XmlElement | undefined, end: number): void {
    const raw = this.s.slice(this.pos, end);
    const trimmed = raw.trim();
    if (trimmed) {
      if (!parent) this.fail('text outside the root element');
      const decoded = this.decode(raw, this.pos).trim();
      (parent as XmlElement).text += (parent as XmlElement).text ? ` ${decoded}` : decoded;
    }
    this.pos = end;
  }

  // `<!--`, `<![CDATA[` (only inside an element) and `<!DOCTYPE`.
  private bang(inside: boolean): void {
    const s = this.s;
    if (s.startsWith('<!--', this.pos)) this.skipPast('-->', 'comment');
    else if (s.startsWith('<![CDATA[', this.pos)) {
      if (!inside) this.fail('CDATA outside the root element');
      this.skipPast(']]>', 'CDATA section');
    } else if (s.startsWith('<!DOCTYPE', this.pos) && !inside) {
      const bracket = s.indexOf('[', this.pos);
      const gt = s.indexOf('>', this.pos);
      this.skipPast(bracket !== -1 && bracket < gt ? ']>' : '>', 'DOCTYPE');
    } else this.fail('unexpected <! (not a comment, CDATA or DOCTYPE)');
  }

  private skipPast(terminator: string, what: string): void {
    const end = this.s.indexOf(terminator, this.pos + 2);
    if (end === -1) this.fail(`${what} is not closed by ${terminator}`);
    this.pos = end + terminator.length;
  }

  private name(what: string): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.s);
    if (!m) this.fail(`expected the name of ${what}`);
    this.pos = NAME.lastIndex;
    return (m as RegExpExecArray)[0];
  }

  private space(): void {
    SPACE.lastIndex = this.pos;
    SPACE.exec(this.s);
    this.pos = SPACE.lastIndex;
  }

  private decode(raw: string, offset: number): string {
    let amp = raw.indexOf('&');
    if (amp === -1) return raw;
    let out = '';
    let from = 0;
    while (amp !== -1) {
      ENTITY.lastIndex = amp;
      const m = ENTITY.exec(raw);
      if (!m) {
        this.pos = offset + amp;
        this.fail('& that starts no entity (write &amp;)');
      }
      const ref = (m as RegExpExecArray)[0].slice(1, -1);
      out += raw.slice(from, amp);
      if (ref.startsWith('#')) {
        const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
        if (!(code > 0 && code <= 0x10ffff)) {
          this.pos = offset + amp;
          this.fail(`&${ref}; is not a character`);
        }
        out += String.fromCodePoint(code);
      } else out += ENTITIES[ref];
      from = ENTITY.lastIndex;
      amp = raw.indexOf('&', from);
    }
    return out + raw.slice(from);
  }

  /** The line of `pos`, counted incrementally (positions only grow while parsing). */
  private line(): number {
    const s = this.s;
    for (let i = this.linePos; i < this.pos; i++) if (s.charCodeAt(i) === 10) this.lineAtPos++;
    this.linePos = this.pos;
    return this.lineAtPos;
  }

  private fail(reason: string): never {
    throw new XmlSyntaxError(this.file, this.line(), reason);
  }
}
