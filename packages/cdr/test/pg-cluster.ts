import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { CdrDispatcher } from '../src/dispatch/dispatcher.js';
import type { CdrSink } from '../src/sink.js';
import { CdrSpool } from '../src/spool/spool.js';
import { makeCdr } from './dispatch-helpers.js';
import { freePort } from './private-postgres.js';

const run = promisify(execFile);
const servicesDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts/services');

/**
 * A PostgreSQL primary with its synchronous streaming replica and pgpool-II in front, of the test's own on free
 * ports (scripts/services/pg-pair.sh and pgpool.sh `up`): the tests crash the primary, so test runs at the same
 * time must not share one.
 */
export class PgCluster {
  private constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly primaryUrl: string,
    readonly replicaUrl: string,
    readonly pgpoolUrl: string,
  ) {}

  static async up(): Promise<PgCluster> {
    if (!process.env.PBXKIT_TEST_PGPOOL_BIN) {
      throw new Error(
        'PBXKIT_TEST_PGPOOL_BIN is not set: run the integration tests through scripts/with-test-services.sh ' +
          "(pgpool.sh installs Debian's pgpool2 and sets it)",
      );
    }
    const ports: number[] = [];
    while (ports.length < 4) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    const [primary, replica, pgpool, pcp] = ports.map(String) as [string, string, string, string];
    const env = {
      ...process.env,
      PBXKIT_PG_PAIR_PORT: primary,
      PBXKIT_PG_PAIR_REPLICA_PORT: replica,
      PBXKIT_PGPOOL_PORT: pgpool,
      PBXKIT_PGPOOL_PCP_PORT: pcp,
    };
    const url = (port: string) => `postgres://postgres@127.0.0.1:${port}/postgres`;
    const cluster = new PgCluster(env, url(primary), url(replica), url(pgpool));
    await cluster.run('pg-pair', 'up');
    await cluster.run('pgpool', 'up');
    return cluster;
  }

  /** Runs a subcommand of pg-pair.sh or pgpool.sh on this cluster (`crash-primary`, `promote`, ...). */
  async run(script: 'pg-pair' | 'pgpool', command: string): Promise<void> {
    await run('bash', [join(servicesDir, `${script}.sh`), command], { env: this.env });
  }

  /** Rebuilds the pair and restarts pgpool when a test left them failed over. */
  async repair(): Promise<void> {
    await this.run('pg-pair', 'repair');
    await this.run('pgpool', 'repair');
  }

  /** Stops pgpool and both servers and deletes their files. */
  async down(): Promise<void> {
    await this.run('pgpool', 'down');
    await this.run('pg-pair', 'down');
  }
}

/** `url` with another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** One value from `url`. */
async function queryOne<T>(url: string, sql: string, params: unknown[] = []): Promise<T | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: T }>(sql, params);
    return rows[0]?.v;
  } finally {
    await client.end();
  }
}

/**
 * Creates a database of the test's own on the primary and resolves with its name once the standby has it
 * too: pgpool-II opens every session on every backend, and synchronous replication waits for the standby to
 * flush a commit, not to apply it.
 */
export async function createDatabase(cluster: PgCluster, prefix: string): Promise<string> {
  const name = `${prefix}_${randomUUID().slice(0, 8)}`;
  await queryOne(cluster.primaryUrl, `create database ${name}`);
  const replicaUrl = cluster.replicaUrl;
  const deadline = Date.now() + 60_000;
  const exists = 'select count(*)::int as v from pg_database where datname = $1';
  while ((await queryOne<number>(replicaUrl, exists, [name])) !== 1) {
    if (Date.now() > deadline) throw new Error(`database ${name} did not reach the standby in 60 s`);
    await new Promise((r) => setTimeout(r, 100)); // the next look, not a synchronisation
  }
  return name;
}

