import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { Archiver, LocalFsBackend, SqlLocationIndex, TieredRecordingResolver } from '../src/index.js';
import { tempDir } from './helpers.js';
import { incompleteUploadKeys, leaveIncompleteUpload, s3Backend } from './s3-helpers.js';

const MiB = 1024 * 1024;

describe('Archiver to Ceph radosgw', () => {
  for (const verify of ['read-back', 'metadata'] as const) {
    it(`archives old recordings to S3 (verify: ${verify}), records them, and the resolver then finds them there`, async () => {
      const t = await tempDir();
      const s3 = s3Backend(`pbxkit-arch-${verify}-${process.pid}-${Date.now().toString(36)}`, {
        partSizeBytes: 5 * MiB,
      });
      const index = new SqlLocationIndex({ pglite: await PGlite.create() });
      try {
        await s3.ensureBucket();
        await index.createSchema();
        await mkdir(join(t.dir, 'rec'));
        const local = new LocalFsBackend({ root: join(t.dir, 'rec') });
        const callStart = new Date(Date.now() - 30 * 86_400_000);
        const uuids = Array.from({ length: 3 }, (_, i) => `${i}0000000-aaaa-4bbb-8ccc-dddddddddddd`);
        const bodies = new Map<string, Buffer>();
        for (const [i, uuid] of uuids.entries()) {
          const body = randomBytes(i === 0 ? 12 * MiB : 100_000); // one multipart upload
          bodies.set(uuid, body);
          await local.write(`d.example/archive/2026/Oct/24/${uuid}.wav`, body);
        }
        const archiver = new Archiver({
          source: local,
          target: s3,
          journalPath: join(t.dir, 'journal'),
          locator: { locate: async (uuid) => ({ uuid, callStart }) },
          targetKey: (key) => key.replace('/archive/', '/'),
          verify,
          index,
          minFileAgeMs: 0,
        });
        const report = await archiver.run();
        expect(report).toMatchObject({ archived: 3, failed: [] });
        expect((await local.list('')).items).toEqual([]);
        const resolver = new TieredRecordingResolver({
          locator: { locate: async (uuid) => ({ uuid, callStart, domain: 'd.example' }) },
          local: { backend: local },
          archive: { backend: s3, key: '{domain}/{YYYY}/{Mon}/{DD}/{name}' },
          index,
        });
        for (const uuid of uuids) {
          const found = await resolver.resolve(uuid);
          expect(found?.tier).toBe('s3');
          const back = Buffer.concat(await (await s3.read(found?.key as string)).toArray());
          expect(back.equals(bodies.get(uuid) as Buffer)).toBe(true);
          expect((await s3.stat(found?.key as string)).metadata?.sha256).toMatch(/^[0-9a-f]{64}$/);
        }
      } finally {
        await index.close();
        s3.close();
        await t.cleanup();
      }
    }, 60_000);
  }

  it('aborts the incomplete multipart upload a killed run left, at the start of the next run', async () => {
    const t = await tempDir();
    const s3 = s3Backend(`pbxkit-arch-abort-${process.pid}-${Date.now().toString(36)}`);
    try {
      await s3.ensureBucket();
      await leaveIncompleteUpload(s3, 'd.example/2026/Oct/24/killed.wav');
      await mkdir(join(t.dir, 'rec'));
      const options = {
        source: new LocalFsBackend({ root: join(t.dir, 'rec') }),
        target: s3,
        journalPath: join(t.dir, 'journal'),
        now: () => new Date(Date.now() + 2 * 86_400_000),
      };
      // Off: nothing touched.
      const off = await new Archiver({ ...options, abortIncompleteUploadsAfterMs: false }).run();
      expect(off.abortedUploads).toBe(0);
      expect(await incompleteUploadKeys(s3)).toEqual(['d.example/2026/Oct/24/killed.wav']);
      // Default (one day; the clock says two days later).
      const report = await new Archiver(options).run();
      expect(report).toMatchObject({ abortedUploads: 1, archived: 0, failed: [] });
      expect(await incompleteUploadKeys(s3)).toEqual([]);
    } finally {
      s3.close();
      await t.cleanup();
    }
  }, 60_000);
});
