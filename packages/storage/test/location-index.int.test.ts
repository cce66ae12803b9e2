import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { LocalFsBackend, SqlLocationIndex, TieredRecordingResolver, uuidFromKey } from '../src/index.js';
import { tempDir } from './helpers.js';

const A = '5c7b0f0e-1111-4222-8333-444455556666';
const B = 'aaaaaaaa-1111-4222-8333-444455556666';

for (const label of ['PostgreSQL (real server)', 'PGlite (embedded)']) {
  describe(`SqlLocationIndex on ${label}`, () => {
    let index: SqlLocationIndex;
    let pool: pg.Pool | undefined;
    let schema: string | undefined;

    beforeAll(async () => {
      if (label.startsWith('PostgreSQL')) {
        pool = new pg.Pool({ connectionString: testDatabaseUrl() });
        schema = `storage_${process.pid}_${Date.now()}`;
        await pool.query(`create schema ${schema}`);
        index = new SqlLocationIndex({ pool }, { table: `${schema}.locations` });
      } else {
        index = new SqlLocationIndex({ pglite: await PGlite.create() });
      }
      await index.createSchema();
      await index.createSchema(); // idempotent
    });
    afterAll(async () => {
      await index.close();
      if (pool) {
        await pool.query(`drop schema ${schema} cascade`);
        await pool.end();
      }
    });

    it('records, updates, looks up and forgets locations', async () => {
      const callStart = new Date('2026-11-20T10:00:00Z');
      await index.record({ uuid: A, tier: 'local', instanceId: 'pbx-a', key: 'a.wav', size: 10, callStart });
      await index.record({
        uuid: A,
        tier: 'archive',
        instanceId: '',
        key: 'x/a.wav',
        size: 10,
        checksum: 'sha256:00',
      });
      await index.record({ uuid: A, tier: 'local', instanceId: 'pbx-a', key: 'a2.wav', size: 11 });
      const entries = await index.lookup(A);
      expect(entries).toHaveLength(2);
      const local = entries.find((e) => e.tier === 'local');
      expect(local).toMatchObject({ key: 'a2.wav', size: 11, instanceId: 'pbx-a', callStart });
      expect(entries.find((e) => e.tier === 'archive')).toMatchObject({ checksum: 'sha256:00', size: 10 });
      await index.forget(A, 'local', 'pbx-a');
      expect((await index.lookup(A)).map((e) => e.tier)).toEqual(['archive']);
      expect(await index.lookup(B)).toEqual([]);
    });

    it('rescans a tier from its backend: adds what is there, forgets what is gone', async () => {
      const t = await tempDir();
      try {
        const backend = new LocalFsBackend({ root: t.dir });
        await backend.write(`d/2026/Nov/20/${B}.wav`, 'b');
        await backend.write('d/notes.txt', 'not a recording');
        await index.record({ uuid: A, tier: 'local', instanceId: 'pbx-r', key: 'gone.wav' });
        const counts = await index.rescan('local', 'pbx-r', backend);
        expect(counts).toEqual({ recorded: 1, forgotten: 1 });
        expect(await index.lookup(B)).toMatchObject([{ key: `d/2026/Nov/20/${B}.wav`, size: 1 }]);
      } finally {
        await t.cleanup();
      }
    });

    it('serves the resolver, which repairs it when stale', async () => {
      const t = await tempDir();
      try {
        await mkdir(`${t.dir}/l`);
        await mkdir(`${t.dir}/s`);
        const local = new LocalFsBackend({ root: `${t.dir}/l` });
        const archive = new LocalFsBackend({ root: `${t.dir}/s`, name: 's3' });
        const uuid = 'cccccccc-1111-4222-8333-444455556666';
        await archive.write(`${uuid}.wav`, 'archived');
        await index.record({ uuid, tier: 'local', instanceId: 'pbx-a', key: `${uuid}.wav` }); // stale
        const resolver = new TieredRecordingResolver({
          local: { backend: local, key: '{uuid}.wav' },
          archive: { backend: archive, key: '{uuid}.wav' },
          index,
          instanceId: 'pbx-a',
        });
        expect((await resolver.resolve(uuid))?.tier).toBe('s3');
        expect(await index.lookup(uuid)).toMatchObject([{ tier: 'archive', key: `${uuid}.wav`, size: 8 }]);
      } finally {
        await t.cleanup();
      }
    });
  });
}

describe('uuidFromKey', () => {
  it('finds the call uuid in a file name', () => {
    expect(uuidFromKey(`d/archive/2026/Nov/20/${A.toUpperCase()}.wav`)).toBe(A);
    expect(uuidFromKey(`${A}`)).toBe(A);
    expect(uuidFromKey('d/notes.txt')).toBeUndefined();
  });
});
