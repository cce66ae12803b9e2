import { randomUUID } from 'node:crypto';
import { openSqlClient, Registry } from '@pbxkit/core';
import { describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { captureLogger } from '../../../scripts/test-observe.js';
import { terminateConnections, urlWithApplicationName } from '../../../scripts/test-pg.js';
import { SqlLocationIndex } from '../src/index.js';

const A = '5c7b0f0e-1111-4222-8333-444455556666';

describe('SqlLocationIndex when PostgreSQL ends its connections (a restart)', () => {
  it('keeps the process alive, logs and counts the lost connection, and answers again', async () => {
    const app = `pbxkit_storage_${randomUUID().slice(0, 8)}`;
    const table = `locations_${randomUUID().slice(0, 8)}`;
    const { logger, next } = captureLogger();
    const registry = new Registry();
    const index = new SqlLocationIndex(
      { connectionString: urlWithApplicationName(app) },
      { table, logger, registry },
    );
    try {
      await index.createSchema();
      await index.record({ uuid: A, tier: 'local', instanceId: 'pbx-a', key: 'a.wav', size: 10 });
      const lost = next((l) => l.msg === 'PostgreSQL connection lost while idle in the pool');
      const { terminated, uncaught } = await terminateConnections(app, lost);
      expect(terminated).toBeGreaterThanOrEqual(1);
      expect(uncaught).toEqual([]);
      const line = await lost;
      expect(line.fields.component).toBe('storage-location-index');
      expect(await registry.metrics()).toMatch(
        /pbxkit_storage_errors_total\{component="location_index"\} [1-9]/,
      );
      expect(await index.lookup(A)).toMatchObject([{ tier: 'local', key: 'a.wav', size: 10 }]);
    } finally {
      await index.close();
      // The test's own table, on a server other tests share.
      const admin = await openSqlClient({ connectionString: testDatabaseUrl() });
      await admin.query(`drop table if exists ${table}`);
      await admin.close();
    }
  });
});
