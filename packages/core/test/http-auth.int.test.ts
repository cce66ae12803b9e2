import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogger } from '../../../scripts/test-observe.js';
import { HttpAuth, UrlSigner } from '../src/index.js';

const TOKEN = 'prometheus-token-0123456789abcdefghijklmn';
const PASSWORD = 'operator-password-0123456789-abcdefghij';
const LINK_SECRET = 'link-secret-for-tests-0123456789abcdef';

/** An operator endpoint (here a stand-in for `/metrics`) behind HttpAuth, on loopback. */
describe('HttpAuth guarding an operator endpoint over real HTTP', () => {
  let base: string;
  let server: http.Server;
  let now = Date.now();
  const registry = new Registry();
  const { logger, lines } = captureLogger();
  const links = new UrlSigner({ secret: LINK_SECRET, maxLifetimeSeconds: 600, clock: () => now });
  const auth = new HttpAuth({
    bearerTokens: [TOKEN],
    basicUsers: { ops: PASSWORD },
    links,
    realm: 'pbx-a',
    registry,
    logger,
  });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (!auth.guard(req, res)) return;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('pbxkit_up 1\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`${base}${path}`, { headers, method });

  it('answers 401 with a challenge per scheme to a request without credentials, and lets operators in', async () => {
    const none = await get('/metrics');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(
      'Basic realm="pbx-a", charset="UTF-8", Bearer realm="pbx-a"',
    );
    expect(none.headers.get('cache-control')).toBe('no-store');
    expect(await none.json()).toEqual({ error: 'unauthorized' });
    const bearer = await get('/metrics', { authorization: `Bearer ${TOKEN}` });
    expect([bearer.status, await bearer.text()]).toEqual([200, 'pbxkit_up 1\n']);
    const basic = await get('/metrics', {
      authorization: `Basic ${Buffer.from(`ops:${PASSWORD}`).toString('base64')}`,
    });
    expect(basic.status).toBe(200);
  });

  it('a wrong token is a 401 saying invalid_token; a wrong password a 401 too (the browser asks again)', async () => {
    const token = await get('/metrics', { authorization: `Bearer ${TOKEN}x` });
    expect(token.status).toBe(401);
    expect(token.headers.get('www-authenticate')).toContain('Bearer realm="pbx-a", error="invalid_token"');
    const password = await get('/metrics', {
      authorization: `Basic ${Buffer.from(`ops:${PASSWORD}x`).toString('base64')}`,
    });
    expect(password.status).toBe(401);
    const head = await get('/metrics', {}, 'HEAD');
    expect([head.status, head.headers.get('content-length')]).toEqual([401, '24']);
  });

  it('a signed link opens exactly its path until it expires; a wrong or expired one is a bare 403', async () => {
    now = Date.now();
    const link = links.sign('/metrics', { expiresInSeconds: 60 });
    expect((await get(link)).status).toBe(200);
    for (const bad of [
      link.replace('/metrics', '/other'),
      `${link}&extra=1`,
      link.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`),
    ]) {
      const r = await get(bad);
      expect(r.status, bad).toBe(403);
      expect(r.headers.get('www-authenticate')).toBeNull();
      expect(r.headers.get('content-length')).toBe('0');
      expect(await r.text()).toBe('');
    }
    now += 61_000;
    const expired = await get(link);
    expect([expired.status, await expired.text()]).toEqual([403, '']);
  });

  it('counts every decision, and logs refusals without the query (a link is a credential)', async () => {
    const text = await registry.metrics();
    expect(text).toMatch(/pbxkit_core_http_auth_checks_total\{result="bearer"\} [1-9]/);
    expect(text).toMatch(/pbxkit_core_http_auth_checks_total\{result="basic"\} [1-9]/);
    expect(text).toMatch(/pbxkit_core_http_auth_checks_total\{result="link"\} [1-9]/);
    expect(text).toMatch(/pbxkit_core_http_auth_checks_total\{result="missing"\} [1-9]/);
    expect(text).toMatch(/pbxkit_core_http_auth_checks_total\{result="bad_credentials"\} [1-9]/);
    expect(text).toMatch(/pbxkit_core_http_auth_checks_total\{result="bad_link"\} 3/);
    expect(text).toMatch(/pbxkit_core_http_auth_checks_total\{result="expired_link"\} 1/);
    const refused = lines.filter((l) => l.msg === 'request refused');
    expect(refused.length).toBeGreaterThan(0);
    for (const l of refused) expect(JSON.stringify(l.fields)).not.toMatch(/sig=|expires=/);
    expect(refused.find((l) => l.fields.failure === 'bad_link')?.fields).toMatchObject({
      path: '/other',
      link: 'forged',
      remote: '127.0.0.1',
    });
  });
});
