import { ErrorReporter } from '../error-reporter.js';
import { importOptional } from '../optional-import.js';
import { type PGliteLike, type PgPoolLike, pgClient, pgliteClient, type SqlClient } from './client.js';

/** Where a SQL-backed component keeps its tables. */
export type SqlTarget =
  /** PostgreSQL through a `pg` pool opened (and closed) by the client; needs the `pg` package. */
  | { connectionString: string; max?: number }
  /** A `pg.Pool` of yours; `close()` leaves it open. */
  | { pool: PgPoolLike }
  /**
   * Embedded PostgreSQL (PGlite): an instance of yours, or a data directory (`memory://` for in-memory) opened
   * and closed by the client, which needs the `@electric-sql/pglite` package.
   */
  | { pglite: PGliteLike | { dataDir: string } };

/** Options of {@link openSqlClient}. */
export interface OpenSqlClientOptions {
  /** Logs and counts connection errors (see {@link pgClient}). */
  errors?: ErrorReporter;
  /** Who opens the database, named in the error when a driver is not installed. Default `openSqlClient`. */
  usedBy?: string;
}

/**
 * Opens a {@link SqlClient} on a {@link SqlTarget}. The drivers are optional peer dependencies, loaded on first
 * use: `pg` for `connectionString`, `@electric-sql/pglite` for a PGlite data directory. A missing one is a
 * `MissingDependencyError` (`MISSING_DEPENDENCY`) that names the package to install.
 *
 * @example
 * ```ts
 * const db = await openSqlClient({ pglite: { dataDir: 'memory://' } });
 * const { rows } = await db.query<{ n: number }>('select $1::int + 1 as n', [41]);
 * await db.close();
 * ```
 */
export async function openSqlClient(
  target: SqlTarget,
  options: OpenSqlClientOptions = {},
): Promise<SqlClient> {
  const usedBy = options.usedBy ?? 'openSqlClient';
  const errors = options.errors ?? new ErrorReporter('core', 'sql');
  if ('connectionString' in target) {
    const pg = await importOptional('pg', usedBy, () => import('pg'));
    // pg is CommonJS: its classes hang off the default export under ESM, and off the module under require.
    const Pool = (pg.default ?? pg).Pool;
    const pool = new Pool({ connectionString: target.connectionString, max: target.max ?? 4 });
    return pgClient(pool as unknown as PgPoolLike, { owned: true, errors });
  }
  if ('pool' in target) return pgClient(target.pool, { errors });
  const given = target.pglite;
  // A PGlite instance has a `dataDir` property too: tell the two apart by what an instance can do.
  if (typeof (given as Partial<PGliteLike>).query === 'function') return pgliteClient(given as PGliteLike);
  const { PGlite } = await importOptional(
    '@electric-sql/pglite',
    usedBy,
    () => import('@electric-sql/pglite'),
  );
  const db = await PGlite.create((given as { dataDir: string }).dataDir);
  return pgliteClient(db as unknown as PGliteLike, { owned: true });
}
