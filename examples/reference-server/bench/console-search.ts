// The console's searches on a million CDRs in PostgreSQL: seeds a database of its own on the test server
// (PBXKIT_TEST_DATABASE_URL, through scripts/with-test-services.sh), creates the sink's schema and search
// indexes, then times each search as the console's API runs it (server side, the database round trip
// included) and prints p50/p95 against the 200 ms target, with FusionPBX's way (OFFSET pages) beside keyset
// pages. Options: --rows N (default 1000000), --runs N per search (default 40), --keep (keep the database),
// --db NAME (search a database kept by --keep, without seeding).
import { PostgresCdrSink } from '@pbxkit/cdr';
import { openSqlClient, type SqlClient } from '@pbxkit/core';
import pg from 'pg';
import { CallReader } from '../src/console/call-detail.js';
import { searchCdrs } from '../src/console/search.js';
import { parseSearch } from '../src/console/search-query.js';
import { seedCdrs } from './seed.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROWS = arg('rows', 1_000_000);
const RUNS = arg('runs', 40);
const base = process.env.PBXKIT_TEST_DATABASE_URL;
if (!base) throw new Error('PBXKIT_TEST_DATABASE_URL is not set: run through scripts/with-test-services.sh');

const admin = new pg.Pool({ connectionString: base, max: 1 });
// --db NAME reuses a database an earlier run kept (--keep): no seeding
const reuse = process.argv.includes('--db') ? process.argv[process.argv.indexOf('--db') + 1] : undefined;
const name = reuse ?? `pbxkit_console_bench_${process.pid}`;
if (!reuse) await admin.query(`create database ${name}`);
const url = new URL(base);
url.pathname = `/${name}`;
let db: SqlClient | undefined;
try {
  const sink = new PostgresCdrSink({ connectionString: url.toString() });
  db = await openSqlClient({ connectionString: url.toString(), max: 2 });
  const t0 = performance.now();
  if (!reuse) {
    await sink.createSchema(); // the table and every index, as the server does on first use
    await seedCdrs(db, ROWS);
    const seeded = performance.now();
    await db.query('vacuum analyze v_xml_cdr');
    console.log(
      `seeded ${ROWS.toLocaleString('en')} CDRs (indexes maintained while inserting) in ${((seeded - t0) / 1000).toFixed(0)} s`,
    );
  } else await sink.createSchema(); // indexes added since the database was kept
  await sink.close();

  const pick = <T>(list: readonly T[], i: number) => list[i % list.length] as T;
  const { rows: sample } = await db.query<{
    xml_cdr_uuid: string;
    caller_id_number: string;
    destination_number: string;
    domain_name: string;
  }>(
    `select xml_cdr_uuid, caller_id_number, destination_number, domain_name from v_xml_cdr where leg = 'a' order by random() limit 200`,
  );
  const day = 86_400_000;
  const now = Date.now();
  const searches: Array<[string, (i: number) => string]> = [
    ['newest calls (no filter)', () => ''],
    ['last 24 hours', (i) => `from=${new Date(now - day - i * 60_000).toISOString()}`],
    ['caller prefix (7 digits)', (i) => `caller=${pick(sample, i).caller_id_number.slice(0, 7)}`],
    [
      'caller prefix (4 digits), 7 days',
      (i) =>
        `caller=${pick(sample, i).caller_id_number.slice(0, 4)}&from=${new Date(now - 7 * day).toISOString()}`,
    ],
    ['destination prefix (3 digits)', (i) => `destination=${pick(sample, i).destination_number.slice(0, 3)}`],
    ['call uuid (with its legs)', (i) => `uuid=${pick(sample, i).xml_cdr_uuid}`],
    [
      'domain, last 7 days',
      (i) => `domain=${pick(sample, i).domain_name}&from=${new Date(now - 7 * day).toISOString()}`,
    ],
    ['status failed', () => 'status=failed'],
    [
      'missed inbound, a domain',
      (i) => `status=missed&direction=inbound&domain=${pick(sample, i).domain_name}`,
    ],
    ['duration 300-600 s', () => 'minDuration=300&maxDuration=600'],
    ['longest calls (sort by duration)', () => 'sort=duration&order=desc'],
    [
      'longest calls of a domain, 3 days',
      (i) =>
        `sort=duration&domain=${pick(sample, i).domain_name}&from=${new Date(now - 3 * day).toISOString()}`,
    ],
    ['voicemail, oldest first', () => 'status=voicemail&order=asc'],
  ];
  const pct = (values: number[], p: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
  };
  const report = (label: string, times: number[]) => {
    const p95 = pct(times, 95);
    console.log(
      `${label.padEnd(40)} p50 ${pct(times, 50).toFixed(1).padStart(7)} ms   p95 ${p95.toFixed(1).padStart(7)} ms  ${p95 < 200 ? 'ok' : 'OVER 200 ms'}`,
    );
    return p95;
  };
  const time = async (fn: () => Promise<unknown>) => {
    const started = performance.now();
    await fn();
    return performance.now() - started;
  };

  console.log(
    `\nsearch page (50 rows) on ${ROWS.toLocaleString('en')} CDRs, ${RUNS} runs each, server side:`,
  );
  let worst = 0;
  for (const [label, query] of searches) {
    await searchCdrs(db, 'v_xml_cdr', parseSearch(new URLSearchParams(query(0)))); // warm the cache
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const q = parseSearch(new URLSearchParams(query(i + 1)));
      times.push(await time(() => searchCdrs(db as SqlClient, 'v_xml_cdr', q)));
    }
    worst = Math.max(worst, report(label, times));
  }

  // Deep pages: keyset (the console) against OFFSET (FusionPBX's CDR page) at the same depth.
  const depth = 200; // pages of 50: rows 10,000-10,050
  let query = parseSearch(new URLSearchParams(''));
  for (let i = 0; i < depth; i++) {
    const page = await searchCdrs(db, 'v_xml_cdr', query);
    query = { ...query, after: page.cursor };
  }
  const deep = query;
  const keyset: number[] = [];
  const offset: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    keyset.push(await time(() => searchCdrs(db as SqlClient, 'v_xml_cdr', deep)));
    offset.push(
      await time(() =>
        (db as SqlClient).query(
          'select * from v_xml_cdr order by start_stamp desc, xml_cdr_uuid desc offset $1 limit 50',
          [depth * 50],
        ),
      ),
    );
  }
  console.log(`\npage ${depth} (rows ${depth * 50}-${depth * 50 + 50}), newest first:`);
  const k = report('  keyset (the console)', keyset);
  const o = report('  OFFSET (FusionPBX)', offset);
  console.log(`  OFFSET / keyset at p95: ${(o / k).toFixed(1)}x`);

  const reader = new CallReader(
    async () => db as SqlClient,
    { cdr: 'v_xml_cdr', json: 'v_xml_cdr_json' },
    undefined,
  );
  const detail: number[] = [];
  for (let i = 0; i < RUNS; i++) detail.push(await time(() => reader.call(pick(sample, i).xml_cdr_uuid)));
  console.log('');
  worst = Math.max(worst, report('call page (row, linked legs, JSON copy)', detail));
  console.log(`\nworst p95 of the console's queries: ${worst.toFixed(1)} ms (target < 200 ms)`);
} finally {
  await db?.close();
  if (!process.argv.includes('--keep') && !reuse)
    await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
