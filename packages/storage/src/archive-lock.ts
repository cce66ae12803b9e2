import { createHash } from 'node:crypto';
import type { SqlClient } from '@pbxkit/core';

/**
 * PostgreSQL session-level advisory locks, one per archived file, on one connection that the archiver holds for
 * a pass (through `SqlClient.transaction`, the only way a pooled client hands out one connection). Locks are
 * never waited for: a file another instance holds is skipped this pass. A session that ends (server restart,
 * connection cut) releases its locks, which {@link held} notices before anything is deleted.
 */
export class FileLocks {
  /** The last query in flight: workers share the session, and a `pg` client runs one query at a time. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly session: SqlClient,
    private readonly namespace: string,
  ) {}

  /** Runs one query on the session after the ones already asked for (`pg` 9 will not queue them itself). */
  private query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }> {
    const run = this.tail.then(() => this.session.query<Row>(sql, params));
    this.tail = run.catch(() => {});
    return run;
  }

  /** Takes the lock of `key` if no other session holds it; `false` when one does. */
  async tryLock(key: string): Promise<boolean> {
    const { rows } = await this.query<{ locked: boolean }>(
      'select pg_try_advisory_lock($1::bigint) as locked',
      [this.idOf(key)],
    );
    return rows[0]?.locked === true;
  }

  /** True when this session still holds the lock of `key` (throws when the session is gone). */
  async held(key: string): Promise<boolean> {
    const id = BigInt(this.idOf(key));
    // A one-key (bigint) advisory lock shows in pg_locks as classid = high 32 bits, objid = low 32, objsubid = 1.
    const { rows } = await this.query<{ held: boolean }>(
      `select exists(select 1 from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() and granted
         and classid = $1::bigint::oid and objid = $2::bigint::oid and objsubid = 1) as held`,
      [String(BigInt.asUintN(32, id >> 32n)), String(BigInt.asUintN(32, id))],
    );
    return rows[0]?.held === true;
  }

  async unlock(key: string): Promise<void> {
    await this.query('select pg_advisory_unlock($1::bigint)', [this.idOf(key)]);
  }

  /** Releases whatever is left, so that the connection goes back to its pool clean. */
  async unlockAll(): Promise<void> {
    await this.query('select pg_advisory_unlock_all()');
  }

  /** A 64-bit lock id from the namespace and the key (SHA-256, first 8 bytes, signed). */
  idOf(key: string): string {
    const digest = createHash('sha256').update(`${this.namespace}\u0000${key}`).digest();
    return digest.readBigInt64BE(0).toString();
  }
}
