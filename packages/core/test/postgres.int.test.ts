import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../scripts/test-env.js';

describe('test services', () => {
  it('reaches the real PostgreSQL server started by the test command, in a fresh database', async () => {
    const client = new pg.Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: string; db: string; tables: string }>(
        `select version() as version, current_database() as db,
                (select count(*) from information_schema.tables where table_schema = 'public')::text as tables`,
      );
      expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/);
      expect(rows[0]?.db).toMatch(/^pbxkit_test_/);
      expect(rows[0]?.tables).toBe('0');
      await client.query('create table smoke (id int primary key)');
      await client.query('insert into smoke values (1)');
      const again = await client.query('select count(*)::int as n from smoke');
      expect(again.rows[0].n).toBe(1);
    } finally {
      await client.query('drop table if exists smoke').catch(() => {});
      await client.end();
    }
  });
});
