import { CdrSinkUnavailableError, errorChain, errorCode, isTransientError } from '../sink-errors.js';

/**
 * SQLSTATE classes that are about the rows themselves: 22 data exception (a NUL byte in a text value, a bad
 * uuid or timestamp), 23 integrity constraint violation, 54 program limit exceeded (a row too large). A
 * record the server refuses with one of these is refused every time: counting attempts and dead-lettering it
 * is right.
 */
const RECORD_CLASSES = new Set(['22', '23', '54']);

/**
 * What `pg` and PGlite throw, without a SQLSTATE, when the connection failed or went away or the client is
 * closed (messages of pg 8 and pg-pool 3: "Connection terminated unexpectedly", "timeout exceeded when trying to
 * connect", ...). Matched as prefixes.
 */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout expired',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'The server does not support SSL connections',
  'There was an error establishing an SSL connection',
  'PGlite is closed',
  'PGlite is closing',
];

/** An error the server sent: it has a five-character SQLSTATE and a severity. */
function sqlState(err: unknown): string | undefined {
  const code = errorCode(err);
  const severity = (err as { severity?: unknown } | null)?.severity;
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string' ? code : undefined;
}

/**
 * The PostgreSQL sink's classification of a failed write (pg and PGlite; see `CdrSink.isTransient`).
 *
 * Not transient (counted, then dead-lettered): SQLSTATE classes 22, 23 and 54, which the server answers for
 * the record itself. Transient (retried until the store takes writes again, never dead-lettered): every other
 * SQLSTATE, since each says the store cannot take *any* record right now: 08 connection exceptions, 57P01
 * admin shutdown, 57P02/57P03 crash or start-up, 53300 too many connections, 53100 disk full, 25006 a read-only
 * standby after a failover, 40001/40P01 serialization failure or deadlock, 28 wrong credentials, 3D000 no such
 * database, 42 a missing table or privilege, ...; pg's own connection errors (terminated, connect timeout,
 * client closed); core's `SQL_NO_SUITABLE_HOST` (no host of a multi-host connection string takes writes, as
 * between a primary's crash and its replica's promotion); and Node's network errors (refused, reset, timeout,
 * DNS); and a {@link CdrSinkUnavailableError}, whatever it wraps. Unknown errors count as attempts.
 */
export function isPostgresTransient(err: unknown): boolean {
  for (const e of errorChain(err)) {
    if (e instanceof CdrSinkUnavailableError || errorCode(e) === 'SQL_NO_SUITABLE_HOST') return true;
    const state = sqlState(e);
    if (state !== undefined) return !RECORD_CLASSES.has(state.slice(0, 2));
    const message = (e as { message?: unknown } | null)?.message;
    if (typeof message === 'string' && CONNECTION_MESSAGES.some((m) => message.startsWith(m))) return true;
  }
  return isTransientError(err);
}
