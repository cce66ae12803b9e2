import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { type Logger, Registry } from '@pbxkit/core';
import { describe, expect, it, vi } from 'vitest';
import { type CdrReceiverOptions, createCdrReceiver } from '../src/receiver/receiver.js';
import { CdrSpool } from '../src/spool/spool.js';
import { httpRequest, makeCdr } from './dispatch-helpers.js';
import { AUTH, metric, rawExchange, start, track } from './receiver-harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A request head as mod_xml_cdr sends it (plus `extra` header lines), for {@link rawExchange}. */
function postHead(length: number, extra: string[] = []): string {
  return [
    'POST /cdr?uuid=a_x HTTP/1.1',
    'Host: 127.0.0.1',
    'User-Agent: freeswitch-xml/1.0',
    'Content-Type: text/xml',
    `Content-Length: ${length}`,
    ...extra,
    '',
  ].join('\n');
}

/** POSTs `xml` over `node:http` in `pieces` writes, `gapMs` apart: a CDR crossing a slow link. */
function trickle(base: string, xml: string, pieces: number, gapMs: number) {
  return new Promise<{ status: number; ms: number }>((resolve, reject) => {
    const started = Date.now();
    const body = Buffer.from(xml);
    const req = request(
      `${base}/cdr`,
      { method: 'POST', headers: { ...AUTH, 'content-type': 'text/xml', 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started }));
      },
    );
    req.on('error', reject);
    void (async () => {
      const size = Math.ceil(body.length / pieces);
      for (let at = 0; at < body.length; at += size) {
        // The workload itself (a slow sender), not a wait for something to happen.
        if (at > 0) await delay(gapMs);
        req.write(body.subarray(at, at + size));
      }
      req.end();
    })();
  });
}

describe('receiver limits: stalled bodies', () => {
  it('cuts a body that stalls for bodyIdleTimeoutMs (408, connection closed) while a slower but steady body gets through', async () => {
    const idleMs = 1000;
    const { spool, base, port, registry } = await start({ bodyIdleTimeoutMs: idleMs });
    const steady = makeCdr(randomUUID(), 40 * KiB);
    const stalledXml = makeCdr(randomUUID(), 40 * KiB).xml;
    const authorization = `Authorization: ${AUTH.authorization}`;
    const [stalled, headersOnly, slow] = await Promise.all([
      // Declares the whole CDR, sends a tenth of it, then nothing.
      rawExchange(port, postHead(stalledXml.length, [authorization]), stalledXml.slice(0, 4096), 20_000),
      // Declares a body and sends none of it.
      rawExchange(port, postHead(stalledXml.length, [authorization]), '', 20_000),
      // 30 pieces 100 ms apart: three times the idle time in all, never idle for long.
      trickle(base, steady.xml, 30, 100),
    ]);
    for (const cut of [stalled, headersOnly]) {
      expect(cut.status).toBe(408);
      expect(cut.headers.connection).toBe('close');
      // About the idle time: not before it, and within a few seconds after it even on a loaded machine.
      expect(cut.closedAfterMs).toBeGreaterThanOrEqual(idleMs - 50);
      expect(cut.closedAfterMs).toBeLessThan(idleMs + 8000);
    }
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThan(2 * idleMs);
    const stored = await Promise.all((await spool.pending()).map((id) => spool.read(id)));
    expect(stored.map((e) => e?.uuid)).toEqual([steady.uuid]);
    expect(await spool.quarantined()).toEqual([]);
    expect(await metric(registry, 'pbxkit_cdr_receiver_requests_total', { status: '408' })).toBe(2);
    expect(await metric(registry, 'pbxkit_cdr_receiver_buffered_bytes')).toBe(0);
  });
});

