// biome-ignore-all lint/suspicious/noTemplateCurlyInString: FreeSWITCH templates are text with ${variable} fields
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR, fixture } from '../../../scripts/test-env.js';
import {
  CsvCdrReader,
  importCsvFiles,
  PostgresBulkCdrWriter,
  PostgresCdrSink,
  parseCdr,
  parseTemplate,
  RecordSplitter,
  readCdrCsvConfig,
} from '../src/index.js';
import { exampleLine, pgDumpRows } from './csv-fixtures.js';
import { ownDatabase } from './own-database.js';

const config = readCdrCsvConfig(fixture('fs-modules', 'config', 'cdr_csv.conf.xml').toString('utf8'));
const csvDir = join(FIXTURES_DIR, 'fs-modules', 'cdr_csv');
const files = [
  'Master.csv.2026-12-02-06-43-31',
  'custom.csv.2026-12-02-06-45-49',
  'example.csv.2026-12-02-06-43-31',
  'sql.csv.2026-12-02-06-43-31',
].map((f) => join(csvDir, f));

describe('mod_cdr_csv files into PostgreSQL (v_xml_cdr + pbxkit_cdr_node)', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  let writer: PostgresBulkCdrWriter;
  let nodeB: string;
  const q = async (sql: string) => (await db.pool.query(sql)).rows;

  beforeAll(async () => {
    db = await ownDatabase('import');
    writer = new PostgresBulkCdrWriter({ connectionString: db.url });
    await writer.createSchema();
    // A second node's Master.csv: the calls of the same capture that the first node's files do not hold.
    const first = new Set(
      (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('').match(/[0-9a-f-]{36}/g),
    );
    const dir = await mkdtemp(join(tmpdir(), 'cdr-csv-'));
    nodeB = join(dir, 'Master.csv');
    await writeFile(
      nodeB,
      pgDumpRows()
        .filter((r) => !first.has(r.uuid as string))
        .map(exampleLine)
        .join(''),
    );
  });
  afterAll(async () => {
    await writer.close();
    await db.drop();
  });

  it('imports every file once per call leg, in rotation order, and reports the duplicates', async () => {
    const report = await importCsvFiles(files, { config, node: 'fs1', timeZone: 'UTC', sink: writer });
    // Master.csv holds every leg; the per-accountcode files repeat some of them (same call uuid).
    expect(report).toMatchObject({ read: 28, imported: 25, duplicate: 3, refused: [] });
    expect(report.files.map((f) => [f.template, f.imported, f.duplicate])).toEqual([
      ['example', 22, 0],
      ['example', 0, 2],
      ['sql', 0, 1],
      ['custom', 3, 0],
    ]);
    const rows = await q(
      `select v.xml_cdr_uuid, n.node, n.module from v_xml_cdr v join pbxkit_cdr_node n using (xml_cdr_uuid)`,
    );
    expect(rows).toHaveLength(25);
    expect(new Set(rows.map((r) => `${r.node}/${r.module}`))).toEqual(new Set(['fs1/mod_cdr_csv']));
    const [odd] = await q(
      `select caller_id_name, billsec, hangup_cause, start_stamp, domain_name, missed_call, leg from v_xml_cdr where xml_cdr_uuid = '58a32332-36e1-4857-9670-da10f5bb6319'`,
    );
    expect(odd).toMatchObject({
      caller_id_name: 'Jürgen JJ Müller',
      hangup_cause: 'NORMAL_CLEARING',
      domain_name: null,
      missed_call: null,
      leg: 'a',
    });
    expect(Number(odd?.billsec)).toBe(1);
  });

  it('imports the same files again without storing anything twice', async () => {
    const report = await importCsvFiles(files, { config, node: 'fs1', timeZone: 'UTC', sink: writer });
    expect(report).toMatchObject({ read: 28, imported: 0, duplicate: 28 });
    expect((await q('select count(*)::int as n from v_xml_cdr'))[0]?.n).toBe(25);
  });

  it("adds a second node's file: one row per leg, each with its node", async () => {
    const report = await importCsvFiles([nodeB], { config, node: 'fs2', timeZone: 'UTC', sink: writer });
    expect(report).toMatchObject({ read: 26, imported: 26, duplicate: 0, refused: [] });
    const perNode = await q(
      'select node, count(*)::int as n from pbxkit_cdr_node group by node order by node',
    );
    expect(perNode).toEqual([
      { node: 'fs1', n: 25 },
      { node: 'fs2', n: 26 },
    ]);
    // 25 legs from the first node's files + 26 from the second's = the 51 rows mod_cdr_pg_csv stored for the same calls.
    const legs = await q(
      'select count(*)::int as n from v_xml_cdr where xml_cdr_uuid in (select uuid from (values ' +
        pgDumpRows()
          .map((r) => `('${r.uuid}'::uuid)`)
          .join(',') +
        ') as t(uuid))',
    );
    expect(legs[0]?.n).toBe(51);
  });

  it('keeps identical lines of two nodes apart when the template has no uuid', async () => {
    const template = parseTemplate(
      'nouuid',
      '"${caller_id_number}","${destination_number}","${start_stamp}"',
    );
    const dir = await mkdtemp(join(tmpdir(), 'cdr-csv-'));
    const file = join(dir, 'Master.csv');
    await writeFile(file, '"1001","2000","2026-12-02 06:43:16"\n"1002","2000","2026-12-02 06:43:17"\n');
    for (const node of ['nodeA', 'nodeB', 'nodeA']) {
      await importCsvFiles([file], { template, node, timeZone: 'UTC', sink: writer });
    }
    const rows = await q(
      `select n.node, count(*)::int as n from pbxkit_cdr_node n where n.node like 'node%' group by n.node order by n.node`,
    );
    expect(rows).toEqual([
      { node: 'nodeA', n: 2 },
      { node: 'nodeB', n: 2 },
    ]);
  });

  it('refuses lines that do not fit the template, and a cut-off last line, naming line and reason', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cdr-csv-'));
    const file = join(dir, 'Master.csv');
    const good = fixture('fs-modules', 'cdr_csv', 'Master.csv.2026-12-02-06-43-31').toString().split('\n')[0];
    await writeFile(file, `${good}\nnot a cdr line\n"Alice","10`);
    const report = await importCsvFiles([file], { config, node: 'fs1', timeZone: 'UTC', sink: writer });
    expect(report.duplicate).toBe(1);
    expect(report.refused).toEqual([
      { file, line: 2, reason: expect.stringMatching(/does not start with/), text: 'not a cdr line' },
      { file, line: 3, reason: 'the last line has no newline: cut off', text: '' },
    ]);
  });

  it('stores CSV records through PostgresCdrSink with the same row as the bulk writer', async () => {
    const sink = new PostgresCdrSink({ pool: db.pool }, { schema: 'other' });
    await db.pool.query('create schema other');
    await sink.createSchema();
    const reader = new CsvCdrReader({
      template: config.templates.get('example')!,
      node: 'fs1',
      timeZone: 'UTC',
    });
    const records = new RecordSplitter()
      .push(fixture('fs-modules', 'cdr_csv', 'Master.csv.2026-12-02-06-43-31'))
      .map((s) => {
        const r = reader.read(s);
        if (!r.ok) throw new Error(r.reason);
        return r.record;
      });
    await sink.write(records);
    const cols =
      'xml_cdr_uuid, caller_id_name, caller_id_number, destination_number, context, start_stamp, answer_stamp, end_stamp, billsec, duration, hangup_cause, accountcode, read_codec, write_codec, leg, status, missed_call, pdd_ms';
    const viaSink = await q(`select ${cols} from other.v_xml_cdr order by xml_cdr_uuid`);
    const viaBulk = await q(
      `select ${cols} from public.v_xml_cdr where xml_cdr_uuid in (select xml_cdr_uuid from other.v_xml_cdr) order by xml_cdr_uuid`,
    );
    expect(viaSink).toEqual(viaBulk);
    expect(await q('select distinct node from other.pbxkit_cdr_node')).toEqual([{ node: 'fs1' }]);
  });

  it('records the node of XML CDRs: their switchname and core-uuid', async () => {
    const sink = new PostgresCdrSink({ pool: db.pool }, { schema: 'other' });
    const xml = fixture('cdr-freeswitch', 'urlencoded__basic-7100__loopback-7100-a.xml').toString('utf8');
    const record = parseCdr(xml);
    await sink.write([record]);
    const [node] = await q(
      `select node, core_uuid, module from other.pbxkit_cdr_node where xml_cdr_uuid = '${record.uuid}'`,
    );
    expect(node).toEqual({ node: record.switchname, core_uuid: record.coreUuid, module: 'mod_xml_cdr' });
    expect(record.switchname).toBeTruthy();
  });
});
