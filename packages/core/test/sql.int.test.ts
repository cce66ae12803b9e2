import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../../../scripts/test-observe.js';
import { terminateConnections, urlWithApplicationName } from '../../../scripts/test-pg.js';
import { ErrorReporter } from '../src/error-reporter.js';
import { pgClient } from '../src/sql/client.js';
import { openSqlClient, type SqlTarget } from '../src/sql/open.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A client on the test database whose connections carry an application name of their own. */
async function openObserved(target?: SqlTarget) {
  const app = `pbxkit_core_${randomUUID().slice(0, 8)}`;
  const { logger, lines, next } = captureLogger();
  const registry = new Registry();
  const errors = new ErrorReporter('core', 'test_db', { logger, registry });
  const db = await openSqlClient(target ?? { connectionString: urlWithApplicationName(app) }, { errors });
  closers.push(() => db.close());
  const errorCount = async () =>
    (await registry.getSingleMetric('pbxkit_core_errors_total')?.get())?.values.find(
      (v) => v.labels.component === 'test_db',
    )?.value ?? 0;
  return { app, db, lines, next, errorCount };
}

describe('SQL client on PostgreSQL when the server ends its connections', () => {
  it('survives an idle pooled connection being terminated: logged, counted, and the next query works', async () => {
    const { app, db, lines, next, errorCount } = await openObserved();
    expect((await db.query<{ n: number }>('select 1 as n')).rows).toEqual([{ n: 1 }]);
    const lost = next((l) => l.msg === 'PostgreSQL connection lost while idle in the pool');
    const { terminated, uncaught } = await terminateConnections(app, lost);
    expect(terminated).toBe(1);
    expect(uncaught).toEqual([]);
    const line = await lost;
    expect(line.level).toBe('warn');
    expect((line.fields.err as { code?: string }).code).toBe('57P01'); // admin_shutdown, as in a restart
    expect(await errorCount()).toBeGreaterThanOrEqual(1);
    expect(lines.every((l) => l.level === 'warn')).toBe(true);
    // The pool opens a new connection: queries work again.
    expect((await db.query<{ n: number }>('select 2 as n')).rows).toEqual([{ n: 2 }]);
  });

  it('fails the transaction whose connection is terminated, without an uncaught error, and recovers', async () => {
    const { app, db, next, errorCount } = await openObserved();
    await db.query('select 1');
    // Reported by the transaction's listener, or by the pool's once the broken connection was handed back.
    const lost = next((l) => l.msg?.startsWith('PostgreSQL connection lost') === true);
    let cut: Promise<{ terminated: number; uncaught: unknown[] }> | undefined;
    const failed = db
      .transaction(async (tx) => {
        // The long statement is on its way when the server ends the connection under it.
        const sleeping = tx.query('select pg_sleep(60)');
        cut = terminateConnections(app, lost);
        await sleeping;
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    const err = await failed;
    expect(err).toBeInstanceOf(Error);
    const { terminated, uncaught } = await (cut as NonNullable<typeof cut>);
    expect(terminated).toBeGreaterThanOrEqual(1);
    expect(uncaught).toEqual([]);
    await lost;
    expect(await errorCount()).toBeGreaterThanOrEqual(1);
    expect((await db.query<{ n: number }>('select 3 as n')).rows).toEqual([{ n: 3 }]);
  });
});

describe('SQL client on PostgreSQL', () => {
  it('commits a transaction that resolves and rolls back one that throws', async () => {
    const { db } = await openObserved();
    const table = `sql_tx_${randomUUID().slice(0, 8)}`;
    closers.push(async () => void (await db.query(`drop table if exists ${table}`)));
    await db.query(`create table ${table} (id int primary key)`);
    await db.transaction(async (tx) => {
      await tx.query(`insert into ${table} values ($1)`, [1]);
      await tx.transaction(async (inner) => inner.query(`insert into ${table} values ($1)`, [2]));
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`insert into ${table} values ($1)`, [3]);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const { rows, rowCount } = await db.query<{ id: number }>(`select id from ${table} order by id`);
    expect(rows).toEqual([{ id: 1 }, { id: 2 }]);
    expect(rowCount).toBe(2);
  });

  it('leaves a pool of yours open, and no listener of its own on it, after close', async () => {
    const pool = new pg.Pool({ connectionString: urlWithApplicationName('pbxkit_core_pool') });
    const before = pool.listenerCount('error');
    const db = pgClient(pool);
    expect(pool.listenerCount('error')).toBe(before + 1);
    await db.query('select 1');
    await db.close();
    expect(pool.listenerCount('error')).toBe(before);
    expect((await pool.query('select 4 as n')).rows).toEqual([{ n: 4 }]);
    await pool.end();
  });
});

describe('SQL client on PGlite', () => {
  it('runs the same queries and transactions, opening and closing a database from a data directory', async () => {
    const { db } = await openObserved({ pglite: { dataDir: 'memory://' } });
    await db.query('create table t (id int primary key)');
    const inserted = await db.query('insert into t values ($1), ($2)', [1, 2]);
    expect(inserted.rowCount).toBe(2);
    await expect(
      db.transaction(async (tx) => {
        await tx.query('insert into t values ($1)', [3]);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect((await db.query<{ n: number }>('select count(*)::int as n from t')).rows).toEqual([{ n: 2 }]);
  });

  it('leaves an instance of yours open', async () => {
    const instance = await PGlite.create();
    const db = await openSqlClient({ pglite: instance });
    await db.query('select 1');
    await db.close();
    expect((await instance.query<{ n: number }>('select 5 as n')).rows).toEqual([{ n: 5 }]);
    await instance.close();
  });
});
