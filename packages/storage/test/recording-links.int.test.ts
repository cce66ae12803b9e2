import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HttpAuth, Registry, UrlSigner } from '@pbxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorizeRecordings,
  createRecordingsHandler,
  LocalFsBackend,
  signRecordingUrl,
  TieredRecordingResolver,
} from '../src/index.js';
import { get, listen, tempDir } from './helpers.js';

const TOKEN = 'ccp-token-0123456789abcdefghijklmnopqrstuv';
const PASSWORD = 'supervisor-password-0123456789-abcdefgh';
const LINK_SECRET = 'link-secret-for-tests-0123456789abcdef';
const A = '5c7b0f0e-1111-4222-8333-444455556666';
const B = '6d8c1f1f-2222-4333-8444-555566667777';
const body = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 13) % 256));

describe('recordings behind operator credentials and signed links (real HTTP, real files)', () => {
  let origin: string;
  let close: () => Promise<void>;
  let cleanup: () => Promise<void>;
  let now = Date.now();
  const registry = new Registry();
  const links = new UrlSigner({ secret: LINK_SECRET, maxLifetimeSeconds: 3600, clock: () => now });
  const auth = new HttpAuth({
    bearerTokens: [TOKEN],
    basicUsers: { supervisor: PASSWORD },
    links,
    metricsNamespace: 'storage',
    registry,
  });

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    await mkdir(join(t.dir, 'rec'));
    const local = new LocalFsBackend({ root: join(t.dir, 'rec') });
    await local.write(`${A}.wav`, body);
    await local.write(`${B}.wav`, body.subarray(0, 100));
    const handler = createRecordingsHandler({
      source: new TieredRecordingResolver({ local: { backend: local, key: '{uuid}.wav' } }),
      authorize: authorizeRecordings(auth),
      links: { signer: links, defaultExpiresInSeconds: 120 },
      registry,
    });
    const server = await listen((req, res) => void handler(req, res));
    origin = server.url;
    close = server.close;
  });
  afterAll(async () => {
    await close();
    await cleanup();
  });

  it('without credentials: 401 with Basic and Bearer challenges, and nothing about the recording', async () => {
    for (const uuid of [A, '00000000-0000-4000-8000-000000000000']) {
      const r = await get(`${origin}/recordings/${uuid}`);
      expect(r.status).toBe(401);
      // Two challenges (Node's client joins the two header lines).
      expect(r.headers['www-authenticate']).toBe(
        'Basic realm="pbxkit", charset="UTF-8", Bearer realm="pbxkit"',
      );
      expect(JSON.parse(r.body.toString())).toEqual({ error: 'unauthorized' });
    }
  });

  it('operators get the recording with a bearer token or as a Basic user; a wrong one is 401', async () => {
    const bearer = await get(`${origin}/recordings/${A}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect([bearer.status, bearer.body.equals(body)]).toEqual([200, true]);
    const basic = `Basic ${Buffer.from(`supervisor:${PASSWORD}`).toString('base64')}`;
    const ranged = await get(`${origin}/recordings/${A}`, {
      headers: { authorization: basic, range: 'bytes=-10' },
    });
    expect([ranged.status, ranged.body.equals(body.subarray(-10))]).toEqual([206, true]);
    const wrong = await get(`${origin}/recordings/${A}`, { headers: { authorization: `Bearer ${TOKEN}0` } });
    expect(wrong.status).toBe(401);
  });

  it('a signed link plays like the file itself: GET, Range (a player seeking), HEAD, HEAD with Range', async () => {
    now = Date.now();
    const url = origin + signRecordingUrl(A, { signer: links, expiresInSeconds: 300 });
    const whole = await get(url);
    expect([whole.status, whole.complete, whole.body.equals(body)]).toEqual([200, true, true]);
    expect(whole.headers['accept-ranges']).toBe('bytes');
    for (const [range, start, end] of [
      ['bytes=0-1023', 0, 1023],
      ['bytes=30000-', 30_000, 49_999],
      ['bytes=-500', 49_500, 49_999],
    ] as const) {
      const part = await get(url, { headers: { range } });
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes ${start}-${end}/50000`);
      expect(part.body.equals(body.subarray(start, end + 1))).toBe(true);
    }
    const head = await get(url, { method: 'HEAD' });
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, '50000', 0]);
    const headRange = await get(url, { method: 'HEAD', headers: { range: 'bytes=100-199' } });
    expect([headRange.status, headRange.headers['content-range']]).toEqual([206, 'bytes 100-199/50000']);
  });

  it('a download link carries Content-Disposition; download cannot be added to a link signed without it', async () => {
    now = Date.now();
    const download = origin + signRecordingUrl(A, { signer: links, expiresInSeconds: 300, download: true });
    const r = await get(download);
    expect([r.status, r.headers['content-disposition']]).toEqual([200, `attachment; filename="${A}.wav"`]);
    const play = origin + signRecordingUrl(A, { signer: links, expiresInSeconds: 300 });
    const added = await get(`${play}&download=1`);
    expect([added.status, added.body.length, added.headers['content-type']]).toEqual([403, 0, undefined]);
  });

  it('a link for one call opens no other; an altered, forged or expired link is a bare 403', async () => {
    now = Date.now();
    const linkA = signRecordingUrl(A, { signer: links, expiresInSeconds: 60 });
    const other = signRecordingUrl(A, {
      secret: 'another-secret-0123456789-abcdefghijkl',
      expiresInSeconds: 60,
    });
    const bad = [
      linkA.replace(A, B),
      linkA.replace(/expires=(\d+)/, (_m, e: string) => `expires=${Number(e) + 3600}`),
      other,
      `${linkA}&sig=${'A'.repeat(43)}`,
    ];
    for (const path of bad) {
      for (const method of ['GET', 'HEAD']) {
        const r = await get(origin + path, { method, headers: { range: 'bytes=0-9' } });
        expect([r.status, r.body.length, r.headers['www-authenticate']], `${method} ${path}`).toEqual([
          403,
          0,
          undefined,
        ]);
      }
    }
    expect((await get(origin + linkA)).status).toBe(200);
    now += 60_000;
    const expired = await get(origin + linkA);
    expect([expired.status, expired.body.length]).toEqual([403, 0]);
  });

  it('GET /recordings/:uuid/link: operators mint a link to hand out; the link then works without credentials', async () => {
    now = Date.now();
    const asked = await get(`${origin}/recordings/${A}/link?expires_in=90&download=1`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(asked.status).toBe(200);
    const minted = JSON.parse(asked.body.toString()) as { url: string; expiresAt: string };
    expect(minted.url).toMatch(new RegExp(`^/recordings/${A}\\?download=1&expires=\\d+&sig=`));
    expect(Date.parse(minted.expiresAt) - now).toBeGreaterThan(88_000);
    expect(Date.parse(minted.expiresAt) - now).toBeLessThanOrEqual(90_000);
    const used = await get(origin + minted.url);
    expect([used.status, used.headers['content-disposition']]).toEqual([
      200,
      `attachment; filename="${A}.wav"`,
    ]);
    const byDefault = JSON.parse(
      (
        await get(`${origin}/recordings/${B}/link`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).body.toString(),
    ) as { expiresAt: string };
    expect(Date.parse(byDefault.expiresAt) - now).toBeGreaterThan(118_000);
    // Minting needs credentials: not none, and not a link (its signature is for the recording's own path).
    expect((await get(`${origin}/recordings/${A}/link`)).status).toBe(401);
    const link = signRecordingUrl(A, { signer: links, expiresInSeconds: 60 });
    expect((await get(origin + link.replace(A, `${A}/link`))).status).toBe(403);
    const tooLong = await get(`${origin}/recordings/${A}/link?expires_in=3601`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect([tooLong.status, JSON.parse(tooLong.body.toString()).reason]).toEqual([
      400,
      'expires_in must be a whole number from 1 to 3600',
    ]);
  });

  it('counts the decisions in pbxkit_storage_http_auth_checks_total and the links handed out', async () => {
    const text = await registry.metrics();
    for (const result of [
      'bearer',
      'basic',
      'link',
      'missing',
      'bad_credentials',
      'bad_link',
      'expired_link',
    ]) {
      expect(text).toMatch(new RegExp(`pbxkit_storage_http_auth_checks_total\\{result="${result}"\\} [1-9]`));
    }
    expect(text).toMatch(/pbxkit_storage_links_signed_total 2/);
    expect(text).toMatch(/pbxkit_storage_http_requests_total\{method="GET",status="403"\} [1-9]/);
  });
});
