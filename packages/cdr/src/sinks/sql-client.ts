import type { PGlite } from '@electric-sql/pglite';
import type { Pool, PoolClient } from 'pg';

/** What the SQL sinks need from a database: parameterised queries and transactions. */
export interface SqlClient {
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: Row[]; rowCount: number }>;
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * A `pg` pool as a {@link SqlClient}. A connection that drops (server restart, network cut) makes pg emit
 * `error` on the pool or on a checked-out client; without a listener Node would crash the process, so both are
 * listened to here and the failure surfaces as the rejected query instead (the dispatcher retries it).
 */
export function pgClient(pool: Pool, owned: boolean, onError: (err: Error) => void = () => {}): SqlClient {
  pool.on('error', onError);
  const wrap = (q: Pool | PoolClient): SqlClient['query'] => {
    return async <Row>(sql: string, params?: unknown[]) => {
      const result = await q.query(sql, params);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    };
  };
  return {
    query: wrap(pool),
    async transaction(fn) {
      const client = await pool.connect();
      client.on('error', onError);
      try {
        await client.query('begin');
        const tx: SqlClient = {
          query: wrap(client),
          transaction: (inner) => inner(tx),
          close: async () => {},
        };
        const result = await fn(tx);
        await client.query('commit');
        return result;
      } catch (err) {
        await client.query('rollback').catch(() => {});
        throw err;
      } finally {
        client.off('error', onError);
        client.release();
      }
    },
    close: async () => {
      if (owned) await pool.end();
    },
  };
}

/** A PGlite database (embedded PostgreSQL in WebAssembly) as a {@link SqlClient}. */
export function pgliteClient(db: PGlite, owned: boolean): SqlClient {
  type Queryable = Pick<PGlite, 'query'>;
  const wrap = (q: Queryable): SqlClient['query'] => {
    return async <Row>(sql: string, params?: unknown[]) => {
      const result = await q.query<Row>(sql, params);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    };
  };
  return {
    query: wrap(db),
    transaction: (fn) =>
      db.transaction(async (t) => {
        const tx: SqlClient = { query: wrap(t), transaction: (inner) => inner(tx), close: async () => {} };
        return fn(tx);
      }),
    close: async () => {
      if (owned) await db.close();
    },
  };
}
