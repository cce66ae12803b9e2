import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, utimes } from 'node:fs/promises';
import type http from 'node:http';
import { join } from 'node:path';
import { HttpAuth, httpAuthOptionsFromEnv, Registry } from '@pbxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl, testS3 } from '../../../scripts/test-env.js';
import {
  authorizeRecordings,
  createRecordingsHandler,
  createStorage,
  FUSIONPBX_KEY_TEMPLATE,
  type RecordingRef,
  renderKey,
  type Storage,
  storageConfigFromEnv,
} from '../src/index.js';
import { get, listen, tempDir } from './helpers.js';
import { s3Backend } from './s3-helpers.js';

const PEER_SECRET = randomBytes(32).toString('hex');
const LINK_SECRET = randomBytes(32).toString('hex');
const CCP_TOKEN = randomBytes(32).toString('hex');
const DAY = 86_400_000;

/**
 * The two-node layout of docs/storage.md, wired as a server on each FreeSWITCH node would wire it (the same lines
 * as the reference server): pbx-a and pbx-b, each with its own recordings disk, sharing the S3 bucket and prefix
 * and the PostgreSQL (location index and archive locks); each serves its disk to the other at /_peer.
 */
describe('two nodes, each serving its disk to the other, one bucket and one PostgreSQL', () => {
  const nodes: Record<string, { storage: Storage; url: string; registry: Registry; root: string }> = {};
  const cdrs = new Map<string, RecordingRef>(); // FusionPBX's v_xml_cdr, shared by both nodes
  const closers: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    const t = await tempDir();
    closers.push(t.cleanup);
    const bucket = `pbxkit-two-node-${process.pid}-${Date.now().toString(36)}`;
    const s3 = s3Backend(bucket);
    await s3.ensureBucket();
    s3.close();
    // Listen first: each node's environment names the other's URL.
    const urls: Record<string, string> = {};
    const routes: Record<string, http.RequestListener> = {};
    for (const id of ['pbx-a', 'pbx-b']) {
      const s = await listen((req, res) => routes[id]?.(req, res));
      closers.push(s.close);
      urls[id] = s.url;
    }
    const { endpoint, accessKeyId, secretAccessKey } = testS3();
    for (const [id, other] of [
      ['pbx-a', 'pbx-b'],
      ['pbx-b', 'pbx-a'],
    ] as const) {
      const root = join(t.dir, id);
      await mkdir(root);
      const env = {
        PBXKIT_STORAGE_INSTANCE_ID: id,
        PBXKIT_STORAGE_LOCAL_ROOT: root,
        PBXKIT_STORAGE_LOCAL_DAYS: '5',
        PBXKIT_STORAGE_TIER_ORDER: 'local,peers,s3',
        PBXKIT_STORAGE_S3_BUCKET: bucket,
        PBXKIT_STORAGE_S3_ENDPOINT: endpoint,
        PBXKIT_STORAGE_S3_FORCE_PATH_STYLE: 'true',
        PBXKIT_STORAGE_S3_ACCESS_KEY_ID: accessKeyId,
        PBXKIT_STORAGE_S3_SECRET_ACCESS_KEY: secretAccessKey,
        PBXKIT_STORAGE_S3_PREFIX: 'cluster-1',
        PBXKIT_STORAGE_PEERS: `${other}=${urls[other]}/_peer`,
        PBXKIT_STORAGE_PEER_SECRET: PEER_SECRET,
        PBXKIT_STORAGE_INDEX_URL: testDatabaseUrl(),
        PBXKIT_STORAGE_ARCHIVE_JOURNAL: join(t.dir, `${id}.journal`),
        PBXKIT_AUTH_TOKENS: CCP_TOKEN,
        PBXKIT_AUTH_LINK_SECRET: LINK_SECRET,
      };
      const registry = new Registry();
      const locator = { locate: async (uuid: string) => cdrs.get(uuid) };
      // The wiring a node's server needs, in full:
      const storage = await createStorage(storageConfigFromEnv(env), { locator, registry });
      const auth = new HttpAuth({ ...httpAuthOptionsFromEnv(env), metricsNamespace: 'storage', registry });
      const recordings = createRecordingsHandler({
        source: storage.resolver,
        authorize: authorizeRecordings(auth),
        ...(auth.links ? { links: { signer: auth.links } } : {}),
        registry,
      });
      routes[id] = (req, res) => {
        const path = (req.url ?? '/').split('?', 1)[0] as string;
        if (storage.peerHandler && path.startsWith(`${storage.config.peerBasePath}/`)) {
          void storage.peerHandler(req, res); // signed by the peer: not behind operator auth
        } else if (path === '/metrics') {
          if (!auth.guard(req, res)) return;
          void registry.metrics().then((text) => res.end(text));
        } else {
          void recordings(req, res);
        }
      };
      closers.push(() => storage.close());
      nodes[id] = { storage, url: urls[id] as string, registry, root };
    }
  }, 60_000);
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  const record = async (node: string, callStart: Date) => {
    const uuid = randomUUID();
    const ref: RecordingRef = { uuid, domain: 'd.example', callStart };
    cdrs.set(uuid, ref);
    const body = randomBytes(200_000);
    const key = renderKey(FUSIONPBX_KEY_TEMPLATE, ref) as string;
    await nodes[node]?.storage.local?.write(key, body);
    // Written when the call ended, as FreeSWITCH would have.
    await utimes(join(nodes[node]?.root as string, key), callStart, callStart);
    return { uuid, body, key };
  };
  const s3Stats = async (node: string) =>
    (await nodes[node]?.registry.getSingleMetric('pbxkit_storage_backend_operations_total')?.get())?.values
      .filter((v) => v.labels.backend === 's3' && v.labels.operation === 'stat')
      .reduce((n, v) => n + v.value, 0) ?? 0;

  it("the CCP, through pbx-a, plays a recent call still on pbx-b's disk, seeking, with no S3 probe first", async () => {
    const { uuid, body } = await record('pbx-b', new Date(Date.now() - DAY));
    const a = nodes['pbx-a'] as (typeof nodes)[string];
    // The CCP asks pbx-a for a link with its token and hands it to the agent's browser.
    const minted = await get(`${a.url}/recordings/${uuid}/link?expires_in=300`, {
      headers: { authorization: `Bearer ${CCP_TOKEN}` },
    });
    expect(minted.status).toBe(200);
    const link = a.url + (JSON.parse(minted.body.toString()) as { url: string }).url;
    const whole = await get(link);
    expect([whole.status, whole.body.equals(body)]).toEqual([200, true]);
    const seek = await get(link, { headers: { range: 'bytes=150000-150099' } });
    expect([seek.status, seek.body.equals(body.subarray(150_000, 150_100))]).toEqual([206, true]);
    expect(await s3Stats('pbx-a')).toBe(0);
    // Without the link or a token: refused at pbx-a; pbx-b's peer handler refuses anyone unsigned.
    expect((await get(`${a.url}/recordings/${uuid}`)).status).toBe(401);
    expect(
      (await get(link.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`))).status,
    ).toBe(403);
    expect((await get(`${nodes['pbx-b']?.url}/_peer/objects/x.wav`)).status).toBe(401);
  });

  it('pbx-b archives an old call to the shared bucket under its lock; pbx-a then serves it from S3', async () => {
    const { uuid, body, key } = await record('pbx-b', new Date(Date.now() - 30 * DAY));
    const b = nodes['pbx-b'] as (typeof nodes)[string];
    const archiver = b.storage.archiver;
    expect(archiver).toBeDefined();
    const report = await archiver?.run();
    expect(report).toMatchObject({ archived: 1, failed: [], skipped: [] });
    await expect(b.storage.local?.stat(key) as Promise<unknown>).rejects.toThrow(/no object/);
    const before = await s3Stats('pbx-a');
    const served = await get(`${nodes['pbx-a']?.url}/recordings/${uuid}`, {
      headers: { authorization: `Bearer ${CCP_TOKEN}` },
    });
    expect([served.status, served.body.equals(body)]).toEqual([200, true]);
    expect(await s3Stats('pbx-a')).toBeGreaterThan(before);
  });

  it('/metrics of each node is for operators only', async () => {
    const url = `${nodes['pbx-b']?.url}/metrics`;
    expect((await get(url)).status).toBe(401);
    const ok = await get(url, { headers: { authorization: `Bearer ${CCP_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toContain('pbxkit_storage_http_auth_checks_total');
  });
});
