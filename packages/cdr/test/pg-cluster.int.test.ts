import { openSqlClient } from '@pbxkit/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCdr } from '../src/parse/parse-cdr.js';
import { PostgresCdrSink } from '../src/sinks/postgres.js';
import { makeCdr } from './dispatch-helpers.js';
import {
  createDatabase,
  type FailoverRun,
  failoverUnderLoad,
  PgCluster,
  storedCounts,
  withDatabase,
} from './pg-cluster.js';

// One cluster of this file's own (free ports), repaired before each test since each crashes its primary.
let cluster: PgCluster;
beforeAll(async () => {
  cluster = await PgCluster.up();
}, 300_000);
afterAll(async () => {
  await cluster?.down();
}, 300_000);
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SENDERS = 16;

/** Every sent CDR stored exactly once, nothing dead-lettered; prints the figures. */
async function expectExactlyOnce(label: string, run: FailoverRun, url: string): Promise<void> {
  const stored = await storedCounts(url);
  const lost = run.sent.filter((u) => !stored.has(u));
  const duplicated = [...stored.values()].filter((n) => n > 1).length;
  console.log(
    `${label}: ${run.sent.length} CDRs from ${SENDERS} senders (${run.perSecond}/s), ${lost.length} lost, ` +
      `${duplicated} duplicated; primary down to first write ${run.downToFirstWriteMs} ms, longest time without ` +
      `writes ${run.longestGapMs} ms, ${run.retries} retried writes, ${run.deadLettered} dead-lettered`,
  );
  expect(lost).toEqual([]);
  expect(duplicated).toBe(0);
  expect(stored.size).toBe(run.sent.length);
  expect(run.deadLettered).toBe(0);
}

async function openSink(url: string, name: string): Promise<PostgresCdrSink> {
  const sink = new PostgresCdrSink({ connectionString: url, max: 4 }, { name });
  cleanups.push(() => sink.close());
  await sink.createSchema();
  return sink;
}

/** 16 senders x 80 CDRs; the primary crashes once 300 are stored, then `afterCrash` runs. */
function crashUnderLoad(sink: PostgresCdrSink, afterCrash?: () => Promise<void>): Promise<FailoverRun> {
  return failoverUnderLoad({
    sink,
    senders: SENDERS,
    perSender: 60,
    perSenderAfter: 20,
    crashAfter: 300,
    cleanups,
    crash: () => cluster.run('pg-pair', 'crash-primary'),
    ...(afterCrash ? { afterCrash } : {}),
  });
}

describe('PostgresCdrSink on a primary and streaming replica (crash, promote)', () => {
  beforeEach(() => cluster.repair(), 300_000);

  it('multi-host connection string: writes go to the host that takes writes, whatever the order; after the crash and the promotion they go to the replica; 0 lost, 0 duplicated', {
    timeout: 600_000,
  }, async () => {
    const { primaryUrl: primary, replicaUrl: replica } = cluster;
    const db = await createDatabase(cluster, 'pbxkit_multihost');
    const hostOf = (url: string) => new URL(url).host;
    // The standby first: a client that took the first host that answers would fail every write.
    const url = `postgres://postgres@${hostOf(replica)},${hostOf(primary)}/${db}?target_session_attrs=read-write`;

    const sql = await openSqlClient({ connectionString: url });
    cleanups.push(() => sql.close());
    const { rows } = await sql.query<{ port: number }>('select inet_server_port() as port');
    expect(rows[0]?.port).toBe(Number(new URL(primary).port));

    const sink = await openSink(url, 'multihost');
    let whileNoPrimary: unknown;
    const run = await crashUnderLoad(sink, async () => {
      // Between the crash and the promotion no host takes writes: a write fails with the lost connection
      // until the client has looked at every host, then because none is read-write; both are transient.
      const deadline = Date.now() + 60_000;
      for (;;) {
        whileNoPrimary = await sink.write([parseCdr(makeCdr().xml)]).then(
          () => 'stored',
          (err: unknown) => err,
        );
        expect(sink.isTransient(whileNoPrimary)).toBe(true);
        if ((whileNoPrimary as { code?: string }).code === 'SQL_NO_SUITABLE_HOST') break;
        if (Date.now() > deadline) break;
      }
      await cluster.run('pg-pair', 'promote');
    });
    expect(whileNoPrimary).toMatchObject({ code: 'SQL_NO_SUITABLE_HOST' });
    expect((whileNoPrimary as Error).message).toMatch(/no PostgreSQL host is read-write: .* is a standby/);
    await expectExactlyOnce('multi-host failover', run, withDatabase(replica, db));
  });

  it('behind pgpool-II: the primary crashes, pgpool promotes the replica and points at it, the sink carries on; 0 lost, 0 duplicated', {
    timeout: 600_000,
  }, async () => {
    const db = await createDatabase(cluster, 'pbxkit_pgpool');
    const url = withDatabase(cluster.pgpoolUrl, db);
    // Only the crash: pgpool notices it (backend error or health check) and its failover command promotes.
    const run = await crashUnderLoad(await openSink(url, 'pgpool'));
    await expectExactlyOnce('pgpool-II failover', run, url);
    const replica = new URL(cluster.replicaUrl).port;
    const sql = await openSqlClient({ connectionString: url });
    cleanups.push(() => sql.close());
    const { rows } = await sql.query<{ port: number; recovery: boolean }>(
      'select inet_server_port() as port, pg_is_in_recovery() as recovery',
    );
    expect(rows[0]).toEqual({ port: Number(replica), recovery: false });
  });
});
