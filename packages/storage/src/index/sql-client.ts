import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/** What the location index needs from a database: parameterised queries. */
export interface SqlClient {
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: Row[]; rowCount: number }>;
  close(): Promise<void>;
}

/** Where a SQL-backed component keeps its tables. */
export type SqlTarget =
  | { connectionString: string; max?: number }
  | { pool: pg.Pool }
  /** Embedded PostgreSQL (PGlite): an instance, or a data directory (`memory://` for in-memory). */
  | { pglite: PGlite | { dataDir: string } };

/** Opens a {@link SqlClient} on PostgreSQL (`pg`) or PGlite; closes only what it opened. */
export async function openSqlClient(target: SqlTarget): Promise<SqlClient> {
  if ('connectionString' in target) {
    const pool = new pg.Pool({ connectionString: target.connectionString, max: target.max ?? 4 });
    return pgClient(pool, true);
  }
  if ('pool' in target) return pgClient(target.pool, false);
  const given = target.pglite;
  // A PGlite instance has a `dataDir` property too: tell the two apart by what an instance can do.
  if (typeof (given as Partial<PGlite>).query === 'function') return pgliteClient(given as PGlite, false);
  const { PGlite } = await import('@electric-sql/pglite');
  return pgliteClient(await PGlite.create((given as { dataDir: string }).dataDir), true);
}

function pgClient(pool: pg.Pool, owned: boolean): SqlClient {
  return {
    async query<Row>(sql: string, params?: unknown[]) {
      const result = await pool.query(sql, params);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
    close: async () => {
      if (owned) await pool.end();
    },
  };
}

function pgliteClient(db: PGlite, owned: boolean): SqlClient {
  return {
    async query<Row>(sql: string, params?: unknown[]) {
      const result = await db.query<Row>(sql, params);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    close: async () => {
      if (owned) await db.close();
    },
  };
}
