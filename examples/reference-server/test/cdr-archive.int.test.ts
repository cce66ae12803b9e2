import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../packages/cdr/src/cli/main.js';
import { cliIo } from '../../../packages/cdr/test/dispatch-helpers.js';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { configFromEnv } from '../src/config/load.js';
import { startReferenceServer } from '../src/server.js';
import { delivered, fakeCcp, healthUntil, makeCall, postCdr, tempDir } from './helpers.js';

describe('reference server: delivered CDRs kept for re-push', () => {
  it('archives every CDR the CCP acknowledged, so CDRs the CCP lost after its 2xx are sent again from the archive', {
    timeout: 120_000,
  }, async () => {
    const t = await tempDir('cdr-archive');
    const ccp = await fakeCcp();
    const server = await startReferenceServer(
      configFromEnv({
        PBXKIT_PORT: '0',
        PBXKIT_DATA_DIR: t.dir,
        PBXKIT_DATABASE_URL: testDatabaseUrl(),
        PBXKIT_CDR_FORWARD_URL: ccp.url,
        PBXKIT_CDR_FORWARD_NAME: 'ccp',
      }),
    );
    try {
      const calls = [makeCall(t.dir, 0), makeCall(t.dir, 0), makeCall(t.dir, 0)];
      const archived = new Promise<void>((resolve) => {
        const seen = new Set<string>();
        server.cdrArchive?.on('archived', (ids) => {
          for (const id of ids) seen.add(id);
          if (seen.size >= calls.length) resolve();
        });
      });
      const forwarded = delivered(server, 'ccp', calls.length);
      for (const call of calls) expect(await postCdr(server.url, call)).toBe(200);
      await forwarded;
      await archived;
      for (const call of calls) expect(ccp.received.get(call.uuid)).toBe(1);
      const health = await healthUntil(server.url, (_s, body) => body.spool.backlog === 0);
      expect(health.text).toContain('"cdrArchive":{"ok":true,"state":"ok"}');

      // The CCP lost them after answering 2xx: the operator sends the last hour again from the archive.
      const cli = cliIo();
      const code = await runCli(
        ['repush', '--archive', join(t.dir, 'cdr-archive'), '--from', '1h', '--url', ccp.url],
        cli.io,
      );
      expect(code, cli.err()).toBe(0);
      for (const call of calls) expect(ccp.received.get(call.uuid)).toBe(2);
    } finally {
      await server.close();
      await ccp.close();
      await t.cleanup();
    }
  });

  it('PBXKIT_CDR_ARCHIVE_DAYS=0 switches the archive off; a bad value names the variable', () => {
    expect(configFromEnv({ PBXKIT_CDR_ARCHIVE_DAYS: '0' }).cdr.archive).toBeUndefined();
    expect(configFromEnv({ PBXKIT_DATA_DIR: '/srv/pbx' }).cdr.archive).toEqual({
      dir: '/srv/pbx/cdr-archive',
      days: 7,
      maxBytes: 4096 * 1024 * 1024,
    });
    expect(() => configFromEnv({ PBXKIT_CDR_ARCHIVE_DAYS: 'week' })).toThrow(/PBXKIT_CDR_ARCHIVE_DAYS/);
  });
});
