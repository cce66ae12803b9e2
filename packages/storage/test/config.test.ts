import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from '@pbxkit/core';
import { describe, expect, it } from 'vitest';
import {
  createStorage,
  instrumentBackend,
  LocalFsBackend,
  StorageConfigError,
  StorageNotFoundError,
  storageConfigFromEnv,
} from '../src/index.js';
import { tempDir } from './helpers.js';

describe('storageConfigFromEnv', () => {
  it('reads every PBXKIT_STORAGE_* setting', () => {
    const config = storageConfigFromEnv({
      PBXKIT_STORAGE_INSTANCE_ID: 'pbx-a',
      PBXKIT_STORAGE_LOCAL_ROOT: '/var/lib/freeswitch/recordings',
      PBXKIT_STORAGE_LOCAL_DAYS: '7',
      PBXKIT_STORAGE_S3_BUCKET: 'recordings',
      PBXKIT_STORAGE_S3_ENDPOINT: 'http://127.0.0.1:7480',
      PBXKIT_STORAGE_S3_FORCE_PATH_STYLE: 'true',
      PBXKIT_STORAGE_S3_ACCESS_KEY_ID: 'AK',
      PBXKIT_STORAGE_S3_SECRET_ACCESS_KEY: 'SK',
      PBXKIT_STORAGE_S3_PART_SIZE_MB: '16',
      PBXKIT_STORAGE_S3_SSE: 'aws:kms',
      PBXKIT_STORAGE_S3_KMS_KEY_ID: 'k1',
      PBXKIT_STORAGE_S3_KEY_TEMPLATE: '{domain}/{YYYY}/{MM}/{DD}/{name}',
      PBXKIT_STORAGE_PEERS: 'pbx-b=http://10.0.0.2:8080/_peer, pbx-c=https://c.example/_peer',
      PBXKIT_STORAGE_PEER_SECRET: '0123456789abcdef0123456789abcdef',
      PBXKIT_STORAGE_INDEX_DIR: '/var/lib/pbxkit/index',
      PBXKIT_STORAGE_ARCHIVE_JOURNAL: '/var/lib/pbxkit/archiver.journal',
      PBXKIT_STORAGE_ARCHIVE_DELETE: 'no',
      PBXKIT_STORAGE_ARCHIVE_DISK_USED_PERCENT: '85',
    });
    expect(config).toMatchObject({
      instanceId: 'pbx-a',
      localDays: 7,
      local: { root: '/var/lib/freeswitch/recordings' },
      s3: {
        bucket: 'recordings',
        endpoint: 'http://127.0.0.1:7480',
        forcePathStyle: true,
        credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
        partSizeBytes: 16 * 1024 * 1024,
        serverSideEncryption: 'aws:kms',
        kmsKeyId: 'k1',
        keyTemplate: '{domain}/{YYYY}/{MM}/{DD}/{name}',
      },
      peers: { 'pbx-b': 'http://10.0.0.2:8080/_peer', 'pbx-c': 'https://c.example/_peer' },
      index: { pglite: { dataDir: '/var/lib/pbxkit/index' } },
      archive: { olderThanDays: 7, deleteAfterVerify: false, verify: 'read-back', diskUsedPercent: 85 },
    });
  });

  it('reads the tier orders, the local health thresholds, the peer path and the archive lock', () => {
    const config = storageConfigFromEnv({
      PBXKIT_STORAGE_LOCAL_ROOT: '/var/lib/freeswitch/recordings',
      PBXKIT_STORAGE_LOCAL_MIN_FREE_MB: '2048',
      PBXKIT_STORAGE_LOCAL_MIN_FREE_INODES: '50000',
      PBXKIT_STORAGE_TIER_ORDER: 'local, peers, s3',
      PBXKIT_STORAGE_OLD_TIER_ORDER: 'archive,local,peers',
      PBXKIT_STORAGE_PEER_PATH: '/pbxkit/peer',
      PBXKIT_STORAGE_INDEX_URL: 'postgres://pbxkit@10.0.0.5/fusionpbx',
      PBXKIT_STORAGE_ARCHIVE_JOURNAL: '/var/lib/pbxkit/archiver.journal',
    });
    expect(config).toMatchObject({
      local: { minFreeBytes: 2048 * 1024 * 1024, minFreeInodes: 50_000 },
      tierOrder: ['local', 'peers', 'archive'],
      oldCallTierOrder: ['archive', 'local', 'peers'],
      peerBasePath: '/pbxkit/peer',
      // The instances share the index database: the archive locks live there too unless told otherwise.
      archive: { lockUrl: 'postgres://pbxkit@10.0.0.5/fusionpbx' },
    });
    const defaults = storageConfigFromEnv({
      PBXKIT_STORAGE_LOCAL_ROOT: '/r',
      PBXKIT_STORAGE_INDEX_DIR: '/var/lib/pbxkit/index',
      PBXKIT_STORAGE_ARCHIVE_JOURNAL: '/j',
    });
    expect(defaults).toMatchObject({
      local: { minFreeBytes: 1024 ** 3, minFreeInodes: 10_000 },
      peerBasePath: '/_peer',
    });
    expect(defaults.tierOrder).toBeUndefined();
    expect(defaults.archive?.lockUrl).toBeUndefined(); // PGlite: one process, no lock
    expect(
      storageConfigFromEnv({
        PBXKIT_STORAGE_ARCHIVE_JOURNAL: '/j',
        PBXKIT_STORAGE_INDEX_URL: 'postgres://a/b',
        PBXKIT_STORAGE_ARCHIVE_LOCK_URL: 'postgres://c/d',
      }).archive?.lockUrl,
    ).toBe('postgres://c/d');
  });

  it.each([
    [{ PBXKIT_STORAGE_LOCAL_DAYS: 'five' }, 'PBXKIT_STORAGE_LOCAL_DAYS'],
    [{ PBXKIT_STORAGE_PEERS: 'b=http://x' }, 'PBXKIT_STORAGE_PEER_SECRET'],
    [
      { PBXKIT_STORAGE_PEERS: 'nourl', PBXKIT_STORAGE_PEER_SECRET: '0123456789abcdef0123456789abcdef' },
      'PBXKIT_STORAGE_PEERS',
    ],
    [{ PBXKIT_STORAGE_S3_BUCKET: 'b', PBXKIT_STORAGE_S3_SSE: 'rot13' }, 'PBXKIT_STORAGE_S3_SSE'],
    [
      { PBXKIT_STORAGE_S3_BUCKET: 'b', PBXKIT_STORAGE_S3_ACCESS_KEY_ID: 'only' },
      'PBXKIT_STORAGE_S3_ACCESS_KEY_ID',
    ],
    [
      { PBXKIT_STORAGE_S3_BUCKET: 'b', PBXKIT_STORAGE_S3_PART_SIZE_MB: '1' },
      'PBXKIT_STORAGE_S3_PART_SIZE_MB',
    ],
    [{ PBXKIT_STORAGE_TIER_ORDER: 'local,s3' }, 'PBXKIT_STORAGE_TIER_ORDER'],
    [{ PBXKIT_STORAGE_TIER_ORDER: 'local,peers,s3,peers' }, 'PBXKIT_STORAGE_TIER_ORDER'],
    [{ PBXKIT_STORAGE_OLD_TIER_ORDER: 'nfs,local,peers' }, 'PBXKIT_STORAGE_OLD_TIER_ORDER'],
    [
      { PBXKIT_STORAGE_LOCAL_ROOT: '/r', PBXKIT_STORAGE_LOCAL_MIN_FREE_MB: '-1' },
      'PBXKIT_STORAGE_LOCAL_MIN_FREE_MB',
    ],
    [
      { PBXKIT_STORAGE_LOCAL_ROOT: '/r', PBXKIT_STORAGE_LOCAL_MIN_FREE_INODES: 'lots' },
      'PBXKIT_STORAGE_LOCAL_MIN_FREE_INODES',
    ],
    [{ PBXKIT_STORAGE_PEER_PATH: '_peer' }, 'PBXKIT_STORAGE_PEER_PATH'],
    [{ PBXKIT_STORAGE_PEER_PATH: '/_peer/' }, 'PBXKIT_STORAGE_PEER_PATH'],
    [{ PBXKIT_STORAGE_PEER_SECRET: 'short' }, 'PBXKIT_STORAGE_PEER_SECRET'],
    // Weak secrets: anyone could sign peer requests with them.
    [{ PBXKIT_STORAGE_PEER_SECRET: '0123456789abcdef0123' }, 'PBXKIT_STORAGE_PEER_SECRET'],
    [{ PBXKIT_STORAGE_PEER_SECRET: 'x'.repeat(40) }, 'PBXKIT_STORAGE_PEER_SECRET'],
    [
      { PBXKIT_STORAGE_PEERS: 'b=http://x', PBXKIT_STORAGE_PEER_SECRET: 'changeme'.repeat(4) },
      'PBXKIT_STORAGE_PEER_SECRET',
    ],
  ])('refuses %j naming %s', (env, variable) => {
    const err = (() => {
      try {
        storageConfigFromEnv(env);
      } catch (e) {
        return e;
      }
    })() as StorageConfigError;
    expect(err).toBeInstanceOf(StorageConfigError);
    expect(err.variable).toBe(variable);
  });
});

