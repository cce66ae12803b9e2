import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { configFromEnv } from '../src/config/load.js';
import { type ReferenceServer, startReferenceServer } from '../src/server.js';
import { delivered, makeCall, postCdr, record, tempDir } from './helpers.js';

const TOKEN = randomBytes(32).toString('hex');
const OPS_PASSWORD = randomBytes(32).toString('hex');
const LINK_SECRET = randomBytes(32).toString('hex');
const PEER_SECRET = randomBytes(32).toString('hex');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The two-node layout of the README: each FreeSWITCH node runs a reference server beside it, with its own
 * recordings disk, the PostgreSQL they share (CDRs and the location index), and the other node as its peer.
 */
describe('two reference servers, one per FreeSWITCH node, operators with tokens', () => {
  const nodes: Record<'a' | 'b', { server: ReferenceServer; root: string; dataDir: string }> = {} as never;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await tempDir('two-node');
    cleanup = t.cleanup;
    const ports = { a: await freePort(), b: await freePort() };
    for (const [id, other] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const root = join(t.dir, `pbx-${id}-recordings`);
      const dataDir = join(t.dir, `pbx-${id}-data`);
      const server = await startReferenceServer(
        configFromEnv({
          PBXKIT_PORT: String(ports[id]),
          PBXKIT_DATA_DIR: dataDir,
          PBXKIT_DATABASE_URL: testDatabaseUrl(),
          PBXKIT_CDR_USER: 'freeswitch',
          PBXKIT_CDR_PASSWORD: 'cdr-password',
          PBXKIT_AUTH_TOKENS: TOKEN,
          PBXKIT_AUTH_USERS: `ops:${OPS_PASSWORD}`,
          PBXKIT_AUTH_LINK_SECRET: LINK_SECRET,
          PBXKIT_STORAGE_INSTANCE_ID: `pbx-${id}`,
          PBXKIT_STORAGE_LOCAL_ROOT: root,
          PBXKIT_STORAGE_TIER_ORDER: 'local,peers,s3',
          PBXKIT_STORAGE_PEERS: `pbx-${other}=http://127.0.0.1:${ports[other]}/_peer`,
          PBXKIT_STORAGE_PEER_SECRET: PEER_SECRET,
        }),
      );
      nodes[id] = { server, root, dataDir };
    }
  }, 120_000);
  afterAll(async () => {
    for (const node of Object.values(nodes)) await node.server.close();
    await cleanup?.();
  });

  it("the CCP, through pbx-a, plays (and seeks in) a call recorded on pbx-b's disk, with a signed link", async () => {
    const { a, b } = nodes;
    const call = makeCall(b.root, 1, 150_000);
    await record(call);
    const indexed = delivered(b.server, 'recording-index', 1);
    expect(await postCdr(b.server.url, call)).toBe(401); // mod_xml_cdr's own credentials, not an operator's
    expect(await postCdr(b.server.url, call, 'freeswitch:cdr-password')).toBe(200);
    await indexed;

    const minted = await fetch(`${a.server.url}/recordings/${call.uuid}/link?expires_in=300`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(minted.status).toBe(200);
    const link = a.server.url + ((await minted.json()) as { url: string }).url;
    expect(link).toMatch(/\?expires=\d+&sig=/);
    const seek = await fetch(link, { headers: { range: 'bytes=120000-120099' } });
    expect(seek.status).toBe(206);
    expect(Buffer.from(await seek.arrayBuffer()).equals(call.audio.subarray(120_000, 120_100))).toBe(true);
    const basic = `Basic ${Buffer.from(`ops:${OPS_PASSWORD}`).toString('base64')}`;
    const whole = await fetch(`${a.server.url}/recordings/${call.uuid}`, {
      headers: { authorization: basic },
    });
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(call.audio)).toBe(true);

    // Refusals: no credentials, a tampered link, a link minted without credentials, pbx-b's peer path unsigned.
    expect((await fetch(`${a.server.url}/recordings/${call.uuid}`)).status).toBe(401);
    const tampered = link.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    expect((await fetch(tampered)).status).toBe(403);
    expect((await fetch(`${a.server.url}/recordings/${call.uuid}/link`)).status).toBe(401);
    expect((await fetch(`${b.server.url}/_peer/objects/${call.uuid}.wav`)).status).toBe(401);
  });

  it('/metrics is for operators only; /health is open and shows no path', async () => {
    const { a } = nodes;
    expect((await fetch(`${a.server.url}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${a.server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('pbxkit_storage_http_auth_checks_total');
    const health = await fetch(`${a.server.url}/health`);
    const text = await health.text();
    expect(health.status, text).toBe(200);
    expect(text).not.toContain(a.dataDir);
    expect(text).not.toContain(a.root);
    const peer = (
      JSON.parse(text) as { storage: Array<{ tier: string; ok: boolean; required: boolean }> }
    ).storage.find((tier) => tier.tier.startsWith('peer'));
    expect(peer).toMatchObject({ ok: true, required: false });
  });
});
