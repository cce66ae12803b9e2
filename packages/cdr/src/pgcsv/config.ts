import { type CdrLegs, findConfiguration, parseLegs, settingsOf, switchTrue } from '../csv/config.js';
import { CdrCsvTemplateError } from '../csv/template.js';
import { children } from '../parse/xml-tree.js';

/** One `<field var=... column=... quote=... not-null=...>` of mod_cdr_pg_csv's `<schema>`. */
export interface PgCsvField {
  /** The channel variable. */
  var: string;
  /** The table column (defaults to the variable's name). */
  column: string;
  /** `quote="false"` writes the value bare (numbers). */
  quote: boolean;
  /** `not-null="true"` writes `''` for an empty value instead of `null`. */
  notNull: boolean;
}

/** mod_cdr_pg_csv's settings and schema, as read from `cdr_pg_csv.conf.xml`. */
export interface CdrPgCsvConfig {
  /** `db-info` (libpq key=value string). */
  dbInfo: string;
  /** `db-table`. Default `cdr`. */
  table: string;
  legs: CdrLegs;
  /** `spool-format`: `csv` writes the VALUES list per line, `sql` the whole INSERT. */
  spoolFormat: 'csv' | 'sql';
  rotateOnHup: boolean;
  /** `spool-dir`, when set (the module's default is FreeSWITCH's log directory + `/cdr-pg-csv`). */
  spoolDir: string | undefined;
  fields: PgCsvField[];
}

/**
 * Reads `cdr_pg_csv.conf.xml` as the module does: settings with its defaults, and the `<schema>` fields in
 * order (a field without `var` is skipped; `quote` is false only for a value starting with `false`, `not-null`
 * true only for one starting with `true`).
 *
 * @throws {CdrCsvTemplateError} when the file is not XML, has no `cdr_pg_csv.conf`, no schema field, or a bad
 * `spool-format` or `legs`.
 */
export function readCdrPgCsvConfig(xml: string): CdrPgCsvConfig {
  const config = findConfiguration(xml, 'cdr_pg_csv.conf');
  const settings = settingsOf(config);
  const fields: PgCsvField[] = [];
  for (const schema of children(config, 'schema')) {
    for (const field of children(schema, 'field')) {
      const name = field.attrs?.var;
      if (name === undefined) continue;
      fields.push({
        var: name,
        column: field.attrs?.column ?? name,
        quote: !(field.attrs?.quote ?? '').startsWith('false'),
        notNull: (field.attrs?.['not-null'] ?? '').startsWith('true'),
      });
    }
  }
  if (fields.length === 0) throw new CdrCsvTemplateError('cdr_pg_csv.conf has no <schema> <field var=...>');
  const format = settings.get('spool-format') ?? 'csv';
  if (format !== 'csv' && format !== 'sql') {
    throw new CdrCsvTemplateError(`spool-format ${JSON.stringify(format)} is not csv or sql`);
  }
  const legs = settings.get('legs') ?? 'a';
  if (!['a', 'b', 'ab'].includes(legs))
    throw new CdrCsvTemplateError(`legs ${JSON.stringify(legs)} is not a, b or ab`);
  return {
    dbInfo: settings.get('db-info') ?? 'dbname=cdr',
    table: settings.get('db-table') || 'cdr',
    legs: parseLegs(legs),
    spoolFormat: format,
    rotateOnHup: switchTrue(settings.get('rotate-on-hup')),
    spoolDir: settings.get('spool-dir') || undefined,
    fields,
  };
}
