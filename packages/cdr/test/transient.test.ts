import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Registry } from '@pbxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CdrDispatcher,
  type CdrDispatcherOptions,
  type CdrRecord,
  type CdrSink,
  CdrSinkUnavailableError,
  decodeCdrBody,
  HttpForwardSink,
  isTransientError,
  MongoCdrSink,
  PostgresCdrSink,
  parseCdr,
} from '../src/index.js';
import { CdrSpool } from '../src/spool/spool.js';
import { FlakySink, MemorySink, makeCdr } from './dispatch-helpers.js';
import { startCongoDb } from './mongo-server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openSpool(): Promise<CdrSpool> {
  const spool = await CdrSpool.open({ dir: mkdtempSync(join(tmpdir(), 'pbxkit-transient-')) });
  cleanups.push(() => spool.close());
  return spool;
}

function dispatcher(options: CdrDispatcherOptions): CdrDispatcher {
  const d = new CdrDispatcher(options);
  cleanups.push(() => d.stop());
  return d;
}

async function appendMany(spool: CdrSpool, cdrs: Array<{ uuid: string; xml: string }>): Promise<string[]> {
  const ids: string[] = [];
  for (const { uuid, xml } of cdrs) ids.push(await spool.append({ xml, uuid, leg: 'a' }));
  return ids;
}

/** A CDR PostgreSQL refuses for itself: a NUL byte in a text column (SQLSTATE 22021). */
function nulByteCdr(): { uuid: string; xml: string } {
  const { uuid, xml } = makeCdr();
  return {
    uuid,
    xml: xml.replace('<variables>\n', '<variables>\n    <accountcode>bad%00code</accountcode>\n'),
  };
}

/**
 * The outage every sink must survive: with the sink down, far more failed writes than `maxAttempts` go by and
 * nothing is dead-lettered; the sink is reported down; once it is back every CDR is stored and it is up again.
 */
async function survivesOutage(options: {
  sink: CdrSink;
  down(): Promise<void>;
  up(): Promise<void>;
  stored(): Promise<Iterable<string>>;
  failures?: number;
}): Promise<void> {
  const { sink } = options;
  const spool = await openSpool();
  const registry = new Registry();
  const maxAttempts = 2;
  const d = dispatcher({
    spool,
    sinks: [sink],
    batchSize: 4,
    retry: { minMs: 1, maxMs: 8, maxAttempts },
    registry,
  });
  const events: string[] = [];
  d.on('sinkDown', (name) => events.push(`down ${name}`));
  d.on('sinkUp', (name) => events.push(`up ${name}`));
  await d.start();
  await options.down();
  let failed = 0;
  const felt = new Promise<void>((resolve) => {
    d.on('retry', () => {
      if (++failed === (options.failures ?? maxAttempts * 5)) resolve();
    });
    d.on('deadLetter', () => resolve()); // must not happen: the assertion below says so at once
  });
  const cdrs = Array.from({ length: 10 }, () => makeCdr());
  await appendMany(spool, cdrs);
  await felt;
  expect(await spool.deadLetters(sink.name)).toEqual([]);
  const health = d.health();
  expect(health.status).toBe('degraded');
  expect(health.sinks[sink.name]).toMatchObject({ state: 'down', deadLettered: 0, depth: 10 });
  expect(health.sinks[sink.name]?.lastError?.transient).toBe(true);
  expect(await registry.metrics()).toMatch(
    new RegExp(`pbxkit_cdr_sink_down_seconds\\{sink="${sink.name}"\\} `),
  );

  await options.up();
  await d.drained();
  expect(new Set(await options.stored())).toEqual(new Set(cdrs.map((c) => c.uuid)));
  expect(await spool.deadLetters(sink.name)).toEqual([]);
  expect(await spool.pending()).toEqual([]);
  expect(d.health()).toMatchObject({
    status: 'ok',
    sinks: { [sink.name]: { state: 'up', consecutiveFailures: 0 } },
  });
  expect(events).toEqual([`down ${sink.name}`, `up ${sink.name}`]);
}

/** A store that answers `CdrSinkUnavailableError` while it is down (a sink of the user's, default classification). */
class OutageSink extends MemorySink {
  down = false;
  override async write(records: readonly CdrRecord[]): Promise<void> {
    if (this.down) throw new CdrSinkUnavailableError(`${this.name} is unreachable`);
    await super.write(records);
  }
}

