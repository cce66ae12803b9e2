import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorReporter, openSqlClient, type SqlClient } from '@pbxkit/core';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { captureLogger } from '../../../scripts/test-observe.js';
import { terminateConnections, urlWithApplicationName } from '../../../scripts/test-pg.js';
import { FileLocks } from '../src/archive-lock.js';
import {
  type ArchiveReport,
  Archiver,
  LocalFsBackend,
  type S3Backend,
  type StorageBackend,
  StorageUnavailableError,
} from '../src/index.js';
import { tempDir } from './helpers.js';
import { s3Backend } from './s3-helpers.js';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const key = (uuid: string) => `d.example/archive/2026/Oct/24/${uuid}.wav`;

/** A recordings tree with `n` month-old recordings, a bucket, and the bytes of each file. */
async function setUp(n: number, name: string) {
  const t = await tempDir();
  closers.push(t.cleanup);
  const root = join(t.dir, 'rec');
  await mkdir(root);
  const s3 = s3Backend(`pbxkit-lock-${name}-${process.pid}-${Date.now().toString(36)}`, { prefix: 'shared' });
  closers.push(() => s3.close());
  await s3.ensureBucket();
  const bodies = new Map<string, Buffer>();
  const writer = new LocalFsBackend({ root });
  for (let i = 0; i < n; i++) {
    const body = randomBytes(20_000 + i * 997);
    const k = key(randomUUID());
    bodies.set(k, body);
    await writer.write(k, body);
  }
  return { dir: t.dir, root, s3, bodies };
}

