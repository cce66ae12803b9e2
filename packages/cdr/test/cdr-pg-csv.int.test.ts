import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR, fixture } from '../../../scripts/test-env.js';
import {
  importPgCsvSpool,
  migratePgCsvTable,
  PgCsvCdrSink,
  PostgresBulkCdrWriter,
  parseCdr,
  readCdrPgCsvConfig,
} from '../src/index.js';
import { pgDumpRows } from './csv-fixtures.js';
import { ownDatabase } from './own-database.js';

const config = readCdrPgCsvConfig(fixture('fs-modules', 'config', 'cdr_pg_csv.conf.xml').toString('utf8'));
const spoolDir = join(FIXTURES_DIR, 'fs-modules', 'cdr_pg_csv');
const spools = [join(spoolDir, 'cdr-spool.csv'), join(spoolDir, 'cdr-spool.sql')];

/** The module's real `cdr` table (DDL of the pg_dump fixture) with the 51 rows it stored. */
async function restoreModuleTable(pool: import('pg').Pool): Promise<void> {
  const dump = fixture('fs-modules', 'cdr_pg_csv', 'cdr-table.pg_dump.sql').toString('utf8');
  for (const statement of dump.match(
    /^(CREATE TABLE|CREATE SEQUENCE|ALTER SEQUENCE|ALTER TABLE ONLY)[\s\S]*?;$/gm,
  ) ?? []) {
    await pool.query(statement);
  }
  for (const row of pgDumpRows()) {
    const cols = Object.keys(row);
    await pool.query(
      `insert into public.cdr (${cols.join(',')}) values (${cols.map((_, i) => `$${i + 1}`).join(',')})`,
      Object.values(row),
    );
  }
  await pool.query("select setval('public.cdr_id_seq', 51)");
}

describe('mod_cdr_pg_csv: spool import, its table as a sink, migration into v_xml_cdr', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  let sink: PgCsvCdrSink;
  const q = async (sql: string) => (await db.pool.query(sql)).rows;

  beforeAll(async () => {
    db = await ownDatabase('pgcsv');
    await restoreModuleTable(db.pool);
    sink = new PgCsvCdrSink({ pool: db.pool }, { config, moduleQuoting: true });
  });
  afterAll(async () => {
    await sink.close();
    await db.drop();
  });

  it('imports both real spools into the module table once the database is back, with a report', async () => {
    const report = await importPgCsvSpool(spools, { config, node: 'fs1', timeZone: 'UTC', sink });
    expect(report).toMatchObject({ read: 32, imported: 32, duplicate: 0, refused: [] });
    expect(report.files.map((f) => [f.format, f.imported])).toEqual([
      ['csv', 19],
      ['sql', 13],
    ]);
    expect((await q('select count(*)::int as n from cdr'))[0]?.n).toBe(83);
    // Stored as the module stores it (apostrophes doubled), in the module's own types.
    const [apos] = await q(
      `select caller_id_name, accountcode, billsec, local_ip_v4::text as ip, start_stamp from cdr where uuid = '392f1d22-e1ad-4d39-b31a-a15c7207060b'`,
    );
    expect(apos).toMatchObject({
      caller_id_name: 'Seán O\'\'Brien, Jr. "Mac"',
      accountcode: "it''s-acct",
      billsec: 1,
      ip: '127.0.0.1/32',
    });
    expect((apos as { start_stamp: Date }).start_stamp.toISOString()).toBe('2026-12-02T06:47:05.000Z');
  });

  it('imports them again without storing anything twice', async () => {
    const report = await importPgCsvSpool(spools, { config, node: 'fs1', timeZone: 'UTC', sink });
    expect(report).toMatchObject({ read: 32, imported: 0, duplicate: 32 });
    expect((await q('select count(*)::int as n from cdr'))[0]?.n).toBe(83);
  });

  it('refuses what it cannot read, names file, line and reason, and imports the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgcsv-'));
    const file = join(dir, 'cdr-spool.csv');
    const good = fixture('fs-modules', 'cdr_pg_csv', 'cdr-spool.csv').toString().split('\n')[0];
    await writeFile(
      file,
      `'127.0.0.1','x'\n${good?.replace('103f4d63', '203f4d63')}\n'1',2); delete from cdr; --\n`,
    );
    const report = await importPgCsvSpool([file], { config, node: 'fs1', timeZone: 'UTC', sink });
    expect(report.imported).toBe(1);
    expect(report.refused).toEqual([
      expect.objectContaining({ file, line: 1, reason: '2 values but the schema has 16 fields' }),
      expect.objectContaining({ file, line: 3, reason: expect.stringMatching(/is not a number or null/) }),
    ]);
    expect((await q('select count(*)::int as n from cdr'))[0]?.n).toBe(84);
  });

  it('takes XML CDRs into the module table (a site on mod_cdr_pg_csv keeps its schema)', async () => {
    const record = parseCdr(
      fixture('cdr-freeswitch', 'urlencoded__basic-7100__loopback-7100-a.xml').toString('utf8'),
    );
    const xmlSink = new PgCsvCdrSink({ pool: db.pool }, { config, globals: { local_ip_v4: '127.0.0.1' } });
    await xmlSink.write([record, record]);
    await xmlSink.close();
    const rows = await q(
      `select uuid::text, caller_id_number, destination_number, duration from cdr where uuid = '${record.uuid}'`,
    );
    expect(rows).toEqual([
      {
        uuid: record.uuid,
        // Not channel variables in the XML: read from the caller profile, as the module reads them.
        caller_id_number: record.callflows[0]?.callerProfile.caller_id_number,
        destination_number: record.callflows[0]?.callerProfile.destination_number,
        duration: Number(record.variables.duration),
      },
    ]);
  });

  it('migrates the module table into v_xml_cdr once, with names as the calls had them and the node recorded', async () => {
    const writer = new PostgresBulkCdrWriter({ pool: db.pool });
    await writer.createSchema();
    const first = await migratePgCsvTable(
      { pool: db.pool },
      { config, node: 'fs1', sink: writer, batchSize: 20 },
    );
    expect(first).toMatchObject({ read: 85, imported: 85, duplicate: 0 });
    const again = await migratePgCsvTable({ pool: db.pool }, { config, node: 'fs1', sink: writer });
    expect(again).toMatchObject({ imported: 0, duplicate: 85 });
    const [apos] = await q(
      `select v.caller_id_name, v.accountcode, v.start_stamp, v.billsec, n.node, n.module from v_xml_cdr v join pbxkit_cdr_node n using (xml_cdr_uuid) where xml_cdr_uuid = '392f1d22-e1ad-4d39-b31a-a15c7207060b'`,
    );
    expect(apos).toMatchObject({ accountcode: "it's-acct", node: 'fs1', module: 'mod_cdr_pg_csv' });
    expect(apos?.caller_id_name).toBe('Seán OBrien Jr. Mac'); // FusionPBX's caller-id cleaning, as for XML CDRs
    expect((apos as { start_stamp: Date }).start_stamp.toISOString()).toBe('2026-12-02T06:47:05.000Z');
    await writer.close();
  });
});
