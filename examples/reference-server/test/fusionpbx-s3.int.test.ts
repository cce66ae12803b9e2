import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Backend } from '@pbxkit/storage';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl, testS3 } from '../../../scripts/test-env.js';
import { configFromEnv } from '../src/config/load.js';
import { type ReferenceServer, startReferenceServer } from '../src/server.js';
import { delivered, fakeCcp, healthUntil, makeCall, postCdr, record, tempDir } from './helpers.js';

const TOKEN = randomBytes(32).toString('hex');
const LINK_SECRET = randomBytes(32).toString('hex');

/**
 * The operator's layout beside FusionPBX: CDRs into v_xml_cdr (FusionPBX's PostgreSQL schema on the test
 * PostgreSQL, or the embedded PGlite), recordings in FusionPBX's directory layout, archived to S3 (the test
 * radosgw) after LOCAL_DAYS, every CDR forwarded to the CCP, operators with a token.
 */
for (const database of ['PostgreSQL (FusionPBX schema)', 'PGlite (embedded)'] as const) {
  describe(`reference server beside FusionPBX, on ${database}, with S3`, () => {
    let t: Awaited<ReturnType<typeof tempDir>>;
    let ccp: Awaited<ReturnType<typeof fakeCcp>>;
    let server: ReferenceServer;
    let pool: pg.Pool | undefined;
    let recordings: string;

    beforeAll(async () => {
      t = await tempDir('fusionpbx');
      ccp = await fakeCcp();
      recordings = join(t.dir, 'var-lib-freeswitch-recordings');
      const { endpoint, accessKeyId, secretAccessKey } = testS3();
      const bucket = `pbxkit-ref-${process.pid}-${Date.now().toString(36)}-${database.slice(0, 2).toLowerCase()}`;
      const s3 = new S3Backend({
        endpoint,
        bucket,
        forcePathStyle: true,
        credentials: { accessKeyId, secretAccessKey },
      });
      await s3.ensureBucket();
      s3.close();
      const env: Record<string, string> = {
        PBXKIT_PORT: '0',
        PBXKIT_DATA_DIR: join(t.dir, 'data'),
        PBXKIT_CDR_RETENTION_DAYS: '7',
        PBXKIT_CDR_FORWARD_URL: ccp.url,
        PBXKIT_CDR_FORWARD_NAME: 'ccp',
        PBXKIT_CDR_FORWARD_USER: 'ccp',
        PBXKIT_CDR_FORWARD_PASSWORD: 'ccp-password',
        PBXKIT_AUTH_TOKENS: TOKEN,
        PBXKIT_AUTH_LINK_SECRET: LINK_SECRET,
        PBXKIT_STORAGE_INSTANCE_ID: 'pbx-a',
        PBXKIT_STORAGE_LOCAL_ROOT: recordings,
        PBXKIT_STORAGE_LOCAL_DAYS: '5',
        PBXKIT_STORAGE_S3_BUCKET: bucket,
        PBXKIT_STORAGE_S3_ENDPOINT: endpoint,
        PBXKIT_STORAGE_S3_FORCE_PATH_STYLE: 'true',
        PBXKIT_STORAGE_S3_ACCESS_KEY_ID: accessKeyId,
        PBXKIT_STORAGE_S3_SECRET_ACCESS_KEY: secretAccessKey,
        PBXKIT_STORAGE_S3_PREFIX: 'cluster-1',
        PBXKIT_STORAGE_ARCHIVE_JOURNAL: join(t.dir, 'archiver.journal'),
      };
      if (database.startsWith('PostgreSQL')) {
        env.PBXKIT_DATABASE_URL = testDatabaseUrl();
        pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
        // What FusionPBX has beside v_xml_cdr: its domains, which the store reads domain_uuid from.
        await pool.query(
          'create table if not exists v_domains (domain_uuid uuid primary key, domain_name text)',
        );
        await pool.query(
          `insert into v_domains values ('3f1d2c4b-5a69-4788-9abc-def012345678', 'pbx.example.com') on conflict do nothing`,
        );
      }
      server = await startReferenceServer(configFromEnv(env));
      // The archiver's first pass runs at start, before any recording exists: let it finish.
      await healthUntil(server.url, (_s, body) => body.archiver?.lastRun !== undefined, 120_000);
    }, 180_000);
    afterAll(async () => {
      await server?.close();
      await pool?.end();
      await ccp?.close();
      await t?.cleanup();
    });

    it('archives an old recording (verified, deleted locally) and serves both calls by uuid, with Range, after v_xml_cdr was cut; the CCP gets every CDR once', {
      timeout: 180_000,
    }, async () => {
      const old = makeCall(recordings, 6, 300_000); // older than LOCAL_DAYS, within the CDRs' 7 days
      const recent = makeCall(recordings, 1, 200_000);
      const oldFile = await record(old);
      await record(recent);
      const stored = Promise.all([
        delivered(server, 'postgres', 2),
        delivered(server, 'recording-index', 2),
        delivered(server, 'ccp', 2),
      ]);
      for (const call of [old, recent]) expect(await postCdr(server.url, call)).toBe(200);
      await stored;
      if (pool) {
        const { rows } = await pool.query('select domain_uuid::text from v_xml_cdr where xml_cdr_uuid = $1', [
          old.uuid,
        ]);
        expect(rows[0]?.domain_uuid).toBe('3f1d2c4b-5a69-4788-9abc-def012345678');
      }

      const report = await server.storage.archiver?.run();
      expect(report).toMatchObject({ archived: 1, failed: [] });
      await expect(stat(oldFile)).rejects.toThrow(/ENOENT/);

      // FusionPBX (or the retention) cuts v_xml_cdr: the CDRs are gone, the recordings must not be.
      if (pool)
        await pool.query('delete from v_xml_cdr where xml_cdr_uuid = any($1::uuid[])', [
          [old.uuid, recent.uuid],
        ]);
      else await server.store.purgeOlderThan(new Date());
      expect(await server.store.get(old.uuid)).toBeUndefined();

      const auth = { authorization: `Bearer ${TOKEN}` };
      for (const call of [old, recent]) {
        const ranged = await fetch(`${server.url}/recordings/${call.uuid}`, {
          headers: { ...auth, range: 'bytes=100000-100999' },
        });
        expect(ranged.status, call === old ? 'old call (S3)' : 'recent call (local)').toBe(206);
        expect(ranged.headers.get('content-range')).toBe(`bytes 100000-100999/${call.audio.length}`);
        expect(Buffer.from(await ranged.arrayBuffer()).equals(call.audio.subarray(100_000, 101_000))).toBe(
          true,
        );
      }
      expect((await fetch(`${server.url}/recordings/${old.uuid}`)).status).toBe(401);
      const metrics = await (await fetch(`${server.url}/metrics`, { headers: auth })).text();
      expect(metrics).toMatch(/pbxkit_storage_resolutions_total\{tier="s3",via="index"\} [1-9]/);
      expect(metrics).toMatch(/pbxkit_storage_archive_last_run_files\{outcome="archived"\} 1/);

      // The CCP: each CDR once, as mod_xml_cdr would post it, with its credentials.
      expect([ccp.received.get(old.uuid), ccp.received.get(recent.uuid)]).toEqual([1, 1]);
      expect(ccp.bodies.at(-1)).toMatchObject({
        contentType: 'application/x-www-form-urlencoded',
        auth: `Basic ${Buffer.from('ccp:ccp-password').toString('base64')}`,
      });
      expect(ccp.bodies.at(-1)?.body).toMatch(/^cdr=%3C%3Fxml/);

      const health = await healthUntil(server.url, (status) => status === 200);
      expect(health.body).toMatchObject({
        status: 'ok',
        archiver: { lastRun: { result: 'ok', archived: 1 } },
      });
      expect(health.body.storage.map((tier) => [tier.tier, tier.ok])).toEqual([
        ['local', true],
        ['s3', true],
      ]);
    });
  });
}
