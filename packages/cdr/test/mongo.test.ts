import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, it as baseIt, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type CdrRecord,
  documentVariables,
  MONGO_CDR_INDEXES,
  MongoCdrSink,
  parseCdr,
} from '../src/index.js';
import { decodeFieldName, encodeFieldName } from '../src/sinks/mongo-document.js';
import { cdrDocuments } from './fixtures.js';
import { startCongoDb } from './mongo-server.js';

/** A small synthetic CDR: enough for a document, with the start time and variables a test needs. */
function syntheticCdr(
  opts: { uuid?: string; start?: Date; domain?: string; extra?: Record<string, string> } = {},
) {
  const uuid = opts.uuid ?? randomUUID();
  const startUs = (opts.start ?? new Date('2026-11-01T10:00:00Z')).getTime() * 1000;
  const endUs = startUs + 42_000_000;
  const extra = Object.entries(opts.extra ?? {})
    .map(([k, v]) => `<${k}>${encodeURIComponent(v)}</${k}>`)
    .join('');
  return `<?xml version="1.0"?>
<cdr core-uuid="11111111-2222-3333-4444-555555555555" switchname="sw1"><channel_data><state>CS_REPORTING</state><direction>inbound</direction></channel_data><variables><uuid>${uuid}</uuid><domain_name>${opts.domain ?? 'pbx.example.com'}</domain_name><start_uepoch>${startUs}</start_uepoch><end_uepoch>${endUs}</end_uepoch><duration>42</duration><billsec>0</billsec><caller_id_number>0044123</caller_id_number>${extra}</variables><app_log><application app_name="hangup" app_data="" app_stamp="${endUs}"></application></app_log><callflow dialplan="XML" profile_index="1"><extension name="x" number="7100"><application app_name="bridge" app_data="user/7100"></application></extension><caller_profile><destination_number>7100</destination_number><uuid>${uuid}</uuid></caller_profile><times><created_time>${startUs}</created_time><hangup_time>${endUs}</hangup_time></times></callflow></cdr>`;
}

/**
 * The connection string with its database path replaced by `database`. Credentials keep authenticating where
 * they did: the database path is also the default `authSource`, so the original one is made explicit.
 */
function withDatabase(url: string, database: string): string {
  const q = url.indexOf('?');
  const head = q === -1 ? url : url.slice(0, q);
  const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  const hostsStart = head.indexOf('://') + 3;
  const slash = head.indexOf('/', hostsStart);
  const hosts = slash === -1 ? head : head.slice(0, slash);
  const original = slash === -1 ? '' : head.slice(slash + 1);
  if (hosts.slice(hostsStart).includes('@') && !params.has('authSource'))
    params.set('authSource', original || 'admin');
  const query = params.toString();
  return `${hosts}/${database}${query ? `?${query}` : ''}`;
}

function fixtureRecords(): Array<{ name: string; record: CdrRecord }> {
  return cdrDocuments().map(({ name, xml }) => ({ name, record: parseCdr(xml) }));
}