describe('receiver limits: answers before the body', () => {
  it('answers unauthenticated posts without reading their bodies and closes the connection: nothing reaches memory or disk', async () => {
    const { spool, port, registry } = await start();
    const garbage = Buffer.alloc(64 * KiB, 'x');
    // Eight posts declaring 63 MiB of garbage each (the 507 MB quarantine seen on an unauthenticated server).
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        rawExchange(
          port,
          postHead(63 * MiB, i % 2 ? [] : ['Authorization: Basic Zm9vOmJhcg==']),
          garbage,
          10_000,
        ),
      ),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Basic realm="pbxkit-cdr"');
      expect(answer.headers.connection).toBe('close');
    }
    expect(await metric(registry, 'pbxkit_cdr_receiver_body_bytes_total')).toBe(0);
    expect(await spool.pending()).toEqual([]);
    expect(await spool.quarantined()).toEqual([]);
    expect(readdirSync(`${spool.dir}/tmp`)).toEqual([]);
  });

  it('closes the connection after 403, 405 and 413, so a client that stops sending holds nothing', async () => {
    const denied = await start({ allow: ['10.0.0.0/8'] });
    const open = await start({ maxBodyBytes: 64 * KiB });
    const authorization = `Authorization: ${AUTH.authorization}`;
    const cases = [
      { port: denied.port, head: postHead(MiB, [authorization]), status: 403 },
      { port: open.port, head: postHead(MiB, [authorization]).replace('POST', 'PUT'), status: 405 },
      { port: open.port, head: postHead(MiB, [authorization]), status: 413 },
    ];
    for (const c of cases) {
      const answer = await rawExchange(c.port, c.head, 'x'.repeat(1000), 10_000);
      expect(answer.status).toBe(c.status);
      expect(answer.headers.connection).toBe('close');
    }
  });
});

