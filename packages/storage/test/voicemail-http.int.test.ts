import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { HttpAuth, pgClient, UrlSigner } from '@pbxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorizeRecordings,
  createPeerHandler,
  createVoicemailHandler,
  LocalFsBackend,
  ModVoicemailIndex,
  PeerProxyBackend,
  signVoicemailUrl,
  type VoicemailIndex,
} from '../src/index.js';
import { get, listen, tempDir } from './helpers.js';
import { s3Backend } from './s3-helpers.js';
import { type RunningNode, startNode } from './vm-cluster.js';
import {
  eventually,
  leaveMessage,
  MOD_VOICEMAIL_DDL,
  mwiUpdate,
  ownDatabase,
  sha,
  wavBytes,
} from './vm-helpers.js';

const TOKEN = 'portal-token-0123456789abcdefghijklmnopqrstuv';
const LINK_SECRET = 'voicemail-link-secret-0123456789abcdef';
const PEER_SECRET = 'voicemail-peer-secret-0123456789abcdef';
const BOX = { domain: 'pbx.example.com', user: '3000' };

describe('voicemail over HTTP: the portal and the nodes (GET|HEAD /voicemail/<domain>/<user>/<uuid>)', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  const shared = s3Backend(`pbxkit-vmhttp-${process.pid}-${Date.now().toString(36)}`, {
    prefix: 'voicemail',
  });
  let a: RunningNode;
  let b: RunningNode;
  let index: VoicemailIndex;
  const links = new UrlSigner({ secret: LINK_SECRET, maxLifetimeSeconds: 3600 });
  const auth = new HttpAuth({ bearerTokens: [TOKEN], links });
  const servers: Array<() => Promise<void>> = [];
  let portal: string;
  let onB: string;
  const bearer = { Authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    db = await ownDatabase('pbxkit_vm_http');
    await db.pool.query(MOD_VOICEMAIL_DDL);
    await shared.ensureBucket();
    a = await startNode('a', db, shared);
    b = await startNode('b', db, shared);
    index = new ModVoicemailIndex(pgClient(db.pool));
    // The portal runs on no switch: the index and the shared tier only.
    const central = createVoicemailHandler({
      index,
      shared,
      authorize: authorizeRecordings(auth),
      links: { signer: links },
    });
    const p = await listen((req, res) => void central(req, res));
    portal = `${p.url}/voicemail`;
    // Node B serves from its own disk first.
    const nodeB = createVoicemailHandler({
      index,
      local: b.local,
      shared,
      authorize: authorizeRecordings(auth),
    });
    const q = await listen((req, res) => void nodeB(req, res));
    onB = `${q.url}/voicemail`;
    servers.push(p.close, q.close);
  });
  afterAll(async () => {
    for (const close of servers) await close();
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  it('a message left on A is served by the portal and by B, whole, by Range and by HEAD', async () => {
    const msg = await leaveMessage(a, db.pool, BOX);
    const path = `${BOX.domain}/${BOX.user}/${msg.uuid}`;
    const whole = await eventually('the portal to serve it', async () => {
      const r = await get(`${portal}/${path}`, { headers: bearer });
      return r.status === 200 ? r : undefined;
    });
    expect(whole.headers['content-type']).toBe('audio/wav');
    expect(sha(whole.body)).toBe(sha(msg.bytes));
    const part = await get(`${portal}/${path}`, { headers: { ...bearer, Range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${msg.bytes.length}`);
    expect(part.body.equals(msg.bytes.subarray(100, 200))).toBe(true);
    const head = await get(`${portal}/${path}`, { headers: bearer, method: 'HEAD' });
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([
      200,
      String(msg.bytes.length),
      0,
    ]);
    const fromB = await eventually('B to serve it', async () => {
      const r = await get(`${onB}/${path}`, { headers: bearer });
      return r.status === 200 ? r : undefined;
    });
    expect(sha(fromB.body)).toBe(sha(msg.bytes));
  });

  it('asks for credentials or a signed link to exactly this message, like recordings', async () => {
    const msg = await leaveMessage(a, db.pool, BOX);
    await eventually('the upload', () => shared.stat(msg.key));
    const path = `${BOX.domain}/${BOX.user}/${msg.uuid}`;
    expect((await get(`${portal}/${path}`)).status).toBe(401);
    const signed = signVoicemailUrl({ ...BOX, uuid: msg.uuid }, { signer: links, expiresInSeconds: 60 });
    const viaLink = await get(`${portal.replace(/\/voicemail$/, '')}${signed}`, {
      headers: { Range: 'bytes=0-9' },
    });
    expect([viaLink.status, viaLink.body.equals(msg.bytes.subarray(0, 10))]).toEqual([206, true]);
    // The same signature on another message's path is refused.
    const other = signed.replace(msg.uuid, randomUUID());
    expect((await get(`${portal.replace(/\/voicemail$/, '')}${other}`)).status).toBe(403);
    // The link endpoint hands out a link that works without credentials.
    const made = await get(`${portal}/${path}/link?expires_in=120&download=1`, { headers: bearer });
    const { url } = JSON.parse(made.body.toString()) as { url: string };
    const downloaded = await get(`${portal.replace(/\/voicemail$/, '')}${url}`);
    expect(downloaded.status).toBe(200);
    expect(downloaded.headers['content-disposition']).toMatch(/^attachment; filename="msg_/);
  });

  it('404 for another mailbox, an unknown uuid or a malformed path; 404 once deleted', async () => {
    const msg = await leaveMessage(a, db.pool, BOX);
    await eventually('the upload', () => shared.stat(msg.key));
    const status = async (p: string) => (await get(`${portal}/${p}`, { headers: bearer })).status;
    expect(await status(`${BOX.domain}/9999/${msg.uuid}`)).toBe(404);
    expect(await status(`${BOX.domain}/${BOX.user}/${randomUUID()}`)).toBe(404);
    expect(await status(`${BOX.domain}/${msg.uuid}`)).toBe(404);
    expect(await status(`..%2F..%2Fetc/${BOX.user}/${msg.uuid}`)).toBe(404);
    expect(await status(`${BOX.domain}/${BOX.user}/%E0%A4%A`)).toBe(400);
    await eventually(
      'the object to pass the grace time',
      async () => Date.now() - (await shared.stat(msg.key)).lastModified.getTime() > 2500,
    );
    await db.pool.query('delete from voicemail_msgs where uuid = $1', [msg.uuid]);
    await rm(join(a.root, msg.key));
    mwiUpdate(a, BOX);
    expect(await status(`${BOX.domain}/${BOX.user}/${msg.uuid}`)).toBe(404);
    await eventually(
      'the shared copy to go',
      async () => !(await shared.stat(msg.key).catch(() => undefined)),
    );
    await eventually(
      "B's copy to go",
      async () =>
        (await get(`${onB}/${BOX.domain}/${BOX.user}/${msg.uuid}`, { headers: bearer })).status === 404,
    );
  });

  it('resolves local → peer → S3: a message only on another node is served through its peer handler', async () => {
    const { dir, cleanup } = await tempDir('vm-peer-');
    const nodeC = new LocalFsBackend({ root: dir, minFreeBytes: 0 });
    const peer = createPeerHandler({
      backend: nodeC,
      secret: PEER_SECRET,
      instanceId: 'c',
      basePath: '/_peer-voicemail',
    });
    const c = await listen((req, res) => void peer(req, res));
    const uuid = randomUUID();
    const key = `default/${BOX.domain}/${BOX.user}/msg_${randomUUID()}.wav`;
    const bytes = wavBytes(20_000);
    await mkdir(dirname(join(dir, key)), { recursive: true });
    await writeFile(join(dir, key), bytes);
    await db.pool.query(
      `insert into voicemail_msgs values ($1, 0, $2, $3, $4, 'Carol', '5551005', 'inbox', $5, 3, '', 'B_NORMAL', '')`,
      [Math.floor(Date.now() / 1000), BOX.user, BOX.domain, uuid, join(dir, key)],
    );
    const viaPeers = createVoicemailHandler({
      index: new ModVoicemailIndex(pgClient(db.pool), { root: dir }),
      peers: [
        new PeerProxyBackend({ instanceId: 'c', endpoint: `${c.url}/_peer-voicemail`, secret: PEER_SECRET }),
      ],
      shared,
    });
    const s = await listen((req, res) => void viaPeers(req, res));
    try {
      const r = await get(`${s.url}/voicemail/${BOX.domain}/${BOX.user}/${uuid}`, {
        headers: { Range: 'bytes=-5' },
      });
      expect([r.status, r.body.equals(bytes.subarray(-5))]).toEqual([206, true]);
    } finally {
      await s.close();
      await c.close();
      await cleanup();
      await db.pool.query('delete from voicemail_msgs where uuid = $1', [uuid]);
    }
  });

  it('503 with Retry-After when the voicemail database cannot be asked, never a 404', async () => {
    const broken: VoicemailIndex = {
      list: async () => [],
      all: async () => [],
      prefs: async () => undefined,
      get: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      },
    };
    const handler = createVoicemailHandler({ index: broken, shared });
    const s = await listen((req, res) => void handler(req, res));
    try {
      const r = await get(`${s.url}/voicemail/${BOX.domain}/${BOX.user}/${randomUUID()}`);
      expect([r.status, r.headers['retry-after']]).toEqual([503, '5']);
    } finally {
      await s.close();
    }
  });
});