/** An HTTP CDR service on a fixed port that can be taken down (port closed) and brought back. */
async function cdrService(): Promise<{
  url: string;
  uuids: string[];
  down(): Promise<void>;
  up(): Promise<void>;
}> {
  const uuids: string[] = [];
  let status = 200;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const xml = decodeCdrBody(Buffer.concat(chunks), req.headers['content-type']).xml;
      if (xml.includes('refuse-me')) status = 400;
      else uuids.push(parseCdr(xml).uuid);
      res.writeHead(status).end();
      status = 200;
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  cleanups.push(close);
  return {
    url: `http://127.0.0.1:${port}/cdr`,
    uuids,
    down: close,
    up: async () => {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
  };
}

describe('a sink that cannot be reached', () => {
  it('uses up no attempts, dead-letters nothing, is reported down, and gets everything when back (default classification)', async () => {
    const sink = new OutageSink('store');
    await survivesOutage({
      sink,
      down: async () => {
        sink.down = true;
      },
      up: async () => {
        sink.down = false;
      },
      stored: async () => sink.rows.keys(),
    });
  });

  it('HttpForwardSink: a CDR service whose port is closed, then open again', async () => {
    const service = await cdrService();
    const sink = new HttpForwardSink({ url: service.url, retry: { maxAttempts: 1, minMs: 1, maxMs: 2 } });
    cleanups.push(() => sink.close());
    await survivesOutage({ sink, down: service.down, up: service.up, stored: async () => service.uuids });
  });

  it('MongoCdrSink: a MongoDB-wire server stopped, then started again on its port', async () => {
    const server = await startCongoDb();
    cleanups.push(() => server.stop());
    const sink = new MongoCdrSink(
      { url: `${server.url}&serverSelectionTimeoutMS=300` },
      { database: 'outage' },
    );
    cleanups.push(() => sink.close());
    await sink.ensureIndexes();
    await survivesOutage({
      sink,
      down: server.stop,
      up: server.restart,
      stored: async () =>
        (await (await sink.collection()).find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id),
      failures: 4,
    });
  });
});

describe('a sink that fails in a way it does not call transient', () => {
  it('stays up, but health() says degraded while its writes fail and entries wait for it', async () => {
    const sink = new FlakySink('odd', 3);
    const spool = await openSpool();
    const d = dispatcher({ spool, sinks: [sink], retry: { minMs: 1, maxMs: 4, maxAttempts: 10 } });
    await d.start();
    let retries = 0;
    const failing = new Promise<void>((resolve) =>
      d.on('retry', () => {
        if (++retries === 2) resolve();
      }),
    );
    await appendMany(spool, [makeCdr()]);
    await failing;
    const health = d.health();
    expect(health.status).toBe('degraded');
    expect(health.sinks.odd).toMatchObject({ state: 'up', depth: 1, lastError: { transient: false } });
    expect(health.sinks.odd?.consecutiveFailures).toBeGreaterThanOrEqual(2);
    await d.drained();
    expect(d.health()).toMatchObject({ status: 'ok', sinks: { odd: { consecutiveFailures: 0, depth: 0 } } });
  });
});

describe('a record the sink refuses is dead-lettered after maxAttempts, alone: its batch-mates are stored', () => {
  // Two attempts and batches of eight: three halvings are needed to find the refused record, and only its own
  // refusals count (today's dispatcher counted every failed batch against all of its records).
  it('HttpForwardSink: a 400 for one CDR', async () => {
    const service = await cdrService();
    const sink = new HttpForwardSink({ url: service.url, retry: { maxAttempts: 1, minMs: 1, maxMs: 2 } });
    cleanups.push(() => sink.close());
    const spool = await openSpool();
    const d = dispatcher({
      spool,
      sinks: [sink],
      batchSize: 8,
      retry: { minMs: 1, maxMs: 4, maxAttempts: 2 },
    });
    const good = Array.from({ length: 7 }, () => makeCdr());
    const bad = makeCdr();
    bad.xml = bad.xml.replace('<variables>\n', '<variables>\n    <note>refuse-me</note>\n');
    const [badId] = await appendMany(spool, [bad, ...good]); // spooled before start: one batch of eight
    await d.start();
    await d.drained();
    expect(new Set(service.uuids)).toEqual(new Set(good.map((c) => c.uuid)));
    expect(await spool.deadLetters(sink.name)).toEqual([badId]);
    expect((await spool.readDeadLetter(sink.name, badId as string)).info.attempts).toBe(2);
    expect(d.health()).toMatchObject({
      status: 'ok',
      sinks: { [sink.name]: { state: 'up', deadLetters: 1 } },
    });
  });

  it('PostgresCdrSink on PGlite: a NUL byte in a text column (22021)', { timeout: 60_000 }, async () => {
    const db = await PGlite.create();
    const sink = new PostgresCdrSink({ pglite: db });
    cleanups.push(() => db.close());
    await sink.createSchema();
    const spool = await openSpool();
    const d = dispatcher({
      spool,
      sinks: [sink],
      batchSize: 8,
      retry: { minMs: 1, maxMs: 4, maxAttempts: 2 },
    });
    const good = Array.from({ length: 7 }, () => makeCdr());
    const [badId] = await appendMany(spool, [nulByteCdr(), ...good]); // spooled before start: one batch of eight
    await d.start();
    await d.drained();
    expect(await sink.count()).toBe(7);
    expect(await spool.deadLetters('postgres')).toEqual([badId]);
    const letter = await spool.readDeadLetter('postgres', badId as string);
    expect(letter.info).toMatchObject({ attempts: 2, error: { code: '22021' } });
  });
});

describe('the sinks tell an unreachable store from a refused record (real errors)', () => {
  const record = () => parseCdr(makeCdr().xml);
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail('the write should fail'),
      (err) => err,
    );

  it('PostgreSQL and PGlite', { timeout: 60_000 }, async () => {
    const refused = new PostgresCdrSink({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
    const noServer = await failure(refused.write([record()]));
    expect(noServer.code).toBe('ECONNREFUSED');
    expect(refused.isTransient(noServer)).toBe(true);
    await refused.close();

    const db = await PGlite.create();
    const sink = new PostgresCdrSink({ pglite: db });
    await sink.createSchema();
    const nul = await failure(sink.write([parseCdr(nulByteCdr().xml)]));
    expect(nul.code).toBe('22021');
    expect(sink.isTransient(nul)).toBe(false);
    // A table that is not there: the store is misconfigured, not the record; it is retried until fixed.
    const missing = await failure(
      new PostgresCdrSink({ pglite: db }, { schema: 'nowhere' }).write([record()]),
    );
    expect(missing.code).toMatch(/^(3F000|42P01)$/);
    expect(sink.isTransient(missing)).toBe(true);
    await db.close();
    const closed = await failure(sink.write([record()]));
    expect(closed.message).toBe('PGlite is closed');
    expect(sink.isTransient(closed)).toBe(true);
  });

  it('MongoDB', { timeout: 60_000 }, async () => {
    const unreachable = new MongoCdrSink({ url: 'mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100' });
    const noServer = await failure(unreachable.write([record()]));
    expect(noServer.name).toBe('MongoServerSelectionError');
    expect(unreachable.isTransient(noServer)).toBe(true);
    await unreachable.close();

    const server = await startCongoDb();
    cleanups.push(() => server.stop());
    const sink = new MongoCdrSink({ url: server.url }, { database: 'refusals' });
    cleanups.push(() => sink.close());
    // A document far over MongoDB's 16 MiB: the driver cannot serialise it, for this document alone.
    const huge = await failure(sink.write([parseCdr(makeCdr(undefined, 24 * 1024 * 1024).xml)]));
    expect(huge).toBeInstanceOf(RangeError);
    expect(sink.isTransient(huge)).toBe(false);
  });

  it('the default: Node network errors, also as a cause, and CdrSinkUnavailableError', async () => {
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await failure(fetch(`http://127.0.0.1:${port}/`));
    expect(isTransientError(refused)).toBe(true); // fetch puts ECONNREFUSED in `cause`
    expect(isTransientError(new CdrSinkUnavailableError('down'))).toBe(true);
    expect(isTransientError(new Error('value too long for column'))).toBe(false);
  });
});
