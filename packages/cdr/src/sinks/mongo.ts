import {
  type Counter,
  type Histogram,
  importOptional,
  type Logger,
  MetricsFactory,
  type Registry,
  resolveLogger,
  throwIfAborted,
} from '@pbxkit/core';
import type { AnyBulkWriteOperation, Collection, MongoClient, MongoClientOptions } from 'mongodb';
import type { CdrRecord } from '../record.js';
import type { CdrStore } from '../sink.js';
import { type CdrMongoDocument, toMongoDocument } from './mongo-document.js';
import { isMongoTransient } from './mongo-errors.js';

/** Where a {@link MongoCdrSink} stores CDRs. */
export type MongoTarget =
  /** A connection string; the sink owns the client and closes it in `close()`. */
  | { url: string; clientOptions?: MongoClientOptions }
  /** A client of yours (connected or not); `close()` leaves it open. */
  | { client: MongoClient };

/** Options of {@link MongoCdrSink}. */
export interface MongoCdrSinkOptions {
  /** Sink name for metrics, logs and the spool. Default `mongodb`. */
  name?: string;
  /** Database. Default: the one in the connection string, else `pbxkit`. */
  database?: string;
  /** Collection. Default `cdr`. */
  collection?: string;
  /** Also keep the CDR's XML in the document (`xml`). Default false: a document holds at most 16 MiB. */
  storeXml?: boolean;
  logger?: Logger;
  registry?: Registry;
}

/** The indexes {@link MongoCdrSink.ensureIndexes} creates (besides MongoDB's own on `_id`). */
export const MONGO_CDR_INDEXES = [
  { key: { start_stamp: -1 }, name: 'start_stamp' },
  { key: { 'variables.domain_name': 1, start_stamp: -1 }, name: 'domain_start_stamp' },
] as const;

/**
 * True when a bulkWrite failed only because documents with those `_id`s exist (E11000): two writers upserting
 * the same new uuid at once can end so on servers that do not retry such upserts themselves (MongoDB < 4.2).
 * The other operations of an unordered bulkWrite were applied.
 */
function onlyDuplicateKeys(err: unknown): boolean {
  const writeErrors = (err as { writeErrors?: unknown } | null)?.writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  return list.length > 0 && list.every((e) => (e as { code?: unknown } | null)?.code === 11000);
}

/**
 * Stores each CDR leg as one MongoDB document whose `_id` is the leg's uuid, in a shape close to
 * mod_cdr_mongodb's (see {@link CdrMongoDocument}), through the official `mongodb` driver. The driver is an
 * optional peer dependency, loaded when a sink opened from a URL first needs it: without it installed, every
 * method rejects with a `MissingDependencyError` (`MISSING_DEPENDENCY`) saying `npm install mongodb`.
 *
 * `write` sends the batch as one unordered `bulkWrite` of upserts (`updateOne` on `_id` with `$setOnInsert`),
 * so a CDR delivered twice, or twice in one batch, is stored once and never fails the batch: idempotency rests
 * on `_id` alone, not on a secondary unique index. The first stored copy wins.
 *
 * @example
 * ```ts
 * const sink = new MongoCdrSink({ url: 'mongodb://127.0.0.1:27017/cdr' });
 * await sink.ensureIndexes();
 * await sink.write([parseCdr(xml)]);
 * await sink.purgeOlderThan(new Date(Date.now() - 7 * 86_400_000));
 * ```
 */
export class MongoCdrSink implements CdrStore {
  readonly name: string;
  /** The client and collection, once the driver is loaded (at once for a client of yours). */
  private readonly opened: Promise<{ client: MongoClient; collection: Collection<CdrMongoDocument> }>;
  private readonly ownsClient: boolean;
  private readonly options: MongoCdrSinkOptions;
  private readonly log: Logger;
  private readonly metrics: {
    written: Counter<'sink' | 'result'>;
    duration: Histogram<'sink'>;
    purged: Counter<'sink'>;
  };

  constructor(target: MongoTarget, options: MongoCdrSinkOptions = {}) {
    this.options = options;
    this.name = options.name ?? 'mongodb';
    this.log = resolveLogger(options.logger, { component: 'cdr-mongodb', sink: this.name });
    this.ownsClient = !('client' in target);
    this.opened = openCollection(target, options);
    // Avoid an unhandled rejection (driver not installed) if nobody calls a method.
    this.opened.catch(() => {});
    const metrics = new MetricsFactory('cdr', options.registry);
    this.metrics = {
      written: metrics.counter({
        what: 'mongodb_documents',
        unit: 'total',
        help: 'CDR documents sent to MongoDB, by result (inserted, duplicate)',
        labelNames: ['sink', 'result'],
      }),
      duration: metrics.histogram({
        what: 'mongodb_write_duration',
        unit: 'seconds',
        help: 'Time of one bulkWrite of CDRs to MongoDB',
        labelNames: ['sink'],
      }),
      purged: metrics.counter({
        what: 'mongodb_purged',
        unit: 'total',
        help: 'CDR documents deleted by retention',
        labelNames: ['sink'],
      }),
    };
  }

  /** The collection the sink writes to (the `mongodb` driver is loaded first when the sink opened the client). */
  async collection(): Promise<Collection<CdrMongoDocument>> {
    return (await this.opened).collection;
  }

