/**
 * Measures mod_cdr_csv lines/s into PostgreSQL (not a test: run it by hand, or `pnpm bench`):
 *
 *   packages/cdr/node_modules/.bin/tsx --tsconfig tsconfig.json packages/cdr/bench/csv-import.ts \
 *     --pg postgres://... [--lines 1000000]
 *
 * Writes a Master.csv of `lines` lines in the vanilla `example` template (15 fields, unique call uuids) and
 * imports it three ways into a fresh schema each, side by side:
 * - `importCsvFiles` into `v_xml_cdr` + `pbxkit_cdr_node` (parse by template, FusionPBX row, idempotent insert);
 * - the same file imported again (every line a duplicate: the cost of a re-run);
 * - what a user would do instead: `psql \copy` of the file (it happens to be valid CSV) into a table of 15
 *   text columns: a raw load with no parsing by template, no row mapping, no idempotence.
 * Prints lines/s of each and the ratios. PostgreSQL, psql and this process share the machine's CPUs.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import pg from 'pg';
import { readCdrCsvConfig } from '../src/csv/config.js';
import { importCsvFiles } from '../src/csv/import.js';
import { PostgresBulkCdrWriter } from '../src/sinks/postgres-bulk.js';

const { values } = parseArgs({
  options: { lines: { type: 'string', default: '1000000' }, pg: { type: 'string' } },
});
const lines = Number(values.lines);
const url = values.pg ?? process.env.PBXKIT_TEST_DATABASE_URL;
if (!url) throw new Error('give --pg postgres://... (or run through scripts/with-test-services.sh)');

const configXml = readFileSync(
  new URL('../../../fixtures/fs-modules/config/cdr_csv.conf.xml', import.meta.url),
  'utf8',
);
const config = readCdrCsvConfig(configXml);
const dir = mkdtempSync(join(tmpdir(), 'csv-bench-'));
const file = join(dir, 'Master.csv');

async function writeFile(): Promise<void> {
  const out = createWriteStream(file);
  const causes = ['NORMAL_CLEARING', 'USER_BUSY', 'NO_ANSWER', 'CALL_REJECTED'];
  for (let i = 0; i < lines; i++) {
    const s = 1764657796 + i;
    const stamp = new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' ');
    const answered = i % 4 === 0 ? '' : stamp;
    const line = `"Caller ${i % 997}","${1000 + (i % 5000)}","${2000 + (i % 300)}","default","${stamp}","${answered}","${stamp}","${i % 120}","${answered ? i % 100 : 0}","${causes[i % 4]}","${randomUUID()}","","acct-${i % 50}","PCMA","PCMA"\n`;
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await fn();
  const seconds = (performance.now() - started) / 1000;
  const rate = lines / seconds;
  console.log(
    `${label.padEnd(46)} ${seconds.toFixed(1).padStart(7)} s ${Math.round(rate).toLocaleString('en').padStart(10)} lines/s`,
  );
  return rate;
}

const admin = new pg.Pool({ connectionString: url, max: 1 });
const schema = `csvbench_${process.pid}`;
try {
  await writeFile();
  console.log(
    `${lines.toLocaleString('en')} lines, ${(readFileSync(file).length / 1e6).toFixed(0)} MB (example template)`,
  );
  await admin.query(`create schema ${schema}`);
  const writer = new PostgresBulkCdrWriter({ connectionString: url }, { schema });
  await writer.createSchema();
  const run = () => importCsvFiles([file], { config, node: 'bench', timeZone: 'UTC', sink: writer });
  const ours = await timed('importCsvFiles → v_xml_cdr (+ node table)', run);
  const { rows } = await admin.query(`select count(*)::int as n from ${schema}.v_xml_cdr`);
  if (rows[0]?.n !== lines) throw new Error(`stored ${rows[0]?.n} rows, not ${lines}`);
  const rerun = await timed('the same file again (all duplicates)', run);
  await writer.close();

  const columns = Array.from({ length: 15 }, (_, i) => `c${i} text`).join(', ');
  await admin.query(`create table ${schema}.raw (${columns})`);
  const psql = join(process.env.PBXKIT_SVC_PG_BIN ?? '/usr/lib/postgresql/15/bin', 'psql');
  const copy = await timed('psql \\copy → 15 text columns (raw load)', () =>
    promisify(execFile)(psql, [url, '-c', `\\copy ${schema}.raw from '${file}' with (format csv)`]),
  );
  console.log(
    `ratio: importCsvFiles ${(ours / copy).toFixed(2)}x psql \\copy; re-run ${(rerun / ours).toFixed(2)}x first run`,
  );
  console.log(
    `target ≥ 20,000 lines/s: ${ours >= 20_000 ? 'met' : 'NOT met'} (${Math.round(ours).toLocaleString('en')} lines/s)`,
  );
} finally {
  await admin.query(`drop schema if exists ${schema} cascade`).catch(() => {});
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
