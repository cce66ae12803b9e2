import { createServer } from 'node:net';
// CongoDB: the in-process MongoDB-wire-compatible server inside @push.rocks/smartmongo 2.2.0 (the package's main
// entry also loads mongodb-memory-server, which would want to download a mongod binary: import only CongoDB).
import { CongoServer, MemoryStorageAdapter, ObjectId } from '@push.rocks/smartmongo/dist_ts/congodb/index.js';

/**
 * CongoDB 2.2.0 keys its in-memory collections by `_id.toHexString()` and turns every `_id` into an ObjectId
 * on insert, so it cannot store a document whose `_id` is a string (the driver's upsert fails with "input must
 * be a 24 character hex string"). A real MongoDB accepts any `_id` type, and the CDR sink's `_id` is the call
 * uuid. This patch keys the storage adapter's maps by a type-tagged key instead, keeping ObjectId ids exactly
 * as before; the wire protocol, command handlers, query and update engines are CongoDB's own, unchanged.
 */
function keyOf(id: unknown): string {
  if (id instanceof ObjectId) return id.toHexString();
  return `~${typeof id}:${String(id)}`;
}

let patched = false;
function patchStringIds(): void {
  if (patched) return;
  patched = true;
  type Doc = Record<string, unknown> & { _id?: unknown };
  type Collections = Map<string, Doc>;
  const proto = MemoryStorageAdapter.prototype as unknown as Record<string, unknown> & {
    ensureCollection(db: string, coll: string): Collections;
  };
  proto.insertOne = async function (this: typeof proto, db: string, coll: string, doc: Doc) {
    const collection = this.ensureCollection(db, coll);
    const stored = { ...doc, _id: doc._id ?? new ObjectId() };
    const key = keyOf(stored._id);
    if (collection.has(key)) throw new Error(`Duplicate key error: _id ${key}`);
    collection.set(key, stored);
    return stored;
  };
  proto.findById = async function (this: typeof proto, db: string, coll: string, id: unknown) {
    return this.ensureCollection(db, coll).get(keyOf(id)) ?? null;
  };
  proto.updateById = async function (this: typeof proto, db: string, coll: string, id: unknown, doc: Doc) {
    const collection = this.ensureCollection(db, coll);
    const key = keyOf(id);
    if (!collection.has(key)) return false;
    collection.set(key, doc);
    return true;
  };
  proto.deleteById = async function (this: typeof proto, db: string, coll: string, id: unknown) {
    return this.ensureCollection(db, coll).delete(keyOf(id));
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * A CongoDB wire server on 127.0.0.1 (in memory, in this process) and its connection string. `stop()` ends it
 * (every connection cut, the port closed) and `restart()` listens again on the same port, with the same data.
 */
export async function startCongoDb(): Promise<{
  url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}> {
  patchStringIds();
  const port = await freePort();
  const server = new CongoServer({ host: '127.0.0.1', port, storage: 'memory' });
  await server.start();
  return {
    url: `mongodb://127.0.0.1:${port}/?directConnection=true`,
    stop: () => server.stop(),
    restart: () => server.start(),
  };
}
