import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { it as baseIt, describe, expect } from 'vitest';
import {
  type CdrRecord,
  decodeCdrBody,
  HttpForwardError,
  type HttpForwardFormat,
  HttpForwardSink,
  parseCdr,
} from '../src/index.js';
import { cdrDocuments } from './fixtures.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Handler = (req: Received, res: ServerResponse, n: number) => void;

/**
 * The receiving end of one test: its own `node:http` server, what it received, and how it answers (200 unless
 * the test sets `handler`). Each test gets a new one, closed after it, so a test that ran out of time and is
 * still posting cannot add to the next test's requests.
 */
interface Target {
  base: string;
  received: Received[];
  handler: Handler;
  /** Most requests in progress at once. */
  maxInFlight: number;
}

const it = baseIt.extend<{ target: Target }>({
  // biome-ignore lint/correctness/noEmptyPattern: Vitest reads the fixtures a fixture uses from this pattern.
  target: async ({}, use) => {
    let inFlight = 0;
    const target: Target = {
      base: '',
      received: [],
      handler: (_req, res) => res.writeHead(200).end('ok'),
      maxInFlight: 0,
    };
    const server = createServer((req, res) => {
      inFlight++;
      target.maxInFlight = Math.max(target.maxInFlight, inFlight);
      res.on('close', () => inFlight--);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        target.received.push(r);
        target.handler(r, res, target.received.length);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    target.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await use(target);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  },
});

const fast = { minMs: 5, maxMs: 50 };

function records(): CdrRecord[] {
  return cdrDocuments()
    .filter((d) => !d.name.startsWith('urldecoded-'))
    .map((d) => parseCdr(d.xml));
}

function syntheticRecord(uuid: string, leg: 'a' | 'b' = 'a'): CdrRecord {
  return parseCdr(
    `<?xml version="1.0"?>\n<cdr><variables><uuid>${uuid}</uuid><x>a%26b%3Cc+d%25</x></variables></cdr>`,
    { leg },
  );
}

describe('HttpForwardSink', () => {
  const expectedType: Record<HttpForwardFormat, string> = {
    form: 'application/x-www-form-urlencoded',
    'text-xml': 'text/xml',
    xml: 'application/xml',
  };

  for (const format of ['form', 'text-xml', 'xml'] as const) {
    it(`posts every fixture as FreeSWITCH would with format ${format}`, async ({ target }) => {
      const { base, received } = target;
      const all = records();
      const sink = new HttpForwardSink({ url: `${base}/cdr`, format, retry: fast });
      await sink.write(all);
      const uuids = new Set(all.map((r) => r.uuid));
      expect(received.length).toBe(uuids.size);
      for (const record of all) {
        const id = record.leg === 'a' ? `a_${record.uuid}` : record.uuid;
        const req = received.find((r) => r.url === `/cdr?uuid=${id}`);
        if (!req) throw new Error(`no request for ${id}`);
        expect(req.method).toBe('POST');
        expect(req.headers['content-type']).toBe(expectedType[format]);
        expect(req.headers['user-agent']).toBe('freeswitch-xml/1.0');
        expect(Number(req.headers['content-length'])).toBe(req.body.length);
        if (format === 'form') expect(req.body.toString('latin1')).toMatch(/^cdr=%3C%3Fxml/);
        const decoded = decodeCdrBody(req.body, req.headers['content-type']);
        expect(decoded.xml).toBe(record.xml);
        const reparsed = parseCdr(decoded.xml, { leg: record.leg });
        expect(reparsed.uuid).toBe(record.uuid);
        expect({ ...reparsed.variables }).toEqual({ ...record.variables });
      }
    });
  }

  it('prepare() keeps only uuid, leg and XML; writePrepared() forwards them exactly as write() would', async ({
    target,
  }) => {
    const { base, received } = target;
    const all = records();
    const sink = new HttpForwardSink({ url: `${base}/cdr`, format: 'xml', retry: fast });
    const prepared = all.map((r) => sink.prepare(r));
    expect(Object.keys(prepared[0]?.item ?? {}).sort()).toEqual(['leg', 'uuid', 'xml']);
    await sink.writePrepared(prepared.map((p) => p.item));
    for (const record of all) {
      const id = record.leg === 'a' ? `a_${record.uuid}` : record.uuid;
      const req = received.find((r) => r.url === `/cdr?uuid=${id}`);
      expect(req?.body.toString('utf8'), id).toBe(record.xml);
    }
  });

  it('keeps & % < + inside values intact through the form encoding', async ({ target }) => {
    const { base, received } = target;
    const record = syntheticRecord('11111111-0000-0000-0000-000000000001', 'b');
    await new HttpForwardSink({ url: `${base}/cdr`, format: 'form', retry: fast }).write([record]);
    const [req] = received;
    expect(req?.url).toBe(`/cdr?uuid=${record.uuid}`);
    const decoded = decodeCdrBody(req?.body ?? '', req?.headers['content-type']);
    expect(decoded.encoding).toBe('urlencoded');
    expect(parseCdr(decoded.xml).variables.x).toBe('a&b<c+d%');
  });

  // 1.4 s on the idle 2-core machine, 16-22 s at load 10-13 (eight busy processes besides the tests).
  it('posts a 5 MB CDR in each format', { timeout: 90_000 }, async ({ target }) => {
    const { base, received } = target;
    const pads = Array.from({ length: 60_000 }, (_, i) => `<pad_${i}>${'x%25'.repeat(20)}</pad_${i}>`).join(
      '',
    );
    const record = parseCdr(
      `<?xml version="1.0"?>\n<cdr><variables><uuid>66666666-0000-0000-0000-000000000001</uuid>${pads}</variables></cdr>`,
    );
    expect(record.xml.length).toBeGreaterThan(5_000_000);
    for (const format of ['form', 'text-xml', 'xml'] as const) {
      received.length = 0;
      await new HttpForwardSink({ url: `${base}/cdr`, format, retry: fast }).write([record]);
      const [req] = received;
      expect(decodeCdrBody(req?.body ?? '', req?.headers['content-type']).xml).toBe(record.xml);
    }
  });

  it('appends &uuid= to a URL with a query, and can leave the a_ prefix out', async ({ target }) => {
    const { base, received } = target;
    const record = syntheticRecord('11111111-0000-0000-0000-000000000002', 'a');
    await new HttpForwardSink({ url: `${base}/cdr?record_type=call`, retry: fast }).write([record]);
    await new HttpForwardSink({ url: `${base}/cdr`, prefixALeg: false, retry: fast }).write([record]);
    expect(received.map((r) => r.url)).toEqual([
      `/cdr?record_type=call&uuid=a_${record.uuid}`,
      `/cdr?uuid=${record.uuid}`,
    ]);
  });

  it('sends Basic credentials (cred form, object, or in the URL) and extra headers', async ({ target }) => {
    const { base, received } = target;
    const record = syntheticRecord('11111111-0000-0000-0000-000000000003');
    const basic = (pair: string) => `Basic ${Buffer.from(pair).toString('base64')}`;
    await new HttpForwardSink({
      url: `${base}/cdr`,
      credentials: 'fs:s3cr:et',
      headers: { 'X-Tenant': 'acme', 'User-Agent': 'pbxkit-test' },
    }).write([record]);
    await new HttpForwardSink({ url: `${base}/cdr`, credentials: { username: 'u', password: 'p w' } }).write([
      record,
    ]);
    await new HttpForwardSink({ url: `${base.replace('http://', 'http://us%40er:pa%3Ass@')}/cdr` }).write([
      record,
    ]);
    expect(received.map((r) => r.headers.authorization)).toEqual([
      basic('fs:s3cr:et'),
      basic('u:p w'),
      basic('us@er:pa:ss'),
    ]);
    expect(received[0]?.headers['x-tenant']).toBe('acme');
    expect(received[0]?.headers['user-agent']).toBe('pbxkit-test');
    expect(received[2]?.url).toBe(`/cdr?uuid=a_${record.uuid}`);
  });

  it('retries a 5xx and a 429 and delivers once', async ({ target }) => {
    const { base, received } = target;
    target.handler = (_req, res, n) => {
      if (n === 1) res.writeHead(503).end('busy');
      else if (n === 2) res.writeHead(429, { 'retry-after': '0' }).end();
      else res.writeHead(201).end();
    };
    const record = syntheticRecord('11111111-0000-0000-0000-000000000004');
    const sink = new HttpForwardSink({ url: `${base}/cdr`, retry: fast });
    await sink.write([record]);
    expect(received.length).toBe(3);
    expect(new Set(received.map((r) => r.body.toString())).size).toBe(1);
    // delivered: writing the same batch again (the dispatcher's retry) posts nothing
    await sink.write([record]);
    expect(received.length).toBe(3);
  });

  it('rejects a 4xx at once with a permanent HttpForwardError', async ({ target }) => {
    const { base, received } = target;
    target.handler = (_req, res) => res.writeHead(400).end('bad cdr');
    const record = syntheticRecord('11111111-0000-0000-0000-000000000005');
    const err = await new HttpForwardSink({ url: `${base}/cdr`, retry: fast })
      .write([record])
      .catch((e) => e);
    expect(err).toBeInstanceOf(HttpForwardError);
    expect(err).toMatchObject({
      code: 'CDR_FORWARD_REJECTED',
      permanent: true,
      status: 400,
      uuid: record.uuid,
    });
    expect(err.message).toContain('bad cdr');
    expect(received.length).toBe(1);
  });

  it('treats a redirect as permanent (a POST must not silently become a GET)', async ({ target }) => {
    const { base, received } = target;
    target.handler = (_req, res) => res.writeHead(302, { location: '/elsewhere' }).end();
    const err = await new HttpForwardSink({ url: `${base}/cdr`, retry: fast })
      .write([syntheticRecord('11111111-0000-0000-0000-000000000006')])
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'CDR_FORWARD_REJECTED', permanent: true, status: 302 });
    expect(received.length).toBe(1);
  });

  it('gives up after maxAttempts of 5xx with a transient error', async ({ target }) => {
    const { base, received } = target;
    target.handler = (_req, res) => res.writeHead(500).end();
    const err = await new HttpForwardSink({ url: `${base}/cdr`, retry: { ...fast, maxAttempts: 3 } })
      .write([syntheticRecord('11111111-0000-0000-0000-000000000007')])
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'CDR_FORWARD_FAILED', permanent: false, status: 500, attempts: 3 });
    expect(received.length).toBe(3);
  });

  it('times out a request that gets no answer, retrying it, with a typed error', async ({ target }) => {
    const { base, received } = target;
    target.handler = () => {}; // never answers
    const started = Date.now();
    const err = await new HttpForwardSink({
      url: `${base}/cdr`,
      timeoutMs: 150,
      retry: { ...fast, maxAttempts: 2 },
    })
      .write([syntheticRecord('11111111-0000-0000-0000-000000000008')])
      .catch((e) => e);
    expect(err).toBeInstanceOf(HttpForwardError);
    expect(err).toMatchObject({ code: 'CDR_FORWARD_TIMEOUT', permanent: false, attempts: 2 });
    expect(received.length).toBe(2);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('retries when nothing listens, then fails with a transient error', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await new HttpForwardSink({
      url: `http://127.0.0.1:${port}/cdr`,
      retry: { ...fast, maxAttempts: 2 },
    })
      .write([syntheticRecord('11111111-0000-0000-0000-000000000009')])
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'CDR_FORWARD_FAILED', permanent: false, attempts: 2 });
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('keeps at most `concurrency` requests in flight across writes', async ({ target }) => {
    const { base, received } = target;
    target.handler = (_req, res) => setTimeout(() => res.writeHead(200).end(), 30);
    const sink = new HttpForwardSink({ url: `${base}/cdr`, concurrency: 3, retry: fast });
    const batch = (from: number) =>
      Array.from({ length: 6 }, (_, i) =>
        syntheticRecord(`22222222-0000-0000-0000-${String(from + i).padStart(12, '0')}`),
      );
    await Promise.all([sink.write(batch(0)), sink.write(batch(100))]);
    expect(received.length).toBe(12);
    expect(target.maxInFlight).toBe(3);
  });

  it('fails a batch with the CDRs that failed, and re-posts only those when the batch is retried', async ({
    target,
  }) => {
    const { base, received } = target;
    const bad = '33333333-0000-0000-0000-000000000002';
    target.handler = (req, res) => res.writeHead(req.url?.includes(bad) ? 422 : 200).end();
    const batch = ['33333333-0000-0000-0000-000000000001', bad, '33333333-0000-0000-0000-000000000003'].map(
      (u) => syntheticRecord(u),
    );
    const sink = new HttpForwardSink({ url: `${base}/cdr`, retry: fast });
    const err = await sink.write(batch).catch((e) => e);
    expect(err).toMatchObject({ code: 'CDR_FORWARD_REJECTED', permanent: true, uuid: bad });
    expect(err.failures.map((f: HttpForwardError) => f.uuid)).toEqual([bad]);
    expect(received.length).toBe(3);
    target.handler = (_req, res) => res.writeHead(200).end();
    await sink.write(batch);
    expect(received.length).toBe(4);
    expect(received[3]?.url).toContain(bad);
  });

  it('a batch with permanent and transient failures is not permanent', async ({ target }) => {
    const { base } = target;
    const rejected = '44444444-0000-0000-0000-000000000001';
    target.handler = (req, res) => res.writeHead(req.url?.includes(rejected) ? 403 : 502).end();
    const err = await new HttpForwardSink({ url: `${base}/cdr`, retry: { ...fast, maxAttempts: 2 } })
      .write([syntheticRecord(rejected), syntheticRecord('44444444-0000-0000-0000-000000000002')])
      .catch((e) => e);
    expect(err).toBeInstanceOf(HttpForwardError);
    expect(err.permanent).toBe(false);
    expect(err.failures).toHaveLength(2);
  });

  it('close() ends requests in flight with CDR_FORWARD_CLOSED', async ({ target }) => {
    const { base } = target;
    const arrived = new Promise<void>((resolve) => {
      target.handler = () => resolve(); // and never answer
    });
    const sink = new HttpForwardSink({ url: `${base}/cdr`, timeoutMs: 10_000, retry: fast });
    const pending = sink.write([syntheticRecord('55555555-0000-0000-0000-000000000001')]).catch((e) => e);
    await arrived;
    await sink.close();
    expect(await pending).toMatchObject({ code: 'CDR_FORWARD_CLOSED' });
  });

  it('refuses an unknown format', () => {
    expect(() => new HttpForwardSink({ url: 'http://127.0.0.1/cdr', format: 'json' as never })).toThrow(
      RangeError,
    );
  });
});
