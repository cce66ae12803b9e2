import type { SqlClient, SqlTarget } from '@pbxkit/core';
import type { CountingSink } from '../csv/batcher.js';
import type { CdrRecord } from '../record.js';
import { SqlSinkBase } from '../sinks/sql-sink-base.js';
import type { CdrPgCsvConfig, PgCsvField } from './config.js';

/** Options of {@link PgCsvCdrSink}. */
export interface PgCsvCdrSinkOptions {
  /** The module's config, read: its `<schema>` gives the columns and `db-table` the table. */
  config: CdrPgCsvConfig;
  /** Schema of the table. Default `public`. */
  schema?: string;
  /**
   * Store apostrophes doubled as mod_cdr_pg_csv itself does (`O''Brien` for `O'Brien`), so rows written here
   * match the rows the module wrote. Default false: the value as the call had it.
   */
  moduleQuoting?: boolean;
  /**
   * Values for variables a record lacks, as FreeSWITCH's global variables: the module reads each field with
   * `switch_channel_get_variable`, which falls back to the globals, so `local_ip_v4` (NOT NULL in the module's
   * sample table) is always set there but is absent from an XML CDR. E.g. `{ local_ip_v4: '10.0.0.5' }`.
   */
  globals?: Record<string, string>;
  name?: string;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The column type `createSchema` gives a field, as in the module's sample table. */
function columnType(field: PgCsvField): string {
  if (!field.quote) return 'bigint';
  if (field.var.endsWith('_stamp')) return 'timestamptz';
  if (field.var === 'uuid' || field.var.endsWith('_uuid')) return 'uuid';
  if (field.var === 'local_ip_v4') return 'inet';
  return 'varchar';
}

/**
 * Stores CDRs in mod_cdr_pg_csv's own table, with the columns of its `<schema>` (`var` → `column`), so a site
 * already on the module keeps its table and reports while taking CDRs from mod_xml_cdr, CSV files or the
 * module's spool. Values are taken from the record's variables as the module takes them from the channel: an
 * empty or missing one is null (`''` for a `not-null` field). The module's table has no unique key, so each
 * write first takes a transaction-level advisory lock and skips rows whose `uuid` column is already there (or,
 * without a uuid field, rows equal in every column): idempotent among pbxkit writers.
 */
export class PgCsvCdrSink extends SqlSinkBase implements CountingSink {
  readonly name: string;
  private readonly table: string;
  private types: Promise<Map<string, string>> | undefined;

  constructor(
    target: SqlTarget,
    private readonly options: PgCsvCdrSinkOptions,
  ) {
    super(target, 'PgCsvCdrSink');
    this.name = options.name ?? 'pg-csv';
    this.table = `${quoteIdent(options.schema ?? 'public')}.${quoteIdent(options.config.table)}`;
  }

  /** Creates the table when missing (`id serial` key and the schema's columns, typed as the module's sample). */
  async createSchema(): Promise<void> {
    const db = await this.client;
    const columns = this.options.config.fields.map((f) => `  ${quoteIdent(f.column)} ${columnType(f)}`);
    await db.query(
      `create table if not exists ${this.table} (\n  id serial primary key,\n${columns.join(',\n')}\n)`,
    );
  }

  async write(records: readonly CdrRecord[]): Promise<void> {
    await this.writeCounted(records);
  }

  async writeCounted(records: readonly CdrRecord[]): Promise<{ stored: number }> {
    if (records.length === 0) return { stored: 0 };
    const fields = this.options.config.fields;
    const uuidField = fields.find((f) => f.var === 'uuid');
    const rows = new Map<string, Array<string | null>>();
    for (const record of records) {
      const row = fields.map((f) => this.fieldValue(record, f));
      const key = uuidField ? record.uuid : JSON.stringify(row);
      if (!rows.has(key)) rows.set(key, row);
    }
    const db = await this.client;
    const types = await this.columnTypes(db);
    const list = [...rows.values()];
    const params = fields.map((_, i) => list.map((row) => row[i] ?? null));
    const names = fields.map((_, i) => `c${i}`);
    const casts = fields.map((f, i) => `t.c${i}::${types.get(f.column) ?? 'text'}`);
    const match = uuidField
      ? `x.${quoteIdent(uuidField.column)} = t.c${fields.indexOf(uuidField)}::${types.get(uuidField.column) ?? 'text'}`
      : fields.map((f, i) => `x.${quoteIdent(f.column)} is not distinct from ${casts[i]}`).join(' and ');
    return db.transaction(async (tx) => {
      await tx.query("select pg_advisory_xact_lock(hashtext('pbxkit_cdr_pg_csv:' || $1))", [this.table]);
      const { rowCount } = await tx.query(
        `insert into ${this.table} (${fields.map((f) => quoteIdent(f.column)).join(',')})
         select ${casts.join(',')} from unnest(${names.map((_, i) => `$${i + 1}::text[]`).join(',')}) as t(${names.join(',')})
         where not exists (select 1 from ${this.table} x where ${match})`,
        params,
      );
      return { stored: rowCount };
    });
  }

  /** A field's value as the module would write it: null when empty (unless `not-null`). */
  private fieldValue(record: CdrRecord, field: PgCsvField): string | null {
    // As switch_channel_get_variable: the channel's variables, then its caller profile, then the globals.
    const raw =
      record.variables[field.var] ??
      record.callflows[0]?.callerProfile[field.var] ??
      this.options.globals?.[field.var];
    if (raw === undefined || raw === '') return field.notNull ? '' : null;
    return this.options.moduleQuoting ? raw.replace(/'/g, "''") : raw;
  }

  /** The table's column types (`format_type`), read once. */
  private columnTypes(db: SqlClient): Promise<Map<string, string>> {
    this.types ??= db
      .query<{ name: string; type: string }>(
        `select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
         where attrelid = to_regclass($1) and attnum > 0 and not attisdropped`,
        [this.table],
      )
      .then(({ rows }) => {
        if (rows.length === 0)
          throw new Error(`table ${this.table} does not exist (createSchema() makes it)`);
        return new Map(rows.map((r) => [r.name, r.type]));
      })
      .catch((err: unknown) => {
        this.types = undefined;
        throw err;
      });
    return this.types;
  }
}
