import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../scripts/test-env.js';

describe('test services', () => {
  it('reaches the real PostgreSQL server started by the test command, in a fresh database', async () => {
    const client = new pg.Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: string; db: string }>(
        'select version() as version, current_database() as db',
      );
      expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/);
      // A database of this run (other test files use it at the same time, so its tables are theirs too).
      expect(rows[0]?.db).toMatch(/^pbxkit_test_\d{14}_\d+$/);
      await client.query('create table smoke_core (id int primary key)');
      await client.query('insert into smoke_core values (1)');
      const again = await client.query('select count(*)::int as n from smoke_core');
      expect(again.rows[0].n).toBe(1);
    } finally {
      await client.query('drop table if exists smoke_core').catch(() => {});
      await client.end();
    }
  });
});
