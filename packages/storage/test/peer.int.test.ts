import { createHash } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from '@pbxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPeerHandler,
  createRecordingsHandler,
  LocalFsBackend,
  NoopBackend,
  PeerProxyBackend,
  StorageNotFoundError,
  StoragePeerAuthError,
  signRequest,
  TieredRecordingResolver,
} from '../src/index.js';
import { get, listen, tempDir } from './helpers.js';

const MiB = 1024 * 1024;
const SECRET = 'cluster-secret-for-tests-0123456789abcdef';
const OTHER_SECRET = 'not-the-cluster-secret-but-long-enough-42';
const small = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7) % 256));

describe('peer proxy between two real instances on loopback', () => {
  let cleanup: () => Promise<void>;
  let peerUrl: string;
  let frontUrl: string;
  let closers: Array<() => Promise<void>> = [];
  let proxy: PeerProxyBackend;
  let bigSha: string;
  let peerRoot: string;
  const registry = new Registry();

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    peerRoot = join(t.dir, 'b');
    await mkdir(peerRoot);
    // Instance B: its own recordings, served to peers.
    const bLocal = new LocalFsBackend({ root: peerRoot });
    await bLocal.write('d/11111111-0000-4000-8000-000000000001.wav', small);
    const fh = await open(join(peerRoot, 'd/22222222-0000-4000-8000-000000000002.wav'), 'w');
    const hash = createHash('sha256');
    const block = Buffer.alloc(MiB);
    for (let i = 0; i < 100; i++) {
      block.fill(i);
      hash.update(block);
      await fh.write(block);
    }
    await fh.close();
    bigSha = hash.digest('hex');
    const peerHandler = createPeerHandler({ backend: bLocal, secret: SECRET, instanceId: 'pbx-b', registry });
    const b = await listen((req, res) => void peerHandler(req, res));
    peerUrl = `${b.url}/_peer`;
    // Instance A: nothing local, the peer as a tier.
    proxy = new PeerProxyBackend({
      instanceId: 'pbx-b',
      endpoint: peerUrl,
      secret: SECRET,
      idleTimeoutMs: 5000,
    });
    const resolver = new TieredRecordingResolver({
      local: { backend: new NoopBackend(), key: 'd/{uuid}.wav' },
      peers: [{ backend: proxy, instanceId: 'pbx-b', key: 'd/{uuid}.wav' }],
    });
    const front = createRecordingsHandler({ source: resolver, idleTimeoutMs: 5000 });
    const a = await listen((req, res) => void front(req, res));
    frontUrl = `${a.url}/recordings`;
    closers = [a.close, b.close];
  });
  afterAll(async () => {
    proxy.close();
    for (const c of closers) await c();
    await cleanup();
  });

  it('serves a recording from the peer through the front instance, Range passed through', async () => {
    const uuid = '11111111-0000-4000-8000-000000000001';
    const whole = await get(`${frontUrl}/${uuid}`);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(small)).toBe(true);
    expect(whole.headers['content-type']).toBe('audio/wav');
    for (const [range, start, end] of [
      ['bytes=-500', 9500, 9999],
      ['bytes=100-199', 100, 199],
      ['bytes=9000-', 9000, 9999],
    ] as const) {
      const r = await get(`${frontUrl}/${uuid}`, { headers: { Range: range } });
      expect(r.status).toBe(206);
      expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/10000`);
      expect(r.body.equals(small.subarray(start, end + 1))).toBe(true);
    }
    expect((await get(`${frontUrl}/33333333-0000-4000-8000-000000000003`)).status).toBe(404);
    expect((await proxy.health()).ok).toBe(true);
  });

  it('the proxy reads ranges and stats directly; missing keys are not found; traversal refused', async () => {
    const key = 'd/11111111-0000-4000-8000-000000000001.wav';
    expect((await proxy.stat(key)).size).toBe(10_000);
    const part = Buffer.concat(await (await proxy.read(key, { range: { start: 10, end: 19 } })).toArray());
    expect(part.equals(small.subarray(10, 20))).toBe(true);
    await expect(proxy.stat('d/none.wav')).rejects.toThrow(StorageNotFoundError);
    await expect(proxy.read('d/none.wav')).rejects.toThrow(StorageNotFoundError);
    const past = await proxy.read(key, { range: { start: 20_000, end: 20_010 } }).catch((e) => e);
    expect(past).toMatchObject({ code: 'STORAGE_RANGE_NOT_SATISFIABLE', size: 10_000 });
    const last = await proxy.read(key, { range: { start: 9_999, end: 9_999 } });
    expect(Buffer.concat(await last.toArray())).toEqual(small.subarray(9_999));
    await expect(proxy.stat('../etc/passwd')).rejects.toThrow();
    const raw = await get(`${peerUrl}/objects/..%2F..%2Fetc%2Fpasswd`, {
      headers: signRequest(SECRET, {
        method: 'GET',
        path: '/_peer/objects/..%2F..%2Fetc%2Fpasswd',
        peer: 'pbx-b',
      }),
    });
    expect(raw.status).toBe(404);
  });

  it('a fast client gets 100 MB through the peer byte for byte (pooled read buffers reused as it goes)', async () => {
    const hash = createHash('sha256');
    const r = await get(`${frontUrl}/22222222-0000-4000-8000-000000000002`, {
      keepBody: false,
      onChunk: (c) => hash.update(c),
    });
    expect(r.complete).toBe(true);
    expect(r.bytes).toBe(100 * MiB);
    expect(hash.digest('hex')).toBe(bigSha);
  });

  it('stats on a kept-alive connection leave no idle-timeout listener behind', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 20; i++) await proxy.stat('d/11111111-0000-4000-8000-000000000001.wav');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('refuses forged, expired, replayed and unsigned requests with 401 (and counts them)', async () => {
    const path = '/_peer/objects/d/11111111-0000-4000-8000-000000000001.wav';
    const url = peerUrl.replace('/_peer', '') + path;
    expect((await get(url)).status).toBe(401);
    const forged = signRequest(OTHER_SECRET, { method: 'GET', path, peer: 'pbx-b' });
    expect((await get(url, { headers: forged })).status).toBe(401);
    const expired = signRequest(
      SECRET,
      { method: 'GET', path, peer: 'pbx-b' },
      { now: Date.now() - 120_000 },
    );
    const e = await get(url, { headers: expired });
    expect([e.status, JSON.parse(e.body.toString()).reason]).toEqual([401, 'expired']);
    const good = signRequest(SECRET, { method: 'GET', path, peer: 'pbx-b' });
    expect((await get(url, { headers: good })).status).toBe(200);
    const replay = await get(url, { headers: good });
    expect([replay.status, JSON.parse(replay.body.toString()).reason]).toEqual([401, 'replayed']);
    const counts = await registry.getSingleMetric('pbxkit_storage_peer_auth_failures_total')?.get();
    const by = Object.fromEntries((counts?.values ?? []).map((v) => [v.labels.reason, v.value]));
    expect(by).toMatchObject({ missing: 1, forged: 1, expired: 1, replayed: 1 });
    const wrong = new PeerProxyBackend({ instanceId: 'pbx-b', endpoint: peerUrl, secret: OTHER_SECRET });
    await expect(wrong.stat('d/11111111-0000-4000-8000-000000000001.wav')).rejects.toThrow(
      StoragePeerAuthError,
    );
    await expect(wrong.read('d/11111111-0000-4000-8000-000000000001.wav')).rejects.toThrow(
      StoragePeerAuthError,
    );
    wrong.close();
  });

  it('a client throttled to 2 MiB/s downloads a 100 MB recording through the peer completely', async () => {
    const hash = createHash('sha256');
    const started = performance.now();
    const r = await get(`${frontUrl}/22222222-0000-4000-8000-000000000002`, {
      keepBody: false,
      rateBytesPerSec: 2 * MiB,
      onChunk: (c) => hash.update(c),
    });
    expect(r.status).toBe(200);
    expect(r.complete).toBe(true);
    expect(r.bytes).toBe(100 * MiB);
    expect(hash.digest('hex')).toBe(bigSha);
    expect((performance.now() - started) / 1000).toBeGreaterThan(45);
  }, 120_000);

  it('the peer dying mid-stream gives the client a truncated transfer, never a clean end', async () => {
    // A peer that sends 5 MiB of a 50 MiB object, then drops the connection.
    const dying = await listen((req, res) => {
      res.writeHead(200, { 'Content-Length': 50 * MiB, 'Content-Type': 'audio/wav' });
      if (req.method === 'HEAD') return void res.end();
      for (let i = 0; i < 5; i++) res.write(Buffer.alloc(MiB, 1));
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const dyingProxy = new PeerProxyBackend({
      instanceId: 'c',
      endpoint: `${dying.url}/_peer`,
      secret: SECRET,
    });
    const front = createRecordingsHandler({
      source: async (uuid) => ({ backend: dyingProxy, key: `d/${uuid}.wav` }),
    });
    const a = await listen((req, res) => void front(req, res));
    try {
      const r = await get(`${a.url}/recordings/44444444-0000-4000-8000-000000000004`, { keepBody: false });
      expect(r.status).toBe(200);
      expect(r.complete).toBe(false);
      expect(r.bytes).toBeLessThan(50 * MiB);
    } finally {
      dyingProxy.close();
      await a.close();
      await dying.close();
    }
  });
});

describe('a peer signature is good for one peer, once, and not across a restart', () => {
  const key = 'd/55555555-0000-4000-8000-000000000005.wav';
  const path = `/_peer/objects/${key}`;
  let cleanup: () => Promise<void>;
  let closers: Array<() => Promise<void>> = [];
  let backendOf: (id: string) => LocalFsBackend;

  /** An instance `id` serving its own directory to peers, as a restarted process would: a fresh handler. */
  async function startPeer(id: string): Promise<{ url: string; close: () => Promise<void> }> {
    const handler = createPeerHandler({ backend: backendOf(id), secret: SECRET, instanceId: id });
    const server = await listen((req, res) => void handler(req, res));
    closers.push(server.close);
    return server;
  }

  /**
   * What a `PeerProxyBackend` for peer `id` sends, as an eavesdropper on the network records it: the request is
   * sent to a recorder (answering 404) instead of the peer.
   */
  async function captureRequestFor(id: string): Promise<Record<string, string>> {
    let captured: Record<string, string> | undefined;
    const recorder = await listen((req, res) => {
      captured = Object.fromEntries(
        Object.entries(req.headers).filter(([name]) => name.startsWith('x-pbxkit-') || name === 'range'),
      ) as Record<string, string>;
      res.writeHead(404, { 'Content-Length': 0 });
      res.end();
    });
    closers.push(recorder.close);
    const client = new PeerProxyBackend({
      instanceId: id,
      endpoint: `${recorder.url}/_peer`,
      secret: SECRET,
    });
    await expect(client.read(key)).rejects.toThrow(StorageNotFoundError);
    client.close();
    return captured as Record<string, string>;
  }

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    const backends = new Map<string, LocalFsBackend>();
    for (const id of ['pbx-a', 'pbx-b']) {
      await mkdir(join(t.dir, id));
      const backend = new LocalFsBackend({ root: join(t.dir, id) });
      await backend.write(key, `the recording on ${id}`);
      backends.set(id, backend);
    }
    backendOf = (id) => backends.get(id) as LocalFsBackend;
  });
  afterAll(async () => {
    for (const c of closers) await c();
    closers = [];
    await cleanup();
  });

  it('a request signed for pbx-a is refused by pbx-b (same secret), and served by pbx-a once', async () => {
    const a = await startPeer('pbx-a');
    const b = await startPeer('pbx-b');
    const forA = await captureRequestFor('pbx-a');
    const atB = await get(`${b.url}${path}`, { headers: forA });
    expect([atB.status, JSON.parse(atB.body.toString()).reason]).toEqual([401, 'wrong_peer']);
    const atA = await get(`${a.url}${path}`, { headers: forA });
    expect([atA.status, atA.body.toString()]).toEqual([200, 'the recording on pbx-a']);
    const again = await get(`${a.url}${path}`, { headers: forA });
    expect([again.status, JSON.parse(again.body.toString()).reason]).toEqual([401, 'replayed']);

    // A peer list naming pbx-b by the wrong id: every request fails, saying why.
    const misnamed = new PeerProxyBackend({
      instanceId: 'pbx-a',
      endpoint: `${b.url}/_peer`,
      secret: SECRET,
    });
    await expect(misnamed.read(key)).rejects.toMatchObject({
      code: 'STORAGE_PEER_AUTH',
      reason: 'wrong_peer',
      message: expect.stringMatching(/refused our signature: wrong_peer/),
    });
    await expect(misnamed.stat(key)).rejects.toMatchObject({ reason: 'wrong_peer' });
    misnamed.close();
  });

  it('a request captured before pbx-a restarts is refused after the restart; a fresh one is served', async () => {
    const before = await startPeer('pbx-a');
    const captured = await captureRequestFor('pbx-a');
    const served = await get(`${before.url}${path}`, { headers: captured });
    expect(served.status).toBe(200);
    await before.close();
    // The restart must come after the millisecond the request was signed in (on loopback it always does).
    const issued = Number(captured['x-pbxkit-issued']);
    while (Date.now() <= issued) await new Promise((resolve) => setImmediate(resolve));

    const after = await startPeer('pbx-a');
    const replayed = await get(`${after.url}${path}`, { headers: captured });
    expect([replayed.status, JSON.parse(replayed.body.toString()).reason]).toEqual([
      401,
      'issued_before_start',
    ]);
    const fresh = new PeerProxyBackend({
      instanceId: 'pbx-a',
      endpoint: `${after.url}/_peer`,
      secret: SECRET,
    });
    const body = Buffer.concat(await (await fresh.read(key)).toArray());
    expect(body.toString()).toBe('the recording on pbx-a');
    expect((await fresh.stat(key)).size).toBe(body.length);
    fresh.close();
  });
});