describe('createStorage', () => {
  it('builds an instrumented local tier and a resolver from the environment', async () => {
    const t = await tempDir();
    try {
      await mkdir(join(t.dir, 'r'));
      const registry = new Registry();
      const storage = await createStorage(
        storageConfigFromEnv({
          PBXKIT_STORAGE_LOCAL_ROOT: join(t.dir, 'r'),
          PBXKIT_STORAGE_LOCAL_KEY_TEMPLATE: '{uuid}.wav',
        }),
        { registry },
      );
      await storage.local?.write('abc.wav', 'x');
      expect((await storage.resolver.resolve('abc'))?.key).toBe('abc.wav');
      expect(await storage.resolver.resolve('nope')).toBeUndefined();
      expect((await storage.health()).map((h) => h.ok)).toEqual([true]);
      expect(storage.local).toBeInstanceOf(LocalFsBackend);
      expect(storage.peerHandler).toBeUndefined(); // no peer secret
      const text = await registry.metrics();
      expect(text).toMatch(/pbxkit_storage_backend_free_bytes\{backend="local"\} [1-9]/);
      expect(text).toContain(
        'pbxkit_storage_backend_operations_total{backend="local",operation="stat",result="ok"} 1',
      );
      expect(text).toContain('result="STORAGE_NOT_FOUND"');
      await storage.close();
    } finally {
      await t.cleanup();
    }
  });

  it('instrumentBackend counts results and passes errors through', async () => {
    const t = await tempDir();
    try {
      const registry = new Registry();
      const b = instrumentBackend(new LocalFsBackend({ root: t.dir }), registry);
      await expect(b.stat('missing')).rejects.toThrow(StorageNotFoundError);
      expect(b.root).toBe(t.dir);
      expect(await registry.metrics()).toMatch(
        /pbxkit_storage_backend_operation_duration_seconds_count\{backend="local",operation="stat"\} 1/,
      );
    } finally {
      await t.cleanup();
    }
  });

  it('starts the archiver on its schedule with start() and stops it in close()', async () => {
    const t = await tempDir();
    try {
      await mkdir(join(t.dir, 'r'));
      await mkdir(join(t.dir, 's3'));
      const config = storageConfigFromEnv({
        PBXKIT_STORAGE_LOCAL_ROOT: join(t.dir, 'r'),
        PBXKIT_STORAGE_S3_BUCKET: 'unused',
        PBXKIT_STORAGE_S3_ENDPOINT: 'http://127.0.0.1:9', // never reached: nothing is old enough
        PBXKIT_STORAGE_ARCHIVE_JOURNAL: join(t.dir, 'archiver.journal'),
        PBXKIT_STORAGE_ARCHIVE_INTERVAL_MINUTES: '30',
      });
      expect(config.archive?.intervalMinutes).toBe(30);
      const storage = await createStorage(config);
      const archiver = storage.archiver as NonNullable<typeof storage.archiver>;
      expect(archiver.status().scheduled).toBe(false);
      const reported = new Promise((resolve) => archiver.once('report', resolve));
      storage.start();
      await reported;
      const status = archiver.status();
      expect(status).toMatchObject({ scheduled: true, lastRun: { result: 'ok', scanned: 0 } });
      expect((status.nextRunAt?.getTime() ?? 0) - Date.now()).toBeGreaterThan(29 * 60_000);
      await storage.close();
      expect(archiver.status().scheduled).toBe(false);
    } finally {
      await t.cleanup();
    }
  });

  it('builds when the index database is down: its table is created once it answers, and resolving probes the tiers meanwhile', async () => {
    const t = await tempDir();
    try {
      await mkdir(join(t.dir, 'r'));
      const storage = await createStorage(
        storageConfigFromEnv({
          PBXKIT_STORAGE_LOCAL_ROOT: join(t.dir, 'r'),
          PBXKIT_STORAGE_LOCAL_KEY_TEMPLATE: '{uuid}.wav',
          PBXKIT_STORAGE_INDEX_URL: 'postgres://nobody@127.0.0.1:9/none', // a closed port
        }),
      );
      await storage.local?.write('abc.wav', 'x');
      expect((await storage.resolver.resolve('abc'))?.key).toBe('abc.wav');
      await storage.close();

      // An index on a database instance of the caller's (here a stand-in that records the statements), with no
      // createSchema() call: the table is created on first use, before the first row.
      const statements: string[] = [];
      const db = {
        query: async <Row>(sql: string) => {
          statements.push(sql.trim().split(/\s+/).slice(0, 3).join(' '));
          return { rows: [] as Row[], affectedRows: 0 };
        },
        transaction: async <T>(fn: (tx: never) => Promise<T>) => fn(db as never),
        close: async () => {},
      };
      const lazy = await createStorage({
        ...storageConfigFromEnv({ PBXKIT_STORAGE_LOCAL_ROOT: join(t.dir, 'r') }),
        index: { pglite: db },
      });
      expect(statements).toEqual([]);
      await lazy.index?.record({ uuid: 'abc', tier: 'local', instanceId: 'x', key: 'abc.wav' });
      expect(statements).toEqual([
        'create table if',
        'create index if',
        'insert into pbxkit_recording_locations',
      ]);
      await lazy.close();
    } finally {
      await t.cleanup();
    }
  });
});
