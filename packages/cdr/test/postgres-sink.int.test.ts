import { PGlite } from '@electric-sql/pglite';
import { Registry } from '@pbxkit/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { captureLogger, watchUncaught } from '../../../scripts/test-observe.js';
import { PostgresCdrSink, parseCdr, V_XML_CDR_SEARCH_INDEXES } from '../src/index.js';
import { cdrDocuments } from './fixtures.js';

const records = () => cdrDocuments().map(({ xml }) => parseCdr(xml));

type Query = (sql: string) => Promise<Array<Record<string, unknown>>>;

for (const label of ['PostgreSQL (real server)', 'PGlite (embedded)']) {
  describe(`PostgresCdrSink on ${label}`, () => {
    let sink: PostgresCdrSink;
    let schema = 'public';
    let pool: pg.Pool | undefined;
    let query: Query;

    beforeAll(async () => {
      if (label.startsWith('PostgreSQL')) {
        schema = `cdr_${process.pid}_${Math.floor(performance.now())}`;
        const p = new pg.Pool({ connectionString: testDatabaseUrl() });
        pool = p;
        await p.query(`create schema ${schema}`);
        sink = new PostgresCdrSink({ pool: p }, { schema, storeJson: true });
        query = (sql) => p.query(sql).then((r) => r.rows);
      } else {
        const db = await PGlite.create();
        sink = new PostgresCdrSink({ pglite: db }, { storeJson: true });
        query = (sql) => db.query<Record<string, unknown>>(sql).then((r) => r.rows);
      }
      await sink.createSchema();
      await sink.createSchema(); // idempotent
    });
    afterAll(async () => {
      await sink.close();
      if (pool) {
        await pool.query(`drop schema ${schema} cascade`);
        await pool.end();
      }
    });

    it('stores every fixture CDR, once, even when delivered twice and duplicated inside a batch', async () => {
      const all = records();
      await sink.write([...all, all[0] as never]);
      await sink.write(all);
      expect(await sink.count()).toBe(new Set(all.map((r) => r.uuid)).size);
      const row = await sink.get('fff6895c-de04-4a59-b1c5-458835891c73');
      expect(row).toMatchObject({ leg: 'a', status: 'answered', direction: 'inbound', missed_call: false });
      expect(Number(row?.billsec)).toBe(17);
      expect(new Date(row?.start_stamp as string).toISOString()).toBe('2014-12-12T21:22:23.000Z');
    });

    it('keeps the JSON copy in v_xml_cdr_json, once per CDR', async () => {
      const rows = await query(
        `select xml_cdr_uuid, json->'@attributes'->>'switchname' as sw from ${schema}.v_xml_cdr_json order by xml_cdr_uuid`,
      );
      expect(rows.length).toBe(await sink.count());
      expect(rows.find((r) => r.xml_cdr_uuid === '491e6362-c463-45f6-ba93-58b59bf369fc')?.sw).toBe('vm');
    });

    it('creates the search indexes (newest first by keyset, domain, number prefixes, status, duration, legs)', async () => {
      const rows = await query(
        `select indexname from pg_indexes where schemaname = '${schema}' and tablename = 'v_xml_cdr'`,
      );
      const names = rows.map((r) => r.indexname);
      for (const [name] of V_XML_CDR_SEARCH_INDEXES) expect(names).toContain(name);
    });

    it('purges by call start in bounded batches, with the JSON copies', async () => {
      const before = await sink.count();
      // fixtures from 2009-2015 are older than 2020; the captured ones are from 2026
      const purged = await sink.purgeOlderThan(new Date('2020-01-01T00:00:00Z'), { batchSize: 2 });
      expect(purged).toBe(7);
      expect(await sink.count()).toBe(before - 7);
      expect(await sink.get('fff6895c-de04-4a59-b1c5-458835891c73')).toBeUndefined();
      expect(await sink.purgeOlderThan(new Date('2020-01-01T00:00:00Z'))).toBe(0);
    });
  });
}

describe('PostgresCdrSink against an existing FusionPBX database', () => {
  it('fills domain_uuid from v_domains by domain name, as FusionPBX does', async () => {
    const db = await PGlite.create();
    await db.exec(`create table v_domains (domain_uuid uuid primary key, domain_name text);
      insert into v_domains values ('11111111-2222-4333-8444-555555555555', '172.31.34.170');`);
    const sink = new PostgresCdrSink({ pglite: db });
    await sink.createSchema();
    await sink.write(records());
    const row = await sink.get('fff6895c-de04-4a59-b1c5-458835891c73');
    expect(row?.domain_uuid).toBe('11111111-2222-4333-8444-555555555555');
    await sink.close();
    await db.close();
  });
});

describe('PostgresCdrSink when the server is unreachable', () => {
  it('rejects the write (so the dispatcher retries) instead of losing it', async () => {
    const sink = new PostgresCdrSink({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
    await expect(sink.write(records().slice(0, 1))).rejects.toThrow();
    await sink.close();
  });
});

describe('PostgresCdrSink when connections drop', () => {
  it('survives the server cutting its idle connections (no uncaught error; logged and counted), and writes again afterwards', async () => {
    const { createServer, connect } = await import('node:net');
    const target = new URL(testDatabaseUrl());
    const sockets = new Set<import('node:net').Socket>();
    const proxy = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop);
      upstream.on('error', drop);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as { port: number }).port;
    const url = `postgres://${target.username}@127.0.0.1:${port}${target.pathname}`;
    const schema = `drop_${process.pid}`;
    const admin = new pg.Pool({ connectionString: testDatabaseUrl() });
    await admin.query(`create schema ${schema}`);
    const { logger, next } = captureLogger();
    const registry = new Registry();
    const sink = new PostgresCdrSink({ connectionString: url }, { schema, logger, registry });
    await sink.createSchema();
    const all = records();
    await sink.write(all.slice(0, 3));
    // Cut every connection, as a PostgreSQL restart would: the pool's idle client gets an error event, which
    // must be logged and counted, not thrown out of the process.
    const uncaught = watchUncaught();
    const lost = next((l) => l.msg === 'PostgreSQL connection lost while idle in the pool');
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await Promise.race([lost, uncaught.first]);
    uncaught.stop();
    expect(uncaught.errors).toEqual([]);
    expect((await lost).fields).toMatchObject({ component: 'cdr-postgres', sink: 'postgres' });
    expect(await registry.metrics()).toMatch(/pbxkit_cdr_errors_total\{component="postgres_sink"\} [1-9]/);
    await sink.write(all.slice(3));
    expect(await sink.count()).toBe(new Set(all.map((r) => r.uuid)).size);
    await sink.close();
    proxy.close();
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  });
});