/** Rows per call uuid in `v_xml_cdr`, read from `url`. */
export async function storedCounts(url: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ u: string; n: number }>(
      'select xml_cdr_uuid::text as u, count(*)::int as n from v_xml_cdr group by 1',
    );
    return new Map(rows.map((r) => [r.u, r.n]));
  } finally {
    await client.end();
  }
}

/** What {@link failoverUnderLoad} measured. */
export interface FailoverRun {
  /** Every uuid the senders spooled. */
  sent: string[];
  /** ms from the primary being down (the crash command returned) to the first batch stored after that. */
  downToFirstWriteMs: number;
  /** The longest time with no batch stored, ms, over the whole run. */
  longestGapMs: number;
  /** Failed writes retried (all transient). */
  retries: number;
  /** CDRs dead-lettered (must be 0). */
  deadLettered: number;
  /** Spooled CDRs per second over the run. */
  perSecond: number;
}

/**
 * `senders` concurrent loops each spool `perSender` CDRs while a dispatcher writes them to `sink`; once
 * `crashAfter` are stored, `crash()` runs, then `afterCrash()` (the promotion, if the test does it). Each sender spools
 * `perSenderAfter` more once the failover is done, so that writes go to the new primary whatever the timing.
 * Resolves when every CDR is delivered, with the figures.
 */
export async function failoverUnderLoad(options: {
  sink: CdrSink;
  senders: number;
  perSender: number;
  perSenderAfter: number;
  crashAfter: number;
  crash: () => Promise<void>;
  afterCrash?: () => Promise<void>;
  cleanups: Array<() => Promise<void>>;
}): Promise<FailoverRun> {
  const spool = await CdrSpool.open({ dir: mkdtempSync(join(tmpdir(), 'pbxkit-pg-cluster-')) });
  options.cleanups.push(() => spool.close());
  const dispatcher = new CdrDispatcher({
    spool,
    sinks: [options.sink],
    batchSize: 50,
    retry: { minMs: 50, maxMs: 500, maxAttempts: 3 },
  });
  options.cleanups.push(() => dispatcher.stop());
  let delivered = 0;
  let lastWrite = Date.now();
  let longestGapMs = 0;
  let downAt: number | undefined;
  let firstAfterCrash: number | undefined;
  let retries = 0;
  let deadLettered = 0;
  let crash: Promise<void> | undefined;
  let failedOver: () => void = () => {};
  const failoverDone = new Promise<void>((resolve) => {
    failedOver = resolve;
  });
  dispatcher.on('retry', () => retries++);
  dispatcher.on('deadLetter', () => deadLettered++);
  dispatcher.on('delivered', (_sink, ids) => {
    const now = Date.now();
    longestGapMs = Math.max(longestGapMs, now - lastWrite);
    lastWrite = now;
    delivered += ids.length;
    if (downAt !== undefined && firstAfterCrash === undefined) firstAfterCrash = now;
    if (crash === undefined && delivered >= options.crashAfter) {
      crash = (async () => {
        await options.crash();
        downAt = Date.now();
        await options.afterCrash?.();
      })();
      crash.then(failedOver, failedOver);
    }
  });
  await dispatcher.start();
  const started = Date.now();
  const sent: string[] = [];
  const send = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const cdr = makeCdr(randomUUID());
      sent.push(cdr.uuid);
      await spool.append({ xml: cdr.xml, uuid: cdr.uuid, leg: 'a' });
    }
  };
  await Promise.all(
    Array.from({ length: options.senders }, async () => {
      await send(options.perSender);
      await failoverDone;
      await send(options.perSenderAfter);
    }),
  );
  await dispatcher.drained();
  await crash;
  if (downAt === undefined || firstAfterCrash === undefined) {
    throw new Error(`the load ended before the failover (${delivered} delivered): raise perSender`);
  }
  return {
    sent,
    downToFirstWriteMs: firstAfterCrash - downAt,
    longestGapMs,
    retries,
    deadLettered,
    perSecond: Math.round(sent.length / ((Date.now() - started) / 1000)),
  };
}
