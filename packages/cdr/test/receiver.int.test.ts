import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '@pbxkit/core';
import { describe, expect, it } from 'vitest';
import { parseCdr } from '../src/parse/parse-cdr.js';
import { createCdrReceiver } from '../src/receiver/receiver.js';
import { CdrSpool } from '../src/spool/spool.js';
import { basic, httpRequest, makeCdr } from './dispatch-helpers.js';
import { allEncodings, capturedRequests } from './fixtures.js';
import { AUTH, PASS, start, track, USER } from './receiver-harness.js';

async function spooled(spool: CdrSpool) {
  const ids = await spool.pending();
  return Promise.all(ids.map(async (id) => (await spool.read(id))!));
}

describe('receiver over real HTTP', () => {
  it('stores every captured mod_xml_cdr request (exact headers and query) with its leg', async () => {
    const captured = capturedRequests();
    expect(captured.length).toBeGreaterThan(0);
    const { spool, base } = await start();
    for (const req of captured) {
      const headers: Record<string, string> = { ...req.headers, ...AUTH };
      delete headers.host;
      const answer = await httpRequest(`${base}${req.target}`, { headers, body: req.body });
      expect(answer.status, req.name).toBe(200);
    }
    const entries = await spooled(spool);
    expect(entries).toHaveLength(captured.length);
    for (const req of captured) {
      const expected = parseCdr(req.xml);
      const uuidParam = new URLSearchParams(req.target.split('?')[1]).get('uuid') ?? '';
      const entry = entries.find((e) => e.meta.uuidParam === uuidParam);
      expect(entry, req.name).toBeDefined();
      expect(entry?.uuid).toBe(expected.uuid);
      expect(entry?.xml).toBe(req.xml);
      expect(entry?.leg, req.name).toBe(uuidParam.startsWith('a_') ? 'a' : expected.leg);
      if (uuidParam.startsWith('a_')) expect(entry?.leg).toBe('a');
    }
  });

  it('accepts every encoding FreeSWITCH can post or write', async () => {
    const { spool, base } = await start();
    const cases = allEncodings(makeCdr().xml);
    const uuids: string[] = [];
    for (const c of cases) {
      const { uuid, xml } = makeCdr();
      const body = allEncodings(xml).find((e) => e.how === c.how)!;
      uuids.push(uuid);
      const headers: Record<string, string> = { ...AUTH, 'user-agent': 'freeswitch-xml/1.0' };
      if (body.contentType) headers['content-type'] = body.contentType;
      const answer = await httpRequest(`${base}/cdr?uuid=a_${uuid}`, { headers, body: body.body });
      expect(answer.status, c.how).toBe(200);
    }
    const entries = await spooled(spool);
    expect(entries.map((e) => e.uuid).sort()).toEqual([...uuids].sort());
    expect(entries.every((e) => e.leg === 'a')).toBe(true);
    expect(await spool.quarantined()).toEqual([]);
  });

  it('answers 401 with WWW-Authenticate to missing or wrong credentials and stores nothing', async () => {
    const { spool, base } = await start();
    const { xml } = makeCdr();
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: basic(USER, 'wrong') },
      { authorization: basic('x', PASS) },
      { authorization: 'Basic !!!' },
    ];
    for (const headers of attempts) {
      const answer = await httpRequest(`${base}/cdr`, {
        headers: { ...headers, 'content-type': 'text/xml' },
        body: xml,
      });
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Basic realm="pbxkit-cdr"');
    }
    expect(await spool.pending()).toEqual([]);
    expect(await spool.quarantined()).toEqual([]);
  });

  it('answers 413 past maxBodyBytes, by Content-Length and by counting streamed bytes', async () => {
    const { spool, base } = await start({ maxBodyBytes: 64 * 1024 });
    const big = makeCdr(randomUUID(), 200 * 1024).xml;
    const declared = await httpRequest(`${base}/cdr`, {
      headers: { ...AUTH, 'content-type': 'text/xml' },
      body: big,
    });
    expect(declared.status).toBe(413);

    // Chunked: no Content-Length to trust, the receiver counts.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${base}/cdr`,
        { method: 'POST', headers: { ...AUTH, 'content-type': 'text/xml', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < big.length; i += 8192) req.write(big.slice(i, i + 8192));
      req.end();
    });
    expect(streamed).toBe(413);
    // At the limit exactly, it is accepted.
    const fits = makeCdr(randomUUID(), 60 * 1024).xml;
    const ok = await httpRequest(`${base}/cdr`, {
      headers: { ...AUTH, 'content-type': 'text/xml' },
      body: fits,
    });
    expect(ok.status).toBe(200);
    expect(await spool.pending()).toHaveLength(1);
  });

  it('quarantines malformed and truncated bodies (raw, with the reason) and answers 200', async () => {
    const { spool, base, registry } = await start();
    const { uuid, xml } = makeCdr();
    const bodies = [
      { body: xml.slice(0, Math.floor(xml.length / 2)), type: 'text/xml', why: 'truncated XML' },
      { body: 'cdr=%ZZnot-a-cdr', type: 'application/x-www-form-urlencoded', why: 'bad % escape' },
      { body: '<html>nope</html>', type: 'text/xml', why: 'not a <cdr>' },
      { body: 'hello', type: 'application/octet-stream', why: 'unknown encoding' },
      { body: '', type: 'text/xml', why: 'empty' },
    ];
    for (const b of bodies) {
      const answer = await httpRequest(`${base}/cdr?uuid=a_${uuid}`, {
        headers: { ...AUTH, 'content-type': b.type },
        body: b.body,
      });
      expect(answer.status, b.why).toBe(200);
      expect(answer.body, b.why).toMatch(/^quarantined /);
    }
    expect(await spool.pending()).toEqual([]);
    const ids = await spool.quarantined();
    expect(ids).toHaveLength(bodies.length);
    for (const [i, id] of ids.entries()) {
      const dir = spool.quarantineDirectory;
      expect(existsSync(join(dir, `${id}.body`))).toBe(true);
      expect(readFileSync(join(dir, `${id}.body`), 'utf8')).toBe(bodies[i]?.body);
      const reason = JSON.parse(readFileSync(join(dir, `${id}.reason.json`), 'utf8'));
      expect(reason).toMatchObject({
        contentType: bodies[i]?.type,
        uuidParam: `a_${uuid}`,
        remoteAddress: '127.0.0.1',
      });
      expect(reason.reason).toEqual(expect.any(String));
      expect(['CDR_DECODE', 'CDR_PARSE']).toContain(reason.code);
    }
    const metrics = await registry.getMetricsAsJSON();
    const q = metrics.find((m) => m.name === 'pbxkit_cdr_receiver_quarantined_total');
    expect(q?.values.reduce((n, v) => n + v.value, 0)).toBe(bodies.length);
  });

  it('answers 405 to other methods, 404 to other paths', async () => {
    const { base } = await start();
    const get = await httpRequest(`${base}/cdr`, { method: 'GET', headers: AUTH });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    const put = await httpRequest(`${base}/cdr`, { method: 'PUT', headers: AUTH, body: 'x' });
    expect(put.status).toBe(405);
    const other = await httpRequest(`${base}/elsewhere`, { headers: AUTH, body: 'x' });
    expect(other.status).toBe(404);
  });

  it('calls next() for other paths when used as middleware', async () => {
    const spool = await CdrSpool.open({ dir: mkdtempSync(join(tmpdir(), 'pbxkit-receiver-')) });
    const handler = createCdrReceiver({ spool, path: '/fs/cdr' });
    const server = createServer((req, res) =>
      handler(req, res, () => {
        res.writeHead(418).end();
      }),
    );
    const { port } = await track(spool, server, new Registry());
    expect((await httpRequest(`http://127.0.0.1:${port}/other`, { body: 'x' })).status).toBe(418);
    const { xml } = makeCdr();
    const ok = await httpRequest(`http://127.0.0.1:${port}/fs/cdr?uuid=x`, {
      headers: { 'content-type': 'text/xml' },
      body: xml,
    });
    expect(ok.status).toBe(200);
  });

  it('answers 403 outside the CIDR allow-list (IPv4 and IPv6) and accepts inside it', async () => {
    const { xml } = makeCdr();
    const post = (base: string) =>
      httpRequest(`${base}/cdr`, { headers: { ...AUTH, 'content-type': 'text/xml' }, body: xml });

    const denied4 = await start({ allow: ['10.0.0.0/8', '2001:db8::/32'] });
    expect((await post(denied4.base)).status).toBe(403);
    expect(await denied4.spool.pending()).toEqual([]);
    const allowed4 = await start({ allow: ['10.0.0.0/8', '127.0.0.0/8'] });
    expect((await post(allowed4.base)).status).toBe(200);

    const denied6 = await start({ allow: ['127.0.0.0/8', 'fd00::/8'] }, '::1');
    expect((await post(denied6.base)).status).toBe(403);
    const allowed6 = await start({ allow: ['::1/128'] }, '::1');
    expect((await post(allowed6.base)).status).toBe(200);
    expect(() => createCdrReceiver({ spool: allowed6.spool, allow: ['not-an-ip/8'] })).toThrow(RangeError);
  });

  it('stores nothing from a client that disconnects mid-body, and keeps serving', async () => {
    const { spool, base, registry } = await start();
    const { xml } = makeCdr(randomUUID(), 200 * 1024);
    await new Promise<void>((resolve) => {
      const req = request(`${base}/cdr`, {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) },
      });
      req.on('error', () => resolve());
      req.write(xml.slice(0, 50_000), () => req.destroy());
    });
    const ok = await httpRequest(`${base}/cdr`, {
      headers: { ...AUTH, 'content-type': 'text/xml' },
      body: xml,
    });
    expect(ok.status).toBe(200);
    expect(await spool.pending()).toHaveLength(1);
    expect(await spool.quarantined()).toEqual([]);
    expect(await registry.getSingleMetricAsString('pbxkit_cdr_receiver_requests_total')).toContain(
      'status="200"} 1',
    );
  });

  it('answers 500 when the spool cannot store (so FreeSWITCH retries)', async () => {
    const { spool, base } = await start();
    await spool.close();
    const { xml } = makeCdr();
    const answer = await httpRequest(`${base}/cdr`, {
      headers: { ...AUTH, 'content-type': 'text/xml' },
      body: xml,
    });
    expect(answer.status).toBe(500);
  });

  it('answers 500 when the file system refuses the write (FreeSWITCH retries), leaving no temp file', async () => {
    const { spool, base } = await start();
    // A real failure of the file system: the directories are no longer directories (open → ENOTDIR).
    for (const d of ['segments', 'quarantine']) {
      rmSync(join(spool.dir, d), { recursive: true });
      writeFileSync(join(spool.dir, d), 'not a directory');
    }
    const { xml } = makeCdr();
    const good = await httpRequest(`${base}/cdr`, {
      headers: { ...AUTH, 'content-type': 'text/xml' },
      body: xml,
    });
    expect(good.status).toBe(500);
    const bad = await httpRequest(`${base}/cdr`, {
      headers: { ...AUTH, 'content-type': 'text/xml' },
      body: '<x',
    });
    expect(bad.status).toBe(500);
    expect(readdirSync(join(spool.dir, 'tmp'))).toEqual([]);
  });

  it('counts requests by status, body bytes and latency', async () => {
    const { base, registry } = await start();
    const { xml } = makeCdr();
    await httpRequest(`${base}/cdr`, { headers: { ...AUTH, 'content-type': 'text/xml' }, body: xml });
    await httpRequest(`${base}/cdr`, { headers: { 'content-type': 'text/xml' }, body: xml });
    const text = await registry.metrics();
    expect(text).toContain('pbxkit_cdr_receiver_requests_total{status="200"} 1');
    expect(text).toContain('pbxkit_cdr_receiver_requests_total{status="401"} 1');
    expect(text).toContain(`pbxkit_cdr_receiver_body_bytes_total ${Buffer.byteLength(xml)}`);
    expect(text).toContain('pbxkit_cdr_receiver_request_duration_seconds_count{status="200"} 1');
  });
});
