import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivatePostgres } from '../../../packages/cdr/test/private-postgres.js';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { configFromEnv } from '../src/config/load.js';
import { startReferenceServer } from '../src/server.js';
import { delivered, fakeCcp, healthUntil, makeCall, postCdr, tempDir } from './helpers.js';

describe('reference server when PostgreSQL is down (a private server of the test)', () => {
  let pg: PrivatePostgres;
  beforeAll(async () => {
    pg = await PrivatePostgres.start({ maxConnections: 12 });
    await pg.down();
  }, 120_000);
  afterAll(async () => {
    await pg?.destroy();
  });

  it('starts, spools CDRs and says the store is down (503, no path), then delivers them once PostgreSQL is back', {
    timeout: 180_000,
  }, async () => {
    const t = await tempDir('outage');
    const server = await startReferenceServer(
      configFromEnv({
        PBXKIT_PORT: '0',
        PBXKIT_DATA_DIR: t.dir,
        PBXKIT_DATABASE_URL: pg.url,
        PBXKIT_HEALTH_TIMEOUT_MS: '3000',
      }),
    );
    try {
      const calls = [makeCall(t.dir, 1), makeCall(t.dir, 2)];
      for (const call of calls) expect(await postCdr(server.url, call)).toBe(200);
      const down = await healthUntil(server.url, (_s, body) => body.cdrStore.state === 'down');
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('down');
      expect(down.body.problems[0]).toMatch(/^the CDR store is down: .*ECONNREFUSED/);
      expect(down.body.spool.backlog).toBe(2);
      for (const secretish of [t.dir, tmpdir(), pg.dir]) expect(down.text).not.toContain(secretish);

      const stored = delivered(server, 'postgres', calls.length);
      await pg.up();
      await stored; // the dispatcher's next retry (capped backoff: at most 30 s)
      const up = await healthUntil(
        server.url,
        // delivered CDRs leave the spool once the CDR archive has them: a moment after the 200
        (status, body) => status === 200 && body.spool.backlog === 0,
      );
      expect(up.body).toMatchObject({
        status: 'ok',
        cdrStore: { ok: true, state: 'up' },
        spool: { backlog: 0 },
      });
      for (const call of calls)
        expect(await server.store.get(call.uuid)).toMatchObject({ xml_cdr_uuid: call.uuid });
    } finally {
      await server.close();
      await t.cleanup();
    }
  });
});

describe('reference server health: every part, honestly', () => {
  it('a sink stuck past the lag threshold and S3 unreachable answer 503; each recovers on its own', {
    timeout: 120_000,
  }, async () => {
    const t = await tempDir('health');
    const ccp = await fakeCcp();
    ccp.refuse = true;
    const server = await startReferenceServer(
      configFromEnv({
        PBXKIT_PORT: '0',
        PBXKIT_DATA_DIR: t.dir,
        PBXKIT_DATABASE_URL: testDatabaseUrl(),
        PBXKIT_CDR_FORWARD_URL: ccp.url,
        PBXKIT_CDR_FORWARD_NAME: 'ccp',
        PBXKIT_CDR_FORWARD_ATTEMPTS: '1',
        PBXKIT_HEALTH_MAX_LAG_SECONDS: '1',
        PBXKIT_STORAGE_S3_BUCKET: 'nowhere',
        PBXKIT_STORAGE_S3_ENDPOINT: 'http://127.0.0.1:9', // nothing listens there
        PBXKIT_STORAGE_S3_FORCE_PATH_STYLE: 'true',
        PBXKIT_STORAGE_S3_ACCESS_KEY_ID: 'AK',
        PBXKIT_STORAGE_S3_SECRET_ACCESS_KEY: 'not-a-real-secret',
      }),
    );
    try {
      const call = makeCall(t.dir, 1);
      const stored = delivered(server, 'postgres', 1);
      expect(await postCdr(server.url, call)).toBe(200);
      await stored;
      const stuck = await healthUntil(server.url, (_s, b) => b.sinks.ccp?.ok === false);
      expect(stuck.status).toBe(503);
      expect(stuck.body.problems).toEqual(
        expect.arrayContaining([expect.stringMatching(/^sink ccp is stuck: its oldest CDR waits for \d+ s/)]),
      );
      expect(stuck.body.cdrStore).toMatchObject({ ok: true, state: 'up' });
      const s3 = stuck.body.storage.find((tier) => tier.tier === 's3');
      expect(s3).toMatchObject({ ok: false });
      expect(stuck.body.problems.some((p) => p.startsWith('storage tier s3:'))).toBe(true);
      expect(stuck.text).not.toContain('not-a-real-secret');
      expect(stuck.text).not.toContain(t.dir);

      // The CCP is back: the CDR is forwarded, once; only S3 is left, and it still makes the server 503.
      const forwarded = delivered(server, 'ccp', 1);
      ccp.refuse = false;
      await forwarded;
      const after = await healthUntil(server.url, (_s, b) => b.sinks.ccp?.ok === true);
      expect(after.status).toBe(503);
      expect(after.body.problems).toEqual([expect.stringMatching(/^storage tier s3:/)]);
      expect(ccp.received.get(call.uuid)).toBe(1);
    } finally {
      await server.close();
      await ccp.close();
      await t.cleanup();
    }
  });
});