/** What every instance did to each key: uploads to the target and files deleted from the source. */
function counting() {
  const uploads = new Map<string, number>();
  const deletes = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const target = (s3: S3Backend): StorageBackend => onWrite(s3, (k) => void bump(uploads, k));
  const source = (
    local: LocalFsBackend,
    beforeList: () => Promise<void>,
    afterList: () => Promise<void> = async () => {},
  ): StorageBackend =>
    new Proxy(local, {
      get(t, prop, receiver) {
        if (prop === 'delete') {
          return async (k: string) => {
            const deleted = await t.delete(k);
            if (deleted) bump(deletes, k);
            return deleted;
          };
        }
        if (prop === 'list') {
          return async (...args: Parameters<LocalFsBackend['list']>) => {
            await beforeList();
            const page = await t.list(...args);
            await afterList();
            return page;
          };
        }
        const v = Reflect.get(t, prop, receiver);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  return { uploads, deletes, target, source };
}

/** A promise and the function that resolves it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The S3 backend, with `beforeWrite` run before each upload. */
function onWrite(s3: S3Backend, beforeWrite: (key: string) => Promise<void> | void): StorageBackend {
  return new Proxy(s3, {
    get(t, prop, receiver) {
      if (prop === 'write') {
        return async (...args: Parameters<S3Backend['write']>) => {
          await beforeWrite(args[0]);
          return t.write(...args);
        };
      }
      const v = Reflect.get(t, prop, receiver);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

/** One instance's archiver over `root`: month-old files are due, a journal of its own, locks on `client`. */
function lockedArchiver(dir: string, root: string, target: StorageBackend, client: SqlClient): Archiver {
  return new Archiver({
    source: new LocalFsBackend({ root }),
    target,
    journalPath: join(dir, 'journal'),
    minFileAgeMs: 0,
    now: () => new Date(Date.now() + 30 * 86_400_000),
    lock: { client },
  });
}

/** Resolves for everyone once `n` parties arrived: both archivers list the tree before either archives. */
function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return () => {
    arrived++;
    if (arrived === n) open();
    return opened;
  };
}

async function sqlClient(url = testDatabaseUrl(), errors?: ErrorReporter): Promise<SqlClient> {
  const db = await openSqlClient({ connectionString: url }, errors ? { errors } : {});
  closers.push(() => db.close());
  return db;
}

describe('two archivers over the same recordings tree and the same S3 prefix (radosgw, PostgreSQL)', () => {
  it('archive every file exactly once, verified, deleted once, none lost, sharing the work', async () => {
    const n = 24;
    const { dir, root, s3, bodies } = await setUp(n, 'pair');
    const count = counting();
    const bothListed = barrier(2);
    const archiver = async (name: string) =>
      new Archiver({
        // Two instances mounting the same tree: two backends on one directory, a journal each.
        source: count.source(new LocalFsBackend({ root }), bothListed),
        target: count.target(s3),
        journalPath: join(dir, `journal-${name}`),
        olderThanDays: 5,
        minFileAgeMs: 0,
        now: () => new Date(Date.now() + 30 * 86_400_000),
        verify: 'read-back',
        concurrency: 3,
        lock: { client: await sqlClient() },
      });
    const [a, b] = [await archiver('a'), await archiver('b')];
    const reports: ArchiveReport[] = await Promise.all([a.run(), b.run()]);
    const [ra, rb] = reports as [ArchiveReport, ArchiveReport];

    for (const r of reports) {
      expect(r.failed).toEqual([]);
      // Each instance archived a file or left it to the other, never both, never neither.
      expect(r.archived + r.skipped.length).toBe(n);
    }
    expect(ra.archived + rb.archived).toBe(n);
    for (const k of bodies.keys()) {
      expect(count.uploads.get(k), `uploads of ${k}`).toBe(1);
      expect(count.deletes.get(k), `deletes of ${k}`).toBe(1);
    }
    expect((await new LocalFsBackend({ root }).list('')).items).toEqual([]);
    const stored = (await s3.list('')).items.map((i) => i.key).sort();
    expect(stored).toEqual([...bodies.keys()].sort());
    for (const [k, body] of bodies) {
      const back = Buffer.concat(await (await s3.read(k)).toArray());
      expect(sha(back)).toBe(sha(body));
      expect((await s3.stat(k)).metadata?.sha256).toBe(sha(body));
    }
  }, 120_000);

  it('an instance that listed files another one archived since finds them gone, and leaves them', async () => {
    const n = 3;
    const { dir, root, s3, bodies } = await setUp(n, 'gone');
    const count = counting();
    // b lists the tree, then waits until a has archived everything it listed too.
    const bListed = deferred();
    const aFinished = deferred();
    const options = async (
      name: string,
      beforeList: () => Promise<void>,
      afterList?: () => Promise<void>,
    ) => ({
      source: count.source(new LocalFsBackend({ root }), beforeList, afterList),
      target: count.target(s3),
      journalPath: join(dir, `journal-${name}`),
      minFileAgeMs: 0,
      now: () => new Date(Date.now() + 30 * 86_400_000),
      lock: { client: await sqlClient() },
    });
    const b = new Archiver(
      await options(
        'b',
        async () => bListed.resolve(),
        () => aFinished.promise, // the listing is now stale
      ),
    );
    const a = new Archiver(await options('a', () => bListed.promise));
    const bRun = b.run();
    const aReport = await a.run();
    aFinished.resolve();
    const bReport = await bRun;
    expect(aReport).toMatchObject({ archived: n, failed: [], skipped: [] });
    expect(bReport).toMatchObject({ archived: 0, failed: [] });
    expect(bReport.skipped.map((x) => x.reason)).toEqual(['gone', 'gone', 'gone']);
    for (const k of bodies.keys()) expect([count.uploads.get(k), count.deletes.get(k)]).toEqual([1, 1]);
  }, 60_000);

  it('a file another instance holds is skipped, untouched, and archived once its lock is free', async () => {
    const { dir, root, s3, bodies } = await setUp(2, 'held');
    const [held, free] = [...bodies.keys()] as [string, string];
    const other = new pg.Client({ connectionString: testDatabaseUrl() });
    await other.connect();
    closers.push(() => other.end());
    const lockClient = await sqlClient();
    const id = new FileLocks(lockClient, 'pbxkit-archiver').idOf(held);
    await other.query('select pg_advisory_lock($1::bigint)', [id]);
    const archiver = lockedArchiver(dir, root, s3, lockClient);
    const first = await archiver.run();
    expect(first).toMatchObject({ archived: 1, failed: [], skipped: [{ key: held, reason: 'locked' }] });
    expect((await new LocalFsBackend({ root }).stat(held)).size).toBe(bodies.get(held)?.length);
    expect((await s3.list('')).items.map((i) => i.key)).toEqual([free]);
    await other.query('select pg_advisory_unlock($1::bigint)', [id]);
    const second = await archiver.run();
    expect(second).toMatchObject({ archived: 1, failed: [], skipped: [] });
    expect((await new LocalFsBackend({ root }).list('')).items).toEqual([]);
  }, 60_000);

  it('a lock session lost mid-file deletes nothing: the file is kept and archived by the next pass', async () => {
    const { dir, root, s3, bodies } = await setUp(1, 'lost');
    const [k] = [...bodies.keys()] as [string];
    const app = `pbxkit_lock_${randomUUID().slice(0, 8)}`;
    const { logger, next } = captureLogger();
    const client = await sqlClient(
      urlWithApplicationName(app),
      new ErrorReporter('storage', 'lock', { logger }),
    );
    // The upload waits until the test has ended the archiver's database session.
    const uploading = deferred();
    const released = deferred();
    const target = onWrite(s3, () => {
      uploading.resolve();
      return released.promise;
    });
    const archiver = lockedArchiver(dir, root, target, client);
    const running = archiver.run();
    await uploading.promise;
    const lost = next((l) => l.msg === 'PostgreSQL connection lost during a transaction');
    const { terminated, uncaught } = await terminateConnections(app, lost);
    expect([terminated, uncaught]).toEqual([1, []]);
    released.resolve();
    const first = await running;
    expect(first.archived).toBe(0);
    expect(first.failed).toEqual([{ key: k, error: expect.stringMatching(/lock/) }]);
    // Uploaded and verified, but not deleted: without its lock another instance may be on it.
    expect((await new LocalFsBackend({ root }).stat(k)).size).toBe(bodies.get(k)?.length);
    const second = await archiver.run();
    expect(second).toMatchObject({ archived: 1, failed: [] });
    expect((await new LocalFsBackend({ root }).list('')).items).toEqual([]);
  }, 60_000);

  it('with the lock database unreachable, a pass archives nothing and says why', async () => {
    const { dir, root, s3, bodies } = await setUp(1, 'down');
    const url = new URL(testDatabaseUrl());
    url.port = '9'; // nothing listens on the discard port on loopback
    const archiver = lockedArchiver(dir, root, s3, await sqlClient(url.toString()));
    const err = await archiver.run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageUnavailableError);
    expect((err as Error).message).toMatch(/archiver-lock: cannot open a lock session in PostgreSQL/);
    expect((await new LocalFsBackend({ root }).list('')).items.map((i) => i.key)).toEqual([...bodies.keys()]);
    expect((await s3.list('')).items).toEqual([]);
  }, 60_000);
});
