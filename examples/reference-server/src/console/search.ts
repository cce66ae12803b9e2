import type { SqlClient } from '@pbxkit/core';
import { type Cursor, encodeCursor, RESULT_COLUMNS, type SearchQuery, searchSql } from './search-query.js';

/** One search result, JSON-ready. */
export type ResultRow = Record<(typeof RESULT_COLUMNS)[number], string | number | null>;

/** A page of results, and the `after` of the next one when there is more. */
export interface SearchPage {
  rows: ResultRow[];
  next: string | undefined;
  /** The decoded `next`. */
  cursor: Cursor | undefined;
  /** Time the database took, ms. */
  tookMs: number;
}

/** A database row as a result row: the result columns only, times as ISO text, durations as numbers. */
export function shapeRow(row: Record<string, unknown>): ResultRow {
  const out = {} as ResultRow;
  for (const column of RESULT_COLUMNS) {
    const value = row[column];
    if (value === null || value === undefined) out[column] = null;
    else if (value instanceof Date) out[column] = value.toISOString();
    // numeric columns come back as strings from pg and as numbers from PGlite: numbers either way
    else if (column === 'duration' || column === 'billsec') out[column] = Number(value);
    else out[column] = String(value);
  }
  return out;
}

/** Searches `v_xml_cdr` (see {@link searchSql}). */
export async function searchCdrs(db: SqlClient, table: string, query: SearchQuery): Promise<SearchPage> {
  const { sql, params } = searchSql(query, table);
  const started = performance.now();
  const result = await db.query(sql, params);
  const tookMs = performance.now() - started;
  const rows = result.rows.slice(0, query.limit).map(shapeRow);
  const last = rows[rows.length - 1];
  const cursor =
    result.rows.length > query.limit && last
      ? {
          value: query.sort === 'start' ? (last.start_stamp as string) : Number(last.duration ?? 0),
          uuid: last.xml_cdr_uuid as string,
        }
      : undefined;
  return { rows, next: cursor && encodeCursor(cursor), cursor, tookMs };
}

/** Most rows one CSV export holds: past it the file ends with a line saying it was cut. */
export const CSV_MAX_ROWS = 200_000;

/**
 * A search as CSV, page after page (1000 rows each, keyset), written as they come: memory stays flat whatever
 * the size. Text that a spreadsheet would run as a formula (`=`, `@`) is quoted with a leading `'`.
 */
export async function writeCsv(
  db: SqlClient,
  table: string,
  query: SearchQuery,
  write: (chunk: string) => Promise<void>,
): Promise<number> {
  await write(`${RESULT_COLUMNS.join(',')}\r\n`);
  let page: SearchQuery = { ...query, limit: 1000 };
  let total = 0;
  for (;;) {
    const result = await searchCdrs(db, table, page);
    const room = CSV_MAX_ROWS - total;
    const rows = result.rows.slice(0, room);
    if (rows.length) await write(rows.map(csvLine).join(''));
    total += rows.length;
    if (!result.cursor) return total;
    if (total >= CSV_MAX_ROWS) {
      await write(`# cut at ${CSV_MAX_ROWS} rows: narrow the search\r\n`);
      return total;
    }
    page = { ...page, after: result.cursor };
  }
}

function csvLine(row: ResultRow): string {
  return `${RESULT_COLUMNS.map((c) => csvField(row[c])).join(',')}\r\n`;
}

export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (/^[=@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
