import { PbxkitError } from '@pbxkit/core';

/** A mod_cdr_csv template or configuration that cannot be used (names the problem). */
export class CdrCsvTemplateError extends PbxkitError {
  constructor(message: string) {
    super('CDR_CSV_TEMPLATE', message);
  }
}

/**
 * One `${...}` of a template. `var` is a plain channel variable (`${caller_id_name}`), the only kind whose value
 * maps onto a column; `api` is an API call (`${regex(...)}`, `${expr 1+1}`); `expr` is anything else FreeSWITCH
 * expands (a substring `${uuid:0:8}`, an index `${var[1]}`, a nested `${a${b}}`).
 */
export interface TemplateField {
  kind: 'var' | 'api' | 'expr';
  /** What is inside the braces, as written. */
  source: string;
  /** The variable name for `var`, else the API or the expression. */
  name: string;
}

/** A template split the way FreeSWITCH expands it: `literals[0] field[0] literals[1] ... field[n-1] literals[n]`. */
export interface CsvTemplate {
  name: string;
  /** The template text as FreeSWITCH keeps it (with the `\n` it appends when the text lacks one). */
  text: string;
  fields: TemplateField[];
  /** Literal text between fields after FreeSWITCH's backslash rules; one more than `fields`. */
  literals: string[];
  /** How many `\n` one record has (1 for a one-line template). */
  linesPerRecord: number;
}

/**
 * Splits template text the way `switch_channel_expand_variables` reads it: `\$` is a literal `$`, `\'` is
 * removed, `\\` is one backslash, a `$` not followed by `{` is literal, and `${...}` may nest braces. The
 * record ends with the template's own final `\n` (mod_cdr_csv appends one when the text does not end with it).
 *
 * @throws {CdrCsvTemplateError} when two fields touch (no text between them: a line could not be split).
 */
export function parseTemplate(name: string, raw: string): CsvTemplate {
  const text = raw.endsWith('\n') ? raw : `${raw}\n`;
  const fields: TemplateField[] = [];
  const literals: string[] = [];
  let literal = '';
  let p = 0;
  while (p < text.length) {
    const c = text[p] as string;
    const next = text[p + 1];
    if (c === '\\' && next === '$') {
      literal += '$';
      p += text[p + 2] === '$' ? 3 : 2;
      continue;
    }
    if (c === '\\' && next === "'") {
      p += 2;
      continue;
    }
    if (c === '\\' && next === '\\') {
      literal += '\\';
      p += 2;
      continue;
    }
    if (c === '$') {
      const global = next === '$';
      const brace = global ? p + 2 : p + 1;
      if (text[brace] !== '{') {
        literal += '$';
        p += global ? 2 : 1;
        continue;
      }
      const { source, end } = readBraces(text, brace + 1);
      literals.push(literal);
      literal = '';
      fields.push(classify(source));
      p = end;
      continue;
    }
    literal += c;
    p++;
  }
  literals.push(literal);
  for (let i = 1; i < literals.length - 1; i++) {
    if (literals[i] === '') {
      throw new CdrCsvTemplateError(
        `template ${JSON.stringify(name)}: \${${fields[i - 1]?.source}} and \${${fields[i]?.source}} have no text between them, so its lines cannot be split`,
      );
    }
  }
  const linesPerRecord = text.split('\n').length - 1;
  return { name, text, fields, literals, linesPerRecord };
}

/** Reads up to the matching `}` (nested braces counted as FreeSWITCH does); an unclosed field runs to the end. */
function readBraces(text: string, start: number): { source: string; end: number } {
  let depth = 1;
  for (let e = start; e < text.length; e++) {
    const ch = text[e];
    if (ch === '}' && depth === 1) return { source: text.slice(start, e), end: e + 1 };
    if (ch === '{' && e !== start) depth++;
    else if (ch === '}' && depth > 1) depth--;
  }
  return { source: text.slice(start), end: text.length };
}

function classify(source: string): TemplateField {
  const space = source.search(/[ (]/);
  if (space !== -1) return { kind: 'api', source, name: source.slice(0, space) };
  if (source.includes('${') || /[:[]/.test(source)) return { kind: 'expr', source, name: source };
  return { kind: 'var', source, name: source };
}

/** The channel variables a template writes as plain `${name}` fields, in order. */
export function templateVariables(template: CsvTemplate): string[] {
  return template.fields.filter((f) => f.kind === 'var').map((f) => f.name);
}
