import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { emptyCounts, type ImportCounts, RecordBatcher } from '../csv/batcher.js';
import { LocalTimeZone } from '../csv/local-time.js';
import { recordFromVariables } from '../csv/to-record.js';
import type { CdrRecord } from '../record.js';
import type { CdrSink } from '../sink.js';
import type { CdrPgCsvConfig } from './config.js';
import { parsePgCsvSpool, type SpoolRow, undoubleApostrophes } from './spool.js';

/** Options of {@link importPgCsvSpool}. */
export interface PgCsvSpoolImportOptions {
  /** The node's `cdr_pg_csv.conf.xml`, read: its schema names the values of a `csv` spool. */
  config: CdrPgCsvConfig;
  /** The node that wrote the spool: stored with every CDR. */
  node: string;
  /** IANA zone of the node's `*_stamp` values. Default: this process's zone. */
  timeZone?: string;
  /** Where the rows go: a `PgCsvCdrSink` (the module's own table) or a `v_xml_cdr` store. */
  sink: CdrSink;
  /** Rows per write. Default 5000. */
  batchSize?: number;
  onProgress?: (progress: { file: string; filesDone: number; filesTotal: number; records: number }) => void;
}

/** What a spool import did, over all files and per file. */
export interface PgCsvSpoolReport extends ImportCounts {
  files: Array<{ file: string; format: 'csv' | 'sql' } & Omit<ImportCounts, 'refused'> & { refused: number }>;
}

const SPOOL_NAME = /^cdr-spool\.(csv|sql)(?:\.(\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d))?$/;

/**
 * Orders spool files as the module wrote them: rotated ones (`cdr-spool.csv.YYYY-MM-DD-HH-MM-SS`, after a HUP
 * with `rotate-on-hup`) by rotation time, then the live `cdr-spool.csv` / `cdr-spool.sql`.
 */
export function orderSpoolFiles(paths: readonly string[]): string[] {
  const key = (p: string) => `${SPOOL_NAME.exec(basename(p))?.[2] ?? '9999'}\0${basename(p)}`;
  return [...paths].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * Imports mod_cdr_pg_csv's fallback spool files (what it wrote while the database was down and never replays)
 * in the order they were written. Each row is stored once (by call uuid, else by a stable key of the row),
 * and the report lists what was imported, what was there already, and what was refused and why. The format of
 * each file comes from its name (`cdr-spool.sql*` is SQL), else from the config's `spool-format`.
 */
export async function importPgCsvSpool(
  paths: readonly string[],
  options: PgCsvSpoolImportOptions,
): Promise<PgCsvSpoolReport> {
  const zone = new LocalTimeZone(options.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
  const ordered = orderSpoolFiles(paths);
  const report: PgCsvSpoolReport = { ...emptyCounts(), files: [] };
  for (const [i, file] of ordered.entries()) {
    const format =
      (SPOOL_NAME.exec(basename(file))?.[1] as 'csv' | 'sql' | undefined) ?? options.config.spoolFormat;
    const counts = emptyCounts();
    const batcher = new RecordBatcher(options.sink, counts, options.batchSize);
    for (const row of parsePgCsvSpool(await readFile(file, 'utf8'), format)) {
      const read = row.ok ? spoolRowToRecord(row, options.config, options.node, zone, file) : row.reason;
      if (typeof read === 'string') batcher.refuse(file, row.line, read, row.text);
      else await batcher.add(read);
    }
    await batcher.flush();
    report.read += counts.read;
    report.imported += counts.imported;
    report.duplicate += counts.duplicate;
    report.refused.push(...counts.refused);
    report.files.push({ file, format, ...counts, refused: counts.refused.length });
    options.onProgress?.({ file, filesDone: i + 1, filesTotal: ordered.length, records: report.read });
  }
  return report;
}

/** A spool row as a CDR record; a string is why it is refused. */
export function spoolRowToRecord(
  row: Extract<SpoolRow, { ok: true }>,
  config: CdrPgCsvConfig,
  node: string,
  zone: LocalTimeZone,
  file?: string,
): CdrRecord | string {
  let vars: string[];
  if (row.columns) {
    vars = row.columns.map((c) => config.fields.find((f) => f.column === c)?.var ?? c);
  } else {
    if (row.values.length !== config.fields.length) {
      return `${row.values.length} values but the schema has ${config.fields.length} fields`;
    }
    vars = config.fields.map((f) => f.var);
  }
  const written = vars.map((name, i) => {
    const value = row.values[i] ?? null;
    return [name, value === null ? null : undoubleApostrophes(value)] as const;
  });
  return recordFromVariables(written, {
    module: 'mod_cdr_pg_csv',
    node,
    legs: config.legs,
    zone,
    text: row.text,
    file,
    line: row.line,
  });
}
