import pg from 'pg';
import { testDatabaseUrl } from '../../../scripts/test-env.js';

/**
 * A database of the test's own on the shared test server (`cdrmod_<pid>_<n>`), so its tables never meet another
 * test's; `drop()` removes it (only it: it was created here).
 */
export async function ownDatabase(
  label: string,
): Promise<{ url: string; pool: pg.Pool; drop(): Promise<void> }> {
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  const name = `cdrmod_${label}_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  await admin.query(`create database ${name}`);
  // Stamps without a zone (as the FreeSWITCH modules write them) are then read as UTC, whatever the server says.
  await admin.query(`alter database ${name} set timezone to 'UTC'`);
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  // `drop database ... with (force)` ends idle connections: expected, not an error of the test.
  pool.on('error', () => {});
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
