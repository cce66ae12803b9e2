import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capturedRequests } from '../../../packages/cdr/test/fixtures.js';
import { configFromEnv } from '../src/config.js';
import { startReferenceServer } from '../src/server.js';

describe('reference server on embedded defaults', () => {
  it('receives mod_xml_cdr posts into PGlite, serves health and metrics, and keeps the data across restarts', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pbxkit-ref-'));
    const config = configFromEnv({
      PBXKIT_PORT: '0',
      PBXKIT_DATA_DIR: dataDir,
      PBXKIT_CDR_USER: 'fs',
      PBXKIT_CDR_PASSWORD: 'secret',
    });
    const server = await startReferenceServer(config);
    const requests = capturedRequests();
    const delivered = new Promise<void>((resolve) => {
      let count = 0;
      server.dispatcher.on('delivered', (_sink, ids) => {
        count += ids.length;
        if (count >= requests.length) resolve();
      });
    });
    const auth = `Basic ${Buffer.from('fs:secret').toString('base64')}`;
    for (const req of requests) {
      const res = await fetch(`${server.url}${req.target}`, {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] as string, authorization: auth },
        body: req.body,
      });
      expect(res.status, req.name).toBe(200);
    }
    const refused = await fetch(`${server.url}/cdr`, { method: 'POST', body: 'cdr=x' });
    expect(refused.status).toBe(401);
    await delivered;
    const uuids = new Set(
      requests.map((r) => new URL(r.target, 'http://x').searchParams.get('uuid')?.replace(/^a_/, '')),
    );
    const health = (await (await fetch(`${server.url}/health`)).json()) as { status: string; cdrs: number };
    expect(health).toEqual({ status: 'ok', cdrs: uuids.size });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/pbxkit_cdr_\w+/);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    await server.close();

    const again = await startReferenceServer(config);
    expect(await again.store.count()).toBe(uuids.size);
    await again.close();
  });

  it('refuses bad configuration with a clear message', () => {
    expect(() => configFromEnv({ PBXKIT_PORT: 'http' })).toThrow(/PBXKIT_PORT/);
    expect(() => configFromEnv({ PBXKIT_CDR_RETENTION_DAYS: '0' })).toThrow(/RETENTION/);
  });
});
