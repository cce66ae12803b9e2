import { ErrorReporter } from '../error-reporter.js';

/** The result of a {@link SqlClient} query. */
export interface SqlResult<Row> {
  rows: Row[];
  /** Rows the statement inserted, updated or deleted (the rows returned, for a `select`). */
  rowCount: number;
}

/**
 * What pbxkit's SQL-backed components need from a database: parameterised queries (`$1`, `$2`, ...),
 * transactions, and closing. The same on PostgreSQL (`pg`) and PGlite.
 */
export interface SqlClient {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<SqlResult<Row>>;
  /**
   * Runs `fn` in a transaction: committed when `fn` resolves, rolled back when it throws. Statements inside
   * go through `tx`; a nested `transaction` joins the outer one.
   */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  /** Closes what this client opened (a pool or database it was given stays open). */
  close(): Promise<void>;
}

/** The part of a `pg` result that is read. */
interface PgResultLike {
  rows: unknown[];
  rowCount: number | null;
}

/** A connection checked out of a `pg` pool (`pg.PoolClient`), as far as {@link pgClient} uses it. */
export interface PgPoolClientLike {
  query(sql: string, params?: unknown[]): Promise<PgResultLike>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
  /** Back to the pool; with an error the connection is closed instead of reused. */
  release(err?: Error | boolean): void;
}

/**
 * A `pg.Pool`, described by its shape so that `@pbxkit/core` needs neither `pg` nor its types: any `pg` 8 pool
 * fits.
 */
export interface PgPoolLike {
  query(sql: string, params?: unknown[]): Promise<PgResultLike>;
  connect(): Promise<PgPoolClientLike>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
  end(): Promise<void>;
}

/** A PGlite database or transaction, as far as {@link pgliteClient} queries it. */
export interface PGliteQueryable {
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[]; affectedRows?: number }>;
}

/** A PGlite database (`@electric-sql/pglite`), described by its shape (see {@link PgPoolLike}). */
export interface PGliteLike extends PGliteQueryable {
  transaction<T>(fn: (tx: PGliteQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Options of {@link pgClient}. */
export interface PgClientOptions {
  /** Close the pool in `close()` (it was opened for this client). Default false. */
  owned?: boolean;
  /**
   * Logs and counts the connection errors `pg` emits (see {@link pgClient}). Default: a silent reporter
   * counting in a private registry (`pbxkit_core_errors_total{component="sql"}`).
   */
  errors?: ErrorReporter;
}

/**
 * A `pg` pool as a {@link SqlClient}.
 *
 * A connection that drops (server restart, `pg_terminate_backend`, network cut) makes `pg` emit `error` on the
 * pool (an idle connection) or on the connection checked out for a transaction. Node ends the process on an
 * `error` event nobody listens to, so both are always listened to here: the error is logged and counted through
 * `errors`, and the caller sees it as the failed query (a query on the pool afterwards opens a new connection).
 */
export function pgClient(pool: PgPoolLike, options: PgClientOptions = {}): SqlClient {
  const errors = options.errors ?? new ErrorReporter('core', 'sql');
  const onPoolError = (err: Error): void =>
    errors.report(err, { msg: 'PostgreSQL connection lost while idle in the pool', level: 'warn' });
  pool.on('error', onPoolError);
  const wrap = (q: Pick<PgPoolLike, 'query'>): SqlClient['query'] => {
    return async <Row>(sql: string, params?: unknown[]) => {
      const result = await q.query(sql, params);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    };
  };
  return {
    query: wrap(pool),
    async transaction(fn) {
      const client = await pool.connect();
      // Set when the connection broke: it is then closed on release instead of going back to the pool.
      let broken: Error | undefined;
      const onClientError = (err: Error): void => {
        broken = err;
        errors.report(err, { msg: 'PostgreSQL connection lost during a transaction', level: 'warn' });
      };
      client.on('error', onClientError);
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
        await client.query('rollback').catch((rollbackErr: Error) => {
          broken ??= rollbackErr;
        });
        throw err;
      } finally {
        client.off('error', onClientError);
        client.release(broken);
      }
    },
    async close() {
      // A pool of ours keeps its listener: a connection the server terminates while the pool is ending (a
      // database dropped or restarted at that moment) emits its error then, and without a listener it would
      // end the process.
      if (options.owned) await pool.end();
      else pool.off('error', onPoolError);
    },
  };
}

/** A PGlite database (embedded PostgreSQL in WebAssembly) as a {@link SqlClient}; `owned`: close it in `close()`. */
export function pgliteClient(db: PGliteLike, options: { owned?: boolean } = {}): SqlClient {
  const wrap = (q: PGliteQueryable): SqlClient['query'] => {
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
    async close() {
      if (options.owned) await db.close();
    },
  };
}