/** The same suite against any MongoDB-wire server: `connect` gives a fresh database for each test. */
function mongoSuite(label: string, server: () => Promise<{ url: string; stop(): Promise<void> }>) {
  describe(`MongoCdrSink on ${label}`, () => {
    let url: string;
    let stopServer: () => Promise<void>;
    let client: MongoClient;
    /**
     * Each test's own sink on a database of its own, dropped after it: a test that ran out of time and is
     * still writing keeps writing to its own sink, not to the next test's.
     */
    const it = baseIt.extend<{ sink: MongoCdrSink }>({
      // biome-ignore lint/correctness/noEmptyPattern: Vitest reads the fixtures a fixture uses from this pattern.
      sink: async ({}, use) => {
        const database = `pbxkit_cdr_test_${randomUUID().slice(0, 8)}`;
        const sink = new MongoCdrSink({ client }, { database, collection: 'cdr' });
        // CongoDB indexes only the documents present when an index is created: create them on the empty collection.
        await sink.ensureIndexes();
        await use(sink);
        await client.db(database).dropDatabase();
      },
    });

    beforeAll(async () => {
      const started = await server();
      url = started.url;
      stopServer = started.stop;
      client = new MongoClient(url);
      await client.connect();
    });

    afterAll(async () => {
      await client?.close();
      await stopServer?.();
    });

    // 0.13 s idle, 3.5 s at load 15-17: close to the 5 s default.
    it('stores every real fixture, one document per leg, with the mod_cdr_mongodb shape', {
      timeout: 30_000,
    }, async ({ sink }) => {
      const fixtures = fixtureRecords();
      expect(fixtures.length).toBeGreaterThanOrEqual(10);
      await sink.write(fixtures.map((f) => f.record));
      const uuids = new Set(fixtures.map((f) => f.record.uuid));
      expect(await sink.count()).toBe(uuids.size);
      for (const { name, record } of fixtures) {
        const doc = await sink.get(record.uuid);
        if (!doc) throw new Error(`${name}: not stored`);
        expect(doc._id, name).toBe(record.uuid);
        expect(doc.leg, name).toBe(record.leg);
        expect(documentVariables(doc), name).toEqual({ ...record.variables });
        expect(doc.start_stamp, name).toEqual(record.startedAt ?? null);
        expect(doc.end_stamp, name).toEqual(record.endedAt ?? null);
        expect(doc.answer_stamp, name).toEqual(record.answeredAt ?? null);
        expect(typeof doc.duration, name).toBe('number');
        expect(typeof doc.billsec, name).toBe('number');
        expect(doc.domain_name, name).toBe(record.variables.domain_name || null);
        expect(doc.switchname, name).toBe(record.switchname ?? null);
        expect(doc.core_uuid, name).toBe(record.coreUuid ?? null);
        expect(
          doc.app_log.map((a) => a.app_name),
          name,
        ).toEqual(record.appLog.map((a) => a.name));
        expect(
          doc.app_log.map((a) => a.app_stamp),
          name,
        ).toEqual(record.appLog.map((a) => a.stamp));
        expect(doc.callflow.length, name).toBe(record.callflows.length);
        for (const [i, cf] of record.callflows.entries()) {
          expect(doc.callflow[i]?.times, name).toEqual(cf.times);
          expect(doc.callflow[i]?.profile_index, name).toBe(cf.profileIndex);
          expect(doc.callflow[i]?.caller_profile.destination_number, name).toBe(
            cf.callerProfile.destination_number,
          );
        }
        expect(doc.stored_at).toBeInstanceOf(Date);
        expect(doc.xml).toBeUndefined();
      }
      const chain = fixtures.find((f) => f.name.includes('transfer-chain'))?.record;
      const chainDoc = chain && (await sink.get(chain.uuid));
      expect(chainDoc?.callflow.map((c) => c.profile_index)).toEqual([5, 4, 3, 2, 1]);
      expect(chainDoc?.callflow[0]?.times.hangup_time).toBe(1795418958486221);
    });

    // 2.0 s on the idle 2-core machine, 11-23 s at load 10-13 (eight busy processes besides the tests).
    it('stores a 5 MB CDR', { timeout: 90_000 }, async ({ sink }) => {
      const pads = Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`pad_${i}`, 'x'.repeat(80)]));
      const record = parseCdr(syntheticCdr({ extra: pads }));
      expect(record.xml.length).toBeGreaterThan(5_000_000);
      await sink.write([record]);
      const doc = await sink.get(record.uuid);
      expect(Object.keys(doc?.variables ?? {}).length).toBe(Object.keys(record.variables).length);
      expect(doc?.variables.pad_59999).toBe('x'.repeat(80));
    });

    it('stores a CDR posted twice once, keeping the first copy', async ({ sink }) => {
      const uuid = randomUUID();
      const first = parseCdr(syntheticCdr({ uuid, extra: { note: 'first' } }));
      const second = parseCdr(syntheticCdr({ uuid, extra: { note: 'second' } }));
      await sink.write([first]);
      await sink.write([first]);
      await sink.write([second]);
      expect(await sink.count()).toBe(1);
      expect((await sink.get(uuid))?.variables.note).toBe('first');
    });

    it('stores a batch that repeats a uuid without failing it', async ({ sink }) => {
      const a = parseCdr(syntheticCdr());
      const b = parseCdr(syntheticCdr());
      await sink.write([a, b, a, parseCdr(a.xml), b]);
      expect(await sink.count()).toBe(2);
      // and the whole batch again, as the dispatcher does after a failure it cannot attribute
      await sink.write([a, b, a]);
      expect(await sink.count()).toBe(2);
    });

    it('keeps variable names MongoDB rejects, escaped reversibly; values stay strings', async ({ sink }) => {
      const record = parseCdr(
        syntheticCdr({ extra: { 'sip_h_X-a.b': 'v1', $weird: 'v2', 'pct%name': 'v3' } }),
      );
      // Names the XML cannot carry: set them on the record as a parser of the future might.
      record.variables['dotted.name.x'] = '1.5';
      record.variables.__proto__name = 'p';
      Object.defineProperty(record.variables, '__proto__', { value: 'proto', enumerable: true });
      await sink.write([record]);
      const doc = await sink.get(record.uuid);
      if (!doc) throw new Error('not stored');
      expect(Object.keys(doc.variables)).toContain('sip_h_X-a%2Eb');
      expect(Object.keys(doc.variables)).toContain('%24weird');
      expect(Object.keys(doc.variables)).toContain('pct%25name');
      expect(Object.keys(doc.variables)).toContain('__proto__');
      expect(Object.getOwnPropertyDescriptor(documentVariables(doc), '__proto__')?.value).toBe('proto');
      expect(documentVariables(doc)).toEqual({ ...record.variables });
      expect(doc.variables.caller_id_number).toBe('0044123');
      expect(doc.caller_id_number).toBe('0044123');
      const found = await (await sink.collection()).findOne({ 'variables.sip_h_X-a%2Eb': 'v1' });
      expect(found?._id).toBe(record.uuid);
    });

    it('purges CDRs that started before the cutoff, in batches of batchSize', async ({ sink }) => {
      const day = 86_400_000;
      const base = Date.parse('2026-11-20T00:00:00Z');
      const records = Array.from({ length: 23 }, (_, i) =>
        parseCdr(syntheticCdr({ start: new Date(base - i * day) })),
      );
      await sink.write(records);
      const deleteMany = vi.spyOn(await sink.collection(), 'deleteMany');
      const cutoff = new Date(base - 9.5 * day); // i = 10..22 are older: 13 CDRs
      expect(await sink.purgeOlderThan(cutoff, { batchSize: 4 })).toBe(13);
      expect(deleteMany).toHaveBeenCalledTimes(4); // 4 + 4 + 4 + 1
      for (const call of deleteMany.mock.calls) {
        const filter = call[0] as { _id: { $in: string[] } };
        expect(filter._id.$in.length).toBeLessThanOrEqual(4);
      }
      expect(await sink.count()).toBe(10);
      const left = await (await sink.collection()).find({}, { projection: { start_stamp: 1 } }).toArray();
      for (const doc of left) expect(doc.start_stamp?.getTime()).toBeGreaterThanOrEqual(cutoff.getTime());
      expect(await sink.purgeOlderThan(cutoff, { batchSize: 4 })).toBe(0);
      deleteMany.mockRestore();
    });

    it('stops purging when the signal fires', async ({ sink }) => {
      await sink.write([parseCdr(syntheticCdr({ start: new Date('2020-01-01T00:00:00Z') }))]);
      const controller = new AbortController();
      controller.abort();
      await expect(sink.purgeOlderThan(new Date(), { signal: controller.signal })).rejects.toThrow(/abort/i);
      expect(await sink.count()).toBe(1);
    });

    it('creates the indexes on start time and domain (idempotently)', async ({ sink }) => {
      await sink.ensureIndexes();
      const indexes = await (await sink.collection()).listIndexes().toArray();
      const byName = new Map(indexes.map((i) => [i.name as string, i.key as Record<string, number>]));
      for (const spec of MONGO_CDR_INDEXES) expect(byName.get(spec.name)).toEqual(spec.key);
    });

    it('opens and closes its own client from a URL, in the database of the URL', async () => {
      const database = `pbxkit_cdr_url_${randomUUID().slice(0, 8)}`;
      const withDb = withDatabase(url, database);
      const own = new MongoCdrSink({ url: withDb });
      try {
        expect((await own.collection()).dbName).toBe(database);
        const record = parseCdr(syntheticCdr());
        await own.write([record]);
        expect(
          await client
            .db(database)
            .collection('cdr')
            .countDocuments({ _id: record.uuid as never }),
        ).toBe(1);
      } finally {
        await own.close();
        await client.db(database).dropDatabase();
      }
    });
  });
}

