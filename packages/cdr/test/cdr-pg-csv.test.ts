import { describe, expect, it } from 'vitest';
import { fixture } from '../../../scripts/test-env.js';
import {
  LocalTimeZone,
  orderSpoolFiles,
  parsePgCsvSpool,
  readCdrPgCsvConfig,
  spoolRowToRecord,
  toFusionPbxRow,
} from '../src/index.js';

const config = readCdrPgCsvConfig(fixture('fs-modules', 'config', 'cdr_pg_csv.conf.xml').toString('utf8'));
const spool = (name: string) => fixture('fs-modules', 'cdr_pg_csv', name).toString('utf8');

describe('cdr_pg_csv.conf.xml', () => {
  it('reads the settings and the schema fields in order', () => {
    expect(config).toMatchObject({ table: 'cdr', legs: 'a', spoolFormat: 'csv', rotateOnHup: true });
    expect(config.fields).toHaveLength(16);
    expect(config.fields[0]).toEqual({
      var: 'local_ip_v4',
      column: 'local_ip_v4',
      quote: true,
      notNull: false,
    });
    expect(config.fields.find((f) => f.var === 'billsec')?.quote).toBe(false);
    const sql = readCdrPgCsvConfig(
      fixture('fs-modules', 'config', 'cdr_pg_csv.conf.spool-sql.xml').toString('utf8'),
    );
    expect(sql.spoolFormat).toBe('sql');
  });
});

describe('mod_cdr_pg_csv spool files', () => {
  it('reads every row of the real csv spool (an SQL VALUES list per line)', () => {
    const rows = parsePgCsvSpool(spool('cdr-spool.csv'), 'csv');
    expect(rows).toHaveLength(19);
    expect(rows.every((r) => r.ok)).toBe(true);
    const first = rows[0];
    if (!first?.ok) throw new Error('not read');
    expect(first.values.slice(0, 3)).toEqual(['127.0.0.1', 'Alice Example', '1001']);
    expect(first.values[8]).toBe('2'); // bare number
    expect(first.values[12]).toBeNull(); // bleg_uuid null
  });

  it("reads the real sql spool, and undoes the doubled apostrophes of O'Brien", () => {
    const rows = parsePgCsvSpool(spool('cdr-spool.sql'), 'sql');
    expect(rows).toHaveLength(13);
    const apos = rows.find((r) => r.ok && r.values.includes('1025'));
    if (!apos?.ok) throw new Error('not read');
    expect(apos.columns?.[1]).toBe('caller_id_name');
    // The database would have stored O''Brien (the module escapes twice); the record has the real name.
    expect(apos.values[1]).toBe('Seán O\'\'Brien, Jr. "Mac"');
    const record = spoolRowToRecord(apos, config, 'fs1', new LocalTimeZone('UTC'));
    if (typeof record === 'string') throw new Error(record);
    expect(record.variables.caller_id_name).toBe('Seán O\'Brien, Jr. "Mac"');
    expect(record.variables.accountcode).toBe("it's-acct");
    const row = toFusionPbxRow(record);
    expect(row).toMatchObject({ xml_cdr_uuid: '392f1d22-e1ad-4d39-b31a-a15c7207060b', billsec: 1, leg: 'a' });
    expect(row.start_stamp?.toISOString()).toBe('2026-12-02T06:47:05.000Z');
  });

  it('reads a value with a newline inside its quotes as one row', () => {
    const rows = parsePgCsvSpool("'a\nb',1\n'c',2\n", 'csv');
    expect(rows.map((r) => (r.ok ? [r.line, r.values] : r.reason))).toEqual([
      [1, ['a\nb', '1']],
      [3, ['c', '2']],
    ]);
  });

  it('refuses what the module cannot have written, and goes on with the next row', () => {
    const rows = parsePgCsvSpool("'a',1\n'b',1); drop table cdr; --\n'unclosed\n", 'csv');
    expect(rows.map((r) => (r.ok ? 'ok' : `${r.line}: ${r.reason}`))).toEqual([
      'ok',
      expect.stringMatching(/^2: unquoted value "1\); drop table cdr; --" is not a number or null/),
      '3: a quoted value is not closed',
    ]);
    const wrongCount = parsePgCsvSpool("'a',1\n", 'csv')[0];
    if (!wrongCount?.ok) throw new Error('not read');
    expect(spoolRowToRecord(wrongCount, config, 'n', new LocalTimeZone('UTC'))).toBe(
      '2 values but the schema has 16 fields',
    );
  });

  it('orders rotated spool files before the live one', () => {
    expect(
      orderSpoolFiles([
        '/s/cdr-spool.csv',
        '/s/cdr-spool.csv.2026-12-02-07-00-00',
        '/s/cdr-spool.csv.2026-12-01-07-00-00',
      ]),
    ).toEqual([
      '/s/cdr-spool.csv.2026-12-01-07-00-00',
      '/s/cdr-spool.csv.2026-12-02-07-00-00',
      '/s/cdr-spool.csv',
    ]);
  });
});
