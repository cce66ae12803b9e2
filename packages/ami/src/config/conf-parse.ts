import { AmiConfigParseError } from '../errors.js';
import { ConfCategory } from './conf-category.js';
import { ConfComment, ConfDirective, type ConfLine, ConfVariable } from './conf-lines.js';

/** What {@link parseConfText} returns: the lines before the first category, and the categories. */
export interface ParsedConf {
  preamble: ConfLine[];
  categories: ConfCategory[];
  /** The line ending most lines use, for lines added later. */
  eol: string;
}

interface RawLine {
  text: string;
  eol: string;
}

function splitLines(text: string): RawLine[] {
  const lines: RawLine[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    if (nl === -1) {
      lines.push({ text: text.slice(pos), eol: '' });
      break;
    }
    const cr = nl > pos && text.charCodeAt(nl - 1) === 13;
    lines.push({ text: text.slice(pos, cr ? nl - 1 : nl), eol: cr ? '\r\n' : '\n' });
    pos = nl + 1;
  }
  return lines;
}

/**
 * Splits a line at its first unescaped `;`: the content before it, and the comment (with the whitespace
 * that precedes it, so the line can be rebuilt). `block` is true when the comment opens a `;--` block.
 */
function splitComment(line: string): { content: string; comment: string; block: boolean } {
  let from = 0;
  for (;;) {
    const semi = line.indexOf(';', from);
    if (semi === -1) return { content: line, comment: '', block: false };
    if (semi > 0 && line[semi - 1] === '\\') {
      from = semi + 1;
      continue;
    }
    const block = line.startsWith('--', semi + 1) && line[semi + 3] !== '-';
    let start = semi;
    while (start > 0 && (line[start - 1] === ' ' || line[start - 1] === '\t')) start--;
    return { content: line.slice(0, start), comment: line.slice(start), block };
  }
}

function unescapeValue(value: string): string {
  return value.replace(/\\;/g, ';');
}

function parseHeader(content: string, raw: string, comment: string, lineNo: number): ConfCategory {
  const close = content.indexOf(']');
  if (close === -1) throw new AmiConfigParseError("no closing ']'", lineNo);
  const name = content.slice(content.indexOf('[') + 1, close);
  let isTemplate = false;
  let append = false;
  const templates: string[] = [];
  const rest = content.slice(close + 1).trim();
  if (rest.startsWith('(')) {
    const end = rest.indexOf(')');
    if (end === -1) throw new AmiConfigParseError("no closing ')'", lineNo);
    for (const option of rest.slice(1, end).split(',')) {
      const o = option.trim();
      if (o === '!') isTemplate = true;
      else if (o.startsWith('+')) append = true;
      else if (o !== '') templates.push(o);
    }
  }
  const category = new ConfCategory(name, { isTemplate, templates, append }, raw);
  category.comment = comment;
  return category;
}

function parseDirective(content: string, raw: string): ConfDirective {
  const body = content.trim().slice(1);
  const space = body.search(/[\s]/);
  const name = (space === -1 ? body : body.slice(0, space)).toLowerCase();
  const argument = space === -1 ? '' : body.slice(space + 1).trim();
  return new ConfDirective(name, argument, raw);
}

/** A variable line, or `undefined` when Asterisk would ignore it (no `=`, no name). */
function parseVariable(content: string, raw: string, comment: string): ConfVariable | undefined {
  const text = content.trim();
  const escaped = text.startsWith('\\') ? 1 : 0;
  const eq = text.indexOf('=', escaped + 1);
  if (eq === -1) return undefined;
  const append = text[eq - 1] === '+';
  const key = text.slice(escaped, append ? eq - 1 : eq).trim();
  if (key === '') return undefined;
  let value = text.slice(eq + 1);
  const object = !append && value.startsWith('>');
  if (object) value = value.slice(1);
  return new ConfVariable(key, unescapeValue(value.trim()), { object, append, comment, raw });
}

/**
 * Parses Asterisk `.conf` text the way `main/config.c` reads it, keeping everything needed to write it back
 * byte for byte: comments, blank lines and `;-- --;` blocks as comment lines, `#include`/`#tryinclude`/
 * `#exec` as directives (not expanded), `[name](!)` templates, `[name](a,b)` inheritance, `[name](+)`
 * additions, `=>` object lines, `+=` appends and `\;` escapes.
 *
 * Throws {@link AmiConfigParseError} where Asterisk refuses the file: a `[` without `]`, a `(` without
 * `)`, a variable before any category.
 */
export function parseConfText(text: string): ParsedConf {
  const preamble: ConfLine[] = [];
  const categories: ConfCategory[] = [];
  let current: ConfCategory | undefined;
  let inBlock = false;
  let crlf = 0;
  const lines = splitLines(text);
  lines.forEach((rawLine, index) => {
    const lineNo = index + 1;
    const raw = rawLine.text;
    if (rawLine.eol === '\r\n') crlf++;
    const target = current ? current.lines : preamble;
    let line: ConfLine | ConfCategory;
    if (inBlock) {
      // The remainder of a line that closes a block is taken as comment too; Asterisk would parse it.
      if (raw.includes('--;')) inBlock = false;
      line = new ConfComment(raw);
    } else {
      const { content, comment, block } = splitComment(raw);
      if (block && !comment.includes('--;', 3)) inBlock = true;
      const trimmed = content.trim();
      if (trimmed === '') line = new ConfComment(raw);
      else if (trimmed.startsWith('[')) line = parseHeader(trimmed, raw, comment, lineNo);
      else if (trimmed.startsWith('#')) line = parseDirective(content, raw);
      else {
        if (!current) throw new AmiConfigParseError('a variable before any [category]', lineNo);
        line = parseVariable(content, raw, comment) ?? new ConfComment(raw);
      }
    }
    line.eol = rawLine.eol;
    if (line instanceof ConfCategory) {
      categories.push(line);
      current = line;
    } else {
      target.push(line);
    }
  });
  return { preamble, categories, eol: crlf * 2 > lines.length ? '\r\n' : '\n' };
}