describe('MongoCdrSink duplicate keys', () => {
  const record = () => parseCdr(syntheticCdr());

  it('counts a bulkWrite that failed only with E11000 (a concurrent writer stored the uuid) as stored', async () => {
    const sink = new MongoCdrSink({ url: 'mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100' });
    const bulkWrite = vi
      .spyOn(await sink.collection(), 'bulkWrite')
      .mockRejectedValueOnce(
        Object.assign(new Error('E11000 duplicate key'), { writeErrors: [{ code: 11000 }] }),
      );
    await expect(sink.write([record(), record()])).resolves.toBeUndefined();
    expect(bulkWrite).toHaveBeenCalledTimes(1);
    await sink.close();
  });

  it('rethrows any other write error, and a mix of E11000 and others', async () => {
    const sink = new MongoCdrSink({ url: 'mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100' });
    const mixed = Object.assign(new Error('mixed'), { writeErrors: [{ code: 11000 }, { code: 2 }] });
    vi.spyOn(await sink.collection(), 'bulkWrite').mockRejectedValueOnce(mixed);
    await expect(sink.write([record()])).rejects.toBe(mixed);
    // and a server that cannot be reached fails the write (the dispatcher retries it)
    await expect(sink.write([record()])).rejects.toThrow();
    await sink.close();
  });
});

describe('encodeFieldName', () => {
  it('escapes . % and a leading $ reversibly, and leaves ordinary names alone', () => {
    for (const name of ['uuid', 'a.b', '$x', 'x$', '%2E', 'a%b.c', '$.%', '..', 'sip_h_X-Foo']) {
      const encoded = encodeFieldName(name);
      expect(encoded.includes('.')).toBe(false);
      expect(encoded.startsWith('$')).toBe(false);
      expect(decodeFieldName(encoded)).toBe(name);
    }
    expect(encodeFieldName('uuid')).toBe('uuid');
  });
});

mongoSuite('CongoDB (in-process wire server from @push.rocks/smartmongo)', startCongoDb);

// A real MongoDB when one is given; without MONGODB_URI this suite is not registered (see the README).
const realMongo = process.env.MONGODB_URI;
if (realMongo) {
  mongoSuite('MongoDB at MONGODB_URI', async () => ({ url: realMongo, stop: async () => {} }));
}
