import { openSqlClient, type SqlClient, type SqlTarget } from '@pbxkit/core';
import { isPostgresTransient } from './postgres-errors.js';

/** What the bulk SQL sinks share: the client they open, PostgreSQL's transient errors, and closing. */
export abstract class SqlSinkBase {
  protected readonly client: Promise<SqlClient>;

  constructor(target: SqlTarget, usedBy: string) {
    this.client = openSqlClient(target, { usedBy });
    // Avoid an unhandled rejection if nobody calls a method before the connection fails.
    this.client.catch(() => {});
  }

  /** Network and server-availability errors: the same batch can be written again later. */
  isTransient(err: unknown): boolean {
    return isPostgresTransient(err);
  }

  /** Releases the connection (a pool that was given stays open). */
  async close(): Promise<void> {
    const db = await this.client.catch(() => undefined);
    await db?.close();
  }
}
