import pg from 'pg';
import { testDatabaseUrl } from './test-env.js';
import { watchUncaught } from './test-observe.js';

/**
 * The test database's URL with an `application_name` of its own, so that a test can find (and end) exactly the
 * server connections the code under test opened, on a server other tests use at the same time.
 */
export function urlWithApplicationName(name: string): string {
  const url = new URL(testDatabaseUrl());
  url.searchParams.set('application_name', name);
  return url.toString();
}

/**
 * Ends, with `pg_terminate_backend`, every server connection whose `application_name` is `name` (what a
 * PostgreSQL restart does to its clients), then waits until `noticed` resolves (the component logged the lost
 * connection) or the process has an uncaught exception, whichever comes first. Resolves with how many
 * connections were ended and the uncaught exceptions seen meanwhile (none, when the component copes).
 */
export async function terminateConnections(
  name: string,
  noticed: Promise<unknown>,
): Promise<{ terminated: number; uncaught: unknown[] }> {
  const watch = watchUncaught();
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: number }>(
      'select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = $1',
      [name],
    );
    const terminated = rows[0]?.n ?? 0;
    if (terminated > 0) await Promise.race([noticed, watch.first]);
    return { terminated, uncaught: watch.errors };
  } finally {
    watch.stop();
    await admin.end();
  }
}
