import { join } from 'node:path';
import type { PGliteLike, SqlTarget } from '@pbxkit/core';
import type { ReferenceServerConfig } from '../config/load.js';

/** The CDR database: PostgreSQL by URL, or one embedded PGlite shared by the CDR store and the location index. */
export interface Database {
  /** For the CDR store (`PostgresCdrSink`). */
  target: SqlTarget;
  /** For the location index when the configuration names none (the same database). */
  indexTarget: SqlTarget;
  /** `postgres` or `pglite`, for logs. */
  kind: 'postgres' | 'pglite';
  /** Closes the embedded database (the clients of PostgreSQL close their own pools). */
  close(): Promise<void>;
}

/**
 * Opens the CDR database without waiting for it. PGlite takes seconds to start (20-40 s on a loaded machine),
 * so its instance is handed out at once, as a stand-in whose queries wait for it: the server listens and spools
 * CDRs meanwhile, and `/health` reports the store as down until it answers. PostgreSQL pools connect lazily, so
 * a server also starts while PostgreSQL is down.
 */
export function openDatabase(config: ReferenceServerConfig): Database {
  if (config.databaseUrl) {
    const target = { connectionString: config.databaseUrl };
    return { target, indexTarget: target, kind: 'postgres', close: async () => {} };
  }
  const opening = import('@electric-sql/pglite').then(({ PGlite }) =>
    PGlite.create(join(config.dataDir, 'pglite')),
  );
  opening.catch(() => {}); // reported by every query that needs it
  const db: PGliteLike = {
    query: async (sql, params) => (await opening).query(sql, params),
    transaction: async (fn) => (await opening).transaction(fn),
    close: async () => {},
  };
  return {
    target: { pglite: db },
    indexTarget: { pglite: db },
    kind: 'pglite',
    close: async () => {
      const instance = await opening.catch(() => undefined);
      await instance?.close();
    },
  };
}