describe('receiver limits: memory of bodies', () => {
  it('refuses with 503 and Retry-After a body that does not fit in what other posts hold, before reading it or as it streams, and takes it once they are done', async () => {
    const { spool, base, port, registry } = await start({
      maxBodyBytes: 256 * KiB,
      maxBufferedBytes: 512 * KiB,
    });
    const held = () => metric(registry, 'pbxkit_cdr_receiver_buffered_bytes');
    const cdrs = Array.from({ length: 4 }, () => makeCdr(randomUUID(), 200 * KiB));
    const authorization = `Authorization: ${AUTH.authorization}`;
    // Two posts that have sent half their body: they hold their declared length until they are answered.
    const slow = cdrs.slice(0, 2).map((cdr) => {
      let finish = (): void => {};
      const answer = new Promise<number>((resolve, reject) => {
        const body = Buffer.from(cdr.xml);
        const req = request(
          `${base}/cdr`,
          { method: 'POST', headers: { ...AUTH, 'content-type': 'text/xml', 'content-length': body.length } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.write(body.subarray(0, body.length / 2));
        finish = () => req.end(body.subarray(body.length / 2));
      });
      return { answer, finish: () => finish() };
    });
    const reserved = cdrs.slice(0, 2).reduce((n, c) => n + Buffer.byteLength(c.xml), 0);
    await vi.waitFor(async () => expect(await held()).toBe(reserved), { timeout: 20_000, interval: 20 });

    // By Content-Length: refused at once, before a byte of the body is read.
    const declared = await rawExchange(
      port,
      postHead(Buffer.byteLength(cdrs[2]?.xml ?? ''), [authorization]),
      '',
      10_000,
    );
    expect(declared.status).toBe(503);
    expect(declared.headers['retry-after']).toBe('5');
    expect(declared.headers.connection).toBe('close');
    // Chunked (no length to reserve): refused when it goes past.
    const chunked = await new Promise<{ status: number; retryAfter: unknown }>((resolve) => {
      const req = request(
        `${base}/cdr`,
        { method: 'POST', headers: { ...AUTH, 'content-type': 'text/xml', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
        },
      );
      req.on('error', () => {}); // the server may close while the rest is still being written
      const xml = cdrs[3]?.xml ?? '';
      for (let at = 0; at < xml.length; at += 8 * KiB) req.write(xml.slice(at, at + 8 * KiB));
      req.end();
    });
    expect(chunked).toEqual({ status: 503, retryAfter: '5' });
    // A small CDR still fits beside the two.
    const small = makeCdr();
    const fits = await httpRequest(`${base}/cdr`, {
      headers: { ...AUTH, 'content-type': 'text/xml' },
      body: small.xml,
    });
    expect(fits.status).toBe(200);

    for (const s of slow) s.finish();
    expect(await Promise.all(slow.map((s) => s.answer))).toEqual([200, 200]);
    // What mod_xml_cdr does after a non-2xx: post again, `delay` seconds later.
    for (const cdr of cdrs.slice(2)) {
      const again = await httpRequest(`${base}/cdr`, {
        headers: { ...AUTH, 'content-type': 'text/xml' },
        body: cdr.xml,
      });
      expect(again.status).toBe(200);
    }
    const stored = await Promise.all((await spool.pending()).map((id) => spool.read(id)));
    expect(stored.map((e) => e?.uuid).sort()).toEqual([...cdrs.map((c) => c.uuid), small.uuid].sort());
    expect(await held()).toBe(0);
    expect(await metric(registry, 'pbxkit_cdr_receiver_requests_total', { status: '503' })).toBe(2);
  });

  it('refuses a budget smaller than the largest body', async () => {
    const { spool } = await start();
    expect(() => createCdrReceiver({ spool, maxBodyBytes: 2 * MiB, maxBufferedBytes: MiB })).toThrow(
      /maxBufferedBytes .* must be at least maxBodyBytes/,
    );
  });
});

/** A logger that keeps the messages of warnings and infos. */
function recordingLogger() {
  const lines: Array<{ level: string; msg: string }> = [];
  const at =
    (level: string) =>
    (objOrMsg: unknown, msg?: string): void => {
      lines.push({ level, msg: typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '') });
    };
  const logger: Logger = {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: () => logger,
  };
  return { logger, lines };
}

/** A spool that already holds quarantined bodies (from an earlier run), and a receiver started on it. */
async function withQuarantined(
  bodies: Array<{ bytes: number; ageMs: number }>,
  options: Partial<CdrReceiverOptions>,
) {
  const spool = await CdrSpool.open({ dir: mkdtempSync(join(tmpdir(), 'pbxkit-receiver-')) });
  const ids: string[] = [];
  for (const { bytes, ageMs } of bodies) {
    const id = await spool.quarantine({
      body: Buffer.alloc(bytes, 'q'),
      reason: 'earlier run',
      code: 'CDR_PARSE',
    });
    const then = new Date(Date.now() - ageMs);
    for (const ext of ['.body', '.reason.json'])
      utimesSync(join(spool.quarantineDirectory, id + ext), then, then);
    ids.push(id);
  }
  const registry = new Registry();
  const { logger, lines } = recordingLogger();
  const handler = createCdrReceiver({ spool, registry, logger, ...options });
  const h = await track(spool, createServer(handler), registry);
  const post = (body: string | Buffer) =>
    httpRequest(`${h.base}/cdr?uuid=a_${randomUUID()}`, { headers: { 'content-type': 'text/xml' }, body });
  return { ...h, ids, lines, post };
}

function directoryBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

describe('receiver limits: the quarantine', () => {
  it('keeps the quarantine under quarantine.maxBytes (what earlier runs left counts): past it a body that cannot be parsed gets 507, counted and logged, and nothing is written', async () => {
    const maxBytes = MiB;
    const q = await withQuarantined([{ bytes: 300 * KiB, ageMs: 3_600_000 }], { quarantine: { maxBytes } });
    const garbage = Buffer.alloc(300 * KiB, 'not a cdr ');
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await q.post(garbage)).status);
    expect(answers).toEqual([200, 200, 507, 507]);
    expect(await q.spool.quarantined()).toHaveLength(3);
    expect(directoryBytes(q.spool.quarantineDirectory)).toBeLessThanOrEqual(maxBytes);
    expect(readdirSync(join(q.spool.dir, 'tmp'))).toEqual([]);
    expect(await metric(q.registry, 'pbxkit_cdr_receiver_quarantine_refused_total', { reason: 'full' })).toBe(
      2,
    );
    expect(await metric(q.registry, 'pbxkit_cdr_receiver_quarantine_bytes')).toBe(
      directoryBytes(q.spool.quarantineDirectory),
    );
    expect(q.lines.filter((l) => l.level === 'warn' && /quarantine is full/.test(l.msg))).toHaveLength(2);
    // A CDR that parses is not held back by a full quarantine.
    expect((await q.post(makeCdr().xml)).status).toBe(200);
  });

  it('deletes quarantined bodies older than quarantine.maxAgeMs when the next one arrives, and counts them', async () => {
    const day = 24 * 3_600_000;
    const q = await withQuarantined(
      [
        { bytes: 10 * KiB, ageMs: 40 * day },
        { bytes: 10 * KiB, ageMs: 31 * day },
        { bytes: 10 * KiB, ageMs: 2 * day },
      ],
      { quarantine: { maxAgeMs: 30 * day } },
    );
    expect((await q.post('<html>not a cdr</html>')).status).toBe(200);
    const left = await q.spool.quarantined();
    expect(left).toHaveLength(2);
    expect(left[0]).toBe(q.ids[2]);
    expect(readdirSync(q.spool.quarantineDirectory)).toHaveLength(4); // .body and .reason.json of each
    expect(await metric(q.registry, 'pbxkit_cdr_receiver_quarantine_expired_total')).toBe(2);
    expect(await metric(q.registry, 'pbxkit_cdr_receiver_quarantine_bytes')).toBe(
      directoryBytes(q.spool.quarantineDirectory),
    );
  });
});
