import { ErrorReporter } from '../error-reporter.js';
import { importOptional } from '../optional-import.js';
import { type PGliteLike, type PgPoolLike, pgClient, pgliteClient, type SqlClient } from './client.js';
import { splitHosts } from './hosts.js';
import { multiHostPgClient } from './multi-host.js';

/** Where a SQL-backed component keeps its tables. */
export type SqlTarget =
  /**
   * PostgreSQL through a `pg` pool opened (and closed) by the client; needs the `pg` package. Several hosts
   * (`postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write`) are tried in order, with libpq's
   * `target_session_attrs` (see `multiHostPgClient`); `max` is then per host.
   */
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
    const openPool = (connectionString: string) =>
      new Pool({ connectionString, max: target.max ?? 4 }) as unknown as PgPoolLike;
    const hosts = splitHosts(target.connectionString);
    if (hosts) return multiHostPgClient(hosts, { openPool, errors });
    return pgClient(openPool(target.connectionString), { owned: true, errors });
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
