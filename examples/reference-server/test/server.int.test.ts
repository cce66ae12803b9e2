import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capturedRequests } from '../../../packages/cdr/test/fixtures.js';
import { configFromEnv } from '../src/config/load.js';
import { startReferenceServer } from '../src/server.js';

describe('reference server on embedded defaults', () => {
  // PGlite starts twice (the restart): 35-40 s at load 10-13 on the 2-core machine, past the 30 s default.
  it('receives mod_xml_cdr posts into PGlite, serves health and metrics, and keeps the data across restarts', {
    timeout: 120_000,
  }, async () => {
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
      server.dispatcher.on('delivered', (sink, ids) => {
        if (sink !== 'postgres') return;
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
    const health = await fetch(`${server.url}/health`);
    const report = await health.clone().text();
    expect(health.status, report).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'ok',
      cdrStore: { ok: true, state: 'up' },
      storage: [{ tier: 'local', ok: true }],
    });
    expect(await server.store.count()).toBe(uuids.size);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/pbxkit_cdr_\w+/);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    await server.close();

    const again = await startReferenceServer(config);
    expect(await again.store.count()).toBe(uuids.size);
    await again.close();
  });

  // PGlite starts once: 17-25 s at load 10-13.
  it('serves a call recording by uuid, with Range, found through the CDR (FusionPBX layout on local disk)', {
    timeout: 90_000,
  }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pbxkit-ref-rec-'));
    const server = await startReferenceServer(configFromEnv({ PBXKIT_PORT: '0', PBXKIT_DATA_DIR: dataDir }));
    const uuid = '0b7c8d2e-1111-4222-8333-444455556666';
    const audio = Buffer.from(Array.from({ length: 64_000 }, (_, i) => i % 251));
    const dir = join(dataDir, 'recordings', 'pbx.example.com', 'archive', '2026', 'Nov', '23');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${uuid}.wav`), audio);
    const xml = `<?xml version="1.0"?>
<cdr core-uuid="c" switchname="fs1"><variables>
<uuid>${uuid}</uuid><domain_name>pbx.example.com</domain_name><start_epoch>1795435200</start_epoch>
<billsec>30</billsec><hangup_cause>NORMAL_CLEARING</hangup_cause>
<record_path>%2Fvar%2Flib%2Ffreeswitch%2Frecordings%2Fpbx.example.com%2Farchive%2F2026%2FNov%2F23</record_path>
<record_name>${uuid}.wav</record_name>
</variables></cdr>`;
    const delivered = new Promise<void>((resolve) =>
      server.dispatcher.on('delivered', (sink) => sink === 'postgres' && resolve()),
    );
    const posted = await fetch(`${server.url}/cdr?uuid=a_${uuid}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: xml,
    });
    expect(posted.status).toBe(200);
    await delivered;
    const ranged = await fetch(`${server.url}/recordings/${uuid}`, { headers: { range: 'bytes=1000-1099' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 1000-1099/${audio.length}`);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(audio.subarray(1000, 1100));
    const whole = await fetch(`${server.url}/recordings/${uuid}`);
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(audio)).toBe(true);
    expect((await fetch(`${server.url}/recordings/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    await server.close();
  });
});
