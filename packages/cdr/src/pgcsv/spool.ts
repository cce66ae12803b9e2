/** One row of a mod_cdr_pg_csv spool file, read: its columns and values, or why it was refused. */
export type SpoolRow =
  | {
      ok: true;
      /** 1-based line where the row starts (a value with a newline makes a row span lines). */
      line: number;
      /** Columns named by the statement (`sql` spool), or undefined (`csv` spool: the schema's order). */
      columns: string[] | undefined;
      /** SQL values as the database would have stored them (`null` for SQL null). */
      values: Array<string | null>;
      text: string;
    }
  | { ok: false; line: number; reason: string; text: string };

const INSERT = /INSERT INTO\s+([^\s(]+)\s*\(([^)]*)\)\s*VALUES\s*\(/iy;
const NUMBER = /^-?[0-9]+(\.[0-9]+)?$/;

/**
 * Reads a mod_cdr_pg_csv spool file (sans I/O). The module writes, per row it could not insert, either the
 * `VALUES` list alone (`spool-format csv`, which is SQL, not CSV: `'text'`, bare numbers, `null`) or the whole
 * `INSERT INTO t (cols) VALUES (...);` (`sql`), then a newline. Text values are SQL literals with `''` for a
 * quote; a value may hold a newline, so rows are read as SQL, not split by lines. The spool is never executed:
 * a bare value other than a number or `null` is refused, so a spool cannot run SQL of its own.
 */
export function parsePgCsvSpool(text: string, format: 'csv' | 'sql'): SpoolRow[] {
  const rows: SpoolRow[] = [];
  const scan = { pos: 0, line: 1 };
  while (scan.pos < text.length) {
    if (text[scan.pos] === '\n') {
      scan.pos++;
      scan.line++;
      continue;
    }
    const start = scan.pos;
    const line = scan.line;
    const row = readRow(text, scan, format);
    const raw = text.slice(start, scan.pos).replace(/\n$/, '');
    if (typeof row === 'string') {
      // Resynchronise at the next line: one bad row must not take the rest of the file with it.
      const nl = text.indexOf('\n', scan.pos);
      const end = nl === -1 ? text.length : nl;
      rows.push({ ok: false, line, reason: row, text: text.slice(start, end) });
      scan.line += countNewlines(text, scan.pos, end);
      scan.pos = end;
    } else {
      rows.push({ ok: true, line, columns: row.columns, values: row.values, text: raw });
    }
  }
  return rows;
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

type Scan = { pos: number; line: number };

/** One row from `scan.pos`; advances past its final newline. A string is the reason it is refused. */
function readRow(
  text: string,
  scan: Scan,
  format: 'csv' | 'sql',
): { columns: string[] | undefined; values: Array<string | null> } | string {
  let columns: string[] | undefined;
  if (format === 'sql') {
    INSERT.lastIndex = scan.pos;
    const m = INSERT.exec(text);
    if (!m) return 'not an INSERT INTO ... (columns) VALUES (...) statement';
    columns = (m[2] as string).split(',').map((c) => c.trim());
    scan.pos = INSERT.lastIndex;
  }
  const end = format === 'sql' ? ')' : '\n';
  const values: Array<string | null> = [];
  for (;;) {
    const value = readValue(text, scan, end);
    if (typeof value === 'object' && value !== null) return value.error;
    values.push(value);
    const c = text[scan.pos];
    if (c === ',') {
      scan.pos++;
      continue;
    }
    if (format === 'sql') {
      if (c !== ')') return `expected , or ) at offset ${scan.pos}`;
      scan.pos++;
      if (text[scan.pos] !== ';') return 'the statement does not end with );';
      scan.pos++;
    }
    if (scan.pos < text.length && text[scan.pos] !== '\n')
      return `unexpected text after the values at offset ${scan.pos}`;
    if (scan.pos < text.length) {
      scan.pos++;
      scan.line++;
    }
    if (columns && columns.length !== values.length) {
      return `${columns.length} columns but ${values.length} values`;
    }
    return { columns, values };
  }
}

/** A quoted literal (`''` is a quote), or a bare number or `null`. */
function readValue(text: string, scan: Scan, end: string): string | null | { error: string } {
  if (text[scan.pos] === "'") {
    let out = '';
    let i = scan.pos + 1;
    for (;;) {
      const q = text.indexOf("'", i);
      if (q === -1) return { error: 'a quoted value is not closed' };
      out += text.slice(i, q);
      if (text[q + 1] === "'") {
        out += "'";
        i = q + 2;
        continue;
      }
      scan.line += countNewlines(text, scan.pos, q);
      scan.pos = q + 1;
      return out;
    }
  }
  let i = scan.pos;
  while (i < text.length && text[i] !== ',' && text[i] !== end && text[i] !== '\n') i++;
  const bare = text.slice(scan.pos, i).trim();
  scan.pos = i;
  if (bare.toLowerCase() === 'null') return null;
  if (bare === '') return { error: 'an empty unquoted value (the module could not have inserted this row)' };
  if (!NUMBER.test(bare))
    return { error: `unquoted value ${JSON.stringify(bare.slice(0, 40))} is not a number or null` };
  return bare;
}

/**
 * A value as the call had it: mod_cdr_pg_csv escapes apostrophes twice (PQescapeString, then `%q`), so the
 * database holds `O''Brien` for `O'Brien`. This undoes the second escaping.
 */
export function undoubleApostrophes(value: string): string {
  return value.includes("''") ? value.replace(/''/g, "'") : value;
}
