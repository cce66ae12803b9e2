/**
 * How Asterisk splits `UpdateConfig` options and category filters: `ast_strsep(..., AST_STRSEP_STRIP)` of
 * main/utils.c. A separator inside `'...'` or `"..."` is not one, a backslash hides the next character from
 * that scan, and each piece is trimmed and loses one pair of enclosing quotes. Asterisk splits
 * `Options: catfilter=TEMPLATES=include` at every `=`, which is why a value holding `=` or `,` has to be
 * quoted.
 */

const MAX_QUOTE_DEPTH = 8;

/** A cursor over text being split; `rest` is `undefined` once the text is used up. */
export interface SplitCursor {
  rest: string | undefined;
}

function stripQuoted(piece: string): string {
  // ast_strip: blanks are every byte below '!'.
  let start = 0;
  let end = piece.length;
  while (start < end && piece.charCodeAt(start) < 33) start++;
  while (end > start && piece.charCodeAt(end - 1) < 33) end--;
  const s = piece.slice(start, end);
  const first = s[0];
  if ((first === '"' || first === "'") && s.endsWith(first)) return s.slice(1, s.length === 1 ? 1 : -1);
  return s;
}

/**
 * The next piece of `cursor.rest` up to `sep` (outside quotes), stripped; advances the cursor. `undefined`
 * when nothing is left (an empty remainder still gives one empty piece) or quotes nest deeper than Asterisk
 * allows.
 */
export function strsep(cursor: SplitCursor, sep: string): string | undefined {
  const text = cursor.rest;
  if (text === undefined) return undefined;
  if (text === '') {
    cursor.rest = undefined;
    return '';
  }
  const quotes: string[] = [];
  let end = -1;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') {
      i += 2;
      if (i >= text.length) break;
    }
    const c = text[i];
    if (c === '"' || c === "'") {
      if (quotes.at(-1) === c) quotes.pop();
      else if (quotes.push(c) >= MAX_QUOTE_DEPTH) return undefined;
    }
    if (c === sep && quotes.length === 0) {
      end = i;
      break;
    }
  }
  cursor.rest = end === -1 ? undefined : text.slice(end + 1);
  return stripQuoted(end === -1 ? text : text.slice(0, end));
}

/** Every piece of `text` split at `sep` the way {@link strsep} does. */
export function strsepAll(text: string, sep: string): string[] {
  const cursor: SplitCursor = { rest: text };
  const pieces: string[] = [];
  for (let piece = strsep(cursor, sep); piece !== undefined; piece = strsep(cursor, sep)) pieces.push(piece);
  return pieces;
}

/** `name=value` read as Asterisk reads an option or a filter term: the value ends at the next bare `=`. */
export function nameValue(term: string): { name: string; value: string | undefined } {
  const cursor: SplitCursor = { rest: term };
  const name = strsep(cursor, '=') ?? '';
  return { name, value: strsep(cursor, '=') };
}
