import { openSqlClient, type SqlTarget } from '@pbxkit/core';
import { emptyCounts, type ImportCounts, RecordBatcher } from '../csv/batcher.js';
import { LocalTimeZone } from '../csv/local-time.js';
import { recordFromVariables } from '../csv/to-record.js';
import type { CdrRecord } from '../record.js';
import type { CdrSink } from '../sink.js';
import type { CdrPgCsvConfig } from './config.js';
import { undoubleApostrophes } from './spool.js';

/** Options of {@link readPgCsvTable} and {@link migratePgCsvTable}. */
export interface PgCsvTableOptions {
  config: CdrPgCsvConfig;
  /** The node the table's rows came from (the module stores no node name): stored with every CDR. */
  node: string;
  /** Schema of the table. Default `public`. */
  schema?: string;
  /** Rows per query. Default 5000. */
  batchSize?: number;
  /**
   * Undo the module's second escaping of apostrophes (it stores `O''Brien` for `O'Brien`). Default true; turn
   * it off for a table whose rows were not written by the module.
   */
  undoubleApostrophes?: boolean;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Reads mod_cdr_pg_csv's table as CDR records, batch by batch (by `id` when the table has one, the module's
 * sample does; else in one query). Timestamp columns are read as epochs, so no time zone is guessed.
 */
export async function* readPgCsvTable(
  target: SqlTarget,
  options: PgCsvTableOptions,
): AsyncGenerator<CdrRecord[]> {
  const db = await openSqlClient(target, { usedBy: 'readPgCsvTable' });
  try {
    const table = `${quoteIdent(options.schema ?? 'public')}.${quoteIdent(options.config.table)}`;
    const { rows: attrs } = await db.query<{ name: string; type: string }>(
      `select attname as name, format_type(atttypid, 0) as type from pg_attribute
       where attrelid = to_regclass($1) and attnum > 0 and not attisdropped`,
      [table],
    );
    const types = new Map(attrs.map((a) => [a.name, a.type]));
    if (types.size === 0) throw new Error(`table ${table} does not exist`);
    const fields = options.config.fields.filter((f) => types.has(f.column));
    const isTime = (column: string) => (types.get(column) ?? '').startsWith('timestamp');
    const select = fields.map((f, i) =>
      isTime(f.column)
        ? `extract(epoch from ${quoteIdent(f.column)})::text as c${i}`
        : `${quoteIdent(f.column)}::text as c${i}`,
    );
    const hasId = types.has('id');
    const size = options.batchSize ?? 5000;
    const zone = new LocalTimeZone('UTC');
    const undouble = options.undoubleApostrophes !== false;
    let after = -Infinity;
    for (;;) {
      const { rows } = await db.query<Record<string, string | null>>(
        hasId
          ? `select id, ${select.join(',')} from ${table} where id > $1 order by id limit ${size}`
          : `select ${select.join(',')} from ${table}`,
        hasId ? [after === -Infinity ? -2147483648 : after] : [],
      );
      const records = rows.map((row) => {
        const written: Array<readonly [string, string | null]> = [];
        fields.forEach((f, i) => {
          const value = row[`c${i}`] ?? null;
          if (isTime(f.column) && f.var.endsWith('_stamp')) {
            written.push([f.var, null], [f.var.replace(/_stamp$/, '_epoch'), value]);
          } else {
            written.push([f.var, value !== null && undouble ? undoubleApostrophes(value) : value]);
          }
        });
        return recordFromVariables(written, {
          module: 'mod_cdr_pg_csv',
          node: options.node,
          legs: options.config.legs,
          zone,
          text: JSON.stringify(row),
        });
      });
      if (records.length) yield records;
      if (!hasId || rows.length < size) return;
      after = Number(rows[rows.length - 1]?.id);
    }
  } finally {
    await db.close();
  }
}

/**
 * Copies mod_cdr_pg_csv's table into another store (FusionPBX's `v_xml_cdr` through `PostgresBulkCdrWriter`
 * or `PostgresCdrSink`), once per call uuid: running it again stores nothing twice.
 */
export async function migratePgCsvTable(
  source: SqlTarget,
  options: PgCsvTableOptions & { sink: CdrSink; onProgress?: (records: number) => void },
): Promise<ImportCounts> {
  const counts = emptyCounts();
  const batcher = new RecordBatcher(options.sink, counts, options.batchSize);
  for await (const batch of readPgCsvTable(source, options)) {
    for (const record of batch) await batcher.add(record);
    options.onProgress?.(counts.read);
  }
  await batcher.flush();
  return counts;
}
