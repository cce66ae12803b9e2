import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { disk } from '../../../packages/cdr/test/disk-faults.js';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { configFromEnv } from '../src/config/load.js';
import { startReferenceServer } from '../src/server.js';
import { delivered, fakeCcp, healthUntil, makeCall, postCdr, tempDir } from './helpers.js';

// The spool's disk can be made full (ENOSPC on every write under disk.dir), as a full file system answers.
vi.mock('node:fs/promises', async (importOriginal) => {
  const { faultyFs } = await import('../../../packages/cdr/test/disk-faults.js');
  return faultyFs(await importOriginal());
});

afterEach(() => {
  disk.full = false;
  disk.dir = '';
});

describe('reference server health when the spool disk fills up', () => {
  it('a drain stalled by a full disk answers 503 (the spool cannot write) until the disk has room again', {
    timeout: 120_000,
  }, async () => {
    const t = await tempDir('disk-full');
    const ccp = await fakeCcp();
    ccp.refuse = true; // holds the CDR in the spool until the disk is full
    const server = await startReferenceServer(
      configFromEnv({
        PBXKIT_PORT: '0',
        PBXKIT_DATA_DIR: t.dir,
        PBXKIT_DATABASE_URL: testDatabaseUrl(),
        PBXKIT_CDR_FORWARD_URL: ccp.url,
        PBXKIT_CDR_FORWARD_NAME: 'ccp',
        PBXKIT_CDR_FORWARD_ATTEMPTS: '1',
      }),
    );
    try {
      const call = makeCall(t.dir, 1);
      const stored = delivered(server, 'postgres', 1);
      expect(await postCdr(server.url, call)).toBe(200);
      await stored;
      disk.dir = join(t.dir, 'cdr-spool');
      disk.full = true;
      ccp.refuse = false;
      // The CCP gets it at the dispatcher's next retry; marking it delivered in the spool's journal fails.
      const full = await healthUntil(server.url, (_s, body) => body.spool.ok === false, 90_000);
      expect(ccp.received.get(call.uuid)).toBeGreaterThanOrEqual(1);
      expect(full.status).toBe(503);
      expect(full.body.problems).toContain(
        'the spool cannot write (CDRs are refused or cannot be marked delivered)',
      );
      expect(full.text).not.toContain(t.dir);
      expect(await postCdr(server.url, makeCall(t.dir, 1))).toBe(500); // FreeSWITCH keeps it and retries

      disk.full = false;
      const drained = await healthUntil(
        server.url,
        // delivered CDRs leave the spool once the CDR archive has them: a moment after the 200
        (status, body) => status === 200 && body.spool.backlog === 0,
      );
      expect(drained.body).toMatchObject({ status: 'ok', spool: { ok: true, state: 'ok', backlog: 0 } });
    } finally {
      await server.close();
      await ccp.close();
      await t.cleanup();
    }
  });

  it('answers 503 when the spool disk has less free space than PBXKIT_HEALTH_MIN_FREE_MB', {
    timeout: 60_000,
  }, async () => {
    const t = await tempDir('low-disk');
    const server = await startReferenceServer(
      configFromEnv({
        PBXKIT_PORT: '0',
        PBXKIT_DATA_DIR: t.dir,
        PBXKIT_DATABASE_URL: testDatabaseUrl(),
        PBXKIT_HEALTH_MIN_FREE_MB: String(1024 * 1024 * 1024), // a petabyte: more than any test disk has
      }),
    );
    try {
      const low = await healthUntil(server.url, () => true);
      expect(low.status).toBe(503);
      expect(low.body.problems).toEqual([
        expect.stringMatching(/^the spool's disk has \d+ bytes free, below \d+/),
      ]);
    } finally {
      await server.close();
      await t.cleanup();
    }
  });
});
