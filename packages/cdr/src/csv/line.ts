import type { CsvTemplate, TemplateField } from './template.js';

/** A record split by its template: one value per field, in template order. */
export type CsvLineResult = { ok: true; values: string[] } | { ok: false; reason: string };

/**
 * Splits one record (the text of `linesPerRecord` lines, without the final `\n`) by the literal text between
 * the template's fields. mod_cdr_csv does no quoting or escaping (`"Jürgen "JJ" Müller"` is written as is), so
 * CSV rules would misread it; the template's own separators (`","`, `",`, `,"`, ...) are what delimit values.
 * A value that contains its separator makes a line ambiguous: it is then read with the shapes of known
 * variables (uuids, numbers, timestamps), and refused when more than one split still fits.
 */
export function parseCsvLine(template: CsvTemplate, record: string): CsvLineResult {
  const { literals, fields } = template;
  const prefix = literals[0] as string;
  // The final literal without the record's trailing newline (not part of `record`).
  const suffix = (literals[literals.length - 1] as string).slice(0, -1);
  if (!record.startsWith(prefix))
    return { ok: false, reason: `does not start with ${JSON.stringify(prefix)}` };
  if (!record.endsWith(suffix) || record.length < prefix.length + suffix.length) {
    return { ok: false, reason: `does not end with ${JSON.stringify(suffix)}` };
  }
  if (fields.length === 0) return { ok: true, values: [] };
  const end = record.length - suffix.length;
  const lazy = splitLeft(literals, record, prefix.length, end);
  if (!lazy) return { ok: false, reason: 'does not have the separators of its template' };
  const greedy = splitRight(literals, record, prefix.length, end);
  if (greedy && sameSplit(lazy, greedy)) return { ok: true, values: lazy };
  return byShapes(template, record);
}

/** Leftmost separators: each value ends at the first occurrence of the text after it. */
function splitLeft(literals: string[], record: string, start: number, end: number): string[] | undefined {
  const values: string[] = [];
  let pos = start;
  for (let i = 1; i < literals.length - 1; i++) {
    const sep = literals[i] as string;
    const at = record.indexOf(sep, pos);
    if (at === -1 || at + sep.length > end) return undefined;
    values.push(record.slice(pos, at));
    pos = at + sep.length;
  }
  values.push(record.slice(pos, end));
  return values;
}

/** Rightmost separators: each value starts after the last occurrence of the text before it. */
function splitRight(literals: string[], record: string, start: number, end: number): string[] | undefined {
  const values: string[] = [];
  let stop = end;
  for (let i = literals.length - 2; i >= 1; i--) {
    const sep = literals[i] as string;
    const at = record.lastIndexOf(sep, stop - sep.length);
    if (at < start) return undefined;
    values.push(record.slice(at + sep.length, stop));
    stop = at;
  }
  values.push(record.slice(start, stop));
  return values.reverse();
}

function sameSplit(a: string[], b: string[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const UUID_SHAPE = '[0-9a-fA-F-]*';
const NUMBER_SHAPE = '-?[0-9]*(?:\\.[0-9]+)?';
const STAMP_SHAPE = '(?:[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2})?';

/** The shape a known variable's value always has (a uuid, a number, a `YYYY-MM-DD HH:MM:SS` stamp). */
function shapeOf(field: TemplateField): string | undefined {
  if (field.kind !== 'var') return undefined;
  const n = field.name.toLowerCase();
  if (n === 'uuid' || n.endsWith('_uuid')) return UUID_SHAPE;
  if (n.endsWith('_stamp')) return STAMP_SHAPE;
  if (/(^|_)(duration|billsec|epoch|usec|msec|sec|mduration|billmsec|uduration|billusec)$/.test(n))
    return NUMBER_SHAPE;
  return undefined;
}

const shapeCache = new WeakMap<CsvTemplate, { lazy: RegExp; greedy: RegExp }>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Splits an ambiguous record with shape-constrained patterns; refused unless exactly one split remains. */
function byShapes(template: CsvTemplate, record: string): CsvLineResult {
  let patterns = shapeCache.get(template);
  if (!patterns) {
    const build = (free: string) => {
      let src = `^${escapeRegExp(template.literals[0] as string)}`;
      template.fields.forEach((field, i) => {
        src += `(${shapeOf(field) ?? free})`;
        const lit = template.literals[i + 1] as string;
        src += escapeRegExp(i === template.fields.length - 1 ? lit.slice(0, -1) : lit);
      });
      return new RegExp(`${src}$`);
    };
    patterns = { lazy: build('[\\s\\S]*?'), greedy: build('[\\s\\S]*') };
    shapeCache.set(template, patterns);
  }
  const lazy = patterns.lazy.exec(record);
  if (!lazy) return { ok: false, reason: 'does not have the separators of its template' };
  const greedy = patterns.greedy.exec(record);
  const values = lazy.slice(1);
  if (greedy && sameSplit(values, greedy.slice(1))) return { ok: true, values };
  return {
    ok: false,
    reason: 'ambiguous: a value contains the text that separates fields, and more than one split fits',
  };
}