  /** Creates the indexes on start time and on domain + start time (idempotent). */
  async ensureIndexes(): Promise<void> {
    const collection = await this.collection();
    await collection.createIndexes(MONGO_CDR_INDEXES.map((i) => ({ key: { ...i.key }, name: i.name })));
  }

  /** Upserts every record of the batch by uuid; documents already stored are left as they are. */
  async write(records: readonly CdrRecord[]): Promise<void> {
    if (records.length === 0) return;
    const collection = await this.collection();
    const now = new Date();
    // One operation per uuid: upserting the same new _id twice in one unordered batch can race on a real server
    // (two inserts, one E11000). The first record of a uuid wins, as it would across batches.
    const byUuid = new Map<string, AnyBulkWriteOperation<CdrMongoDocument>>();
    for (const record of records) {
      if (byUuid.has(record.uuid)) continue;
      const { _id, ...rest } = toMongoDocument(record, { storeXml: this.options.storeXml, now });
      byUuid.set(record.uuid, {
        updateOne: { filter: { _id }, update: { $setOnInsert: rest }, upsert: true },
      });
    }
    const end = this.metrics.duration.startTimer({ sink: this.name });
    try {
      const result = await collection.bulkWrite([...byUuid.values()], { ordered: false });
      const inserted = result.upsertedCount;
      this.metrics.written.inc({ sink: this.name, result: 'inserted' }, inserted);
      this.metrics.written.inc({ sink: this.name, result: 'duplicate' }, records.length - inserted);
      this.log.debug({ records: records.length, inserted }, 'CDRs stored');
    } catch (err) {
      if (onlyDuplicateKeys(err)) {
        // Another writer inserted the same uuid between our upsert's match and its insert: it is stored.
        this.metrics.written.inc({ sink: this.name, result: 'duplicate' }, records.length);
        this.log.debug({ records: records.length }, 'CDRs already stored (duplicate key)');
        return;
      }
      this.log.warn({ err, records: records.length }, 'bulkWrite of CDRs failed');
      throw err;
    } finally {
      end();
    }
  }

  /**
   * True when a failed write says nothing about its documents (network error, no server selectable, shutdown,
   * election, write concern, auth): the dispatcher retries until MongoDB is back instead of dead-lettering.
   * Documents the server refused (`writeErrors`) and BSON errors are the records' own. See
   * {@link isMongoTransient}.
   */
  isTransient(err: unknown): boolean {
    return isMongoTransient(err);
  }

  /** The stored document of a call leg, or undefined. */
  async get(uuid: string): Promise<CdrMongoDocument | undefined> {
    return (await (await this.collection()).findOne({ _id: uuid })) ?? undefined;
  }

  /** How many CDR documents the collection holds. */
  async count(): Promise<number> {
    return (await this.collection()).countDocuments();
  }

  /**
   * Deletes the documents of calls that started before `cutoff` (`start_stamp`), `batchSize` at a time: find
   * that many `_id`s, then `deleteMany` by `_id`, so no single operation runs long. Resolves with the number
   * deleted. Documents without a start time are kept.
   */
  async purgeOlderThan(
    cutoff: Date,
    options: { batchSize?: number; signal?: AbortSignal } = {},
  ): Promise<number> {
    const batchSize = options.batchSize ?? 5000;
    if (!(batchSize >= 1)) throw new RangeError('batchSize must be >= 1');
    const collection = await this.collection();
    let total = 0;
    for (;;) {
      throwIfAborted(options.signal);
      const ids = await collection
        .find({ start_stamp: { $lt: cutoff } }, { projection: { _id: 1 } })
        .limit(batchSize)
        .toArray();
      if (ids.length === 0) break;
      throwIfAborted(options.signal);
      const { deletedCount } = await collection.deleteMany({ _id: { $in: ids.map((d) => d._id) } });
      total += deletedCount;
      this.metrics.purged.inc({ sink: this.name }, deletedCount);
      if (ids.length < batchSize || deletedCount === 0) break;
    }
    this.log.info({ cutoff, deleted: total }, 'old CDRs purged');
    return total;
  }

  /** Closes the client when the sink opened it. */
  async close(): Promise<void> {
    if (!this.ownsClient) return;
    const opened = await this.opened.catch(() => undefined);
    await opened?.client.close();
  }
}

/** The client (yours, or one opened from the URL with the driver loaded now) and the sink's collection. */
async function openCollection(
  target: MongoTarget,
  options: MongoCdrSinkOptions,
): Promise<{ client: MongoClient; collection: Collection<CdrMongoDocument> }> {
  let client: MongoClient;
  if ('client' in target) {
    client = target.client;
  } else {
    const driver = await importOptional('mongodb', 'MongoCdrSink', () => import('mongodb'));
    client = new driver.MongoClient(target.url, target.clientOptions);
  }
  // db(undefined) is the database of the connection string, else the driver's default (`test`).
  const dbName = options.database ?? (client.options.dbName !== 'test' ? client.options.dbName : 'pbxkit');
  return { client, collection: client.db(dbName).collection<CdrMongoDocument>(options.collection ?? 'cdr') };
}
