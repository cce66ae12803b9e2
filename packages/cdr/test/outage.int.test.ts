import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { CdrDispatcher } from '../src/dispatch/dispatcher.js';
import { createCdrReceiver } from '../src/receiver/receiver.js';
import type { CdrSink } from '../src/sink.js';
import { PostgresCdrSink } from '../src/sinks/postgres.js';
import { CdrSpool } from '../src/spool/spool.js';
import { postConcurrently } from './crash-helpers.js';
import { MemorySink, makeCdr } from './dispatch-helpers.js';

/**
 * A TCP proxy on a fixed port that can be taken down (listener closed, every connection cut: the port is dead,
 * connecting is refused) and brought back on the same port.
 */
class SwitchableProxy {
  private server: ReturnType<typeof createServer> | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

/**
 * The real PostgreSQL (FusionPBX's `v_xml_cdr` in a schema of its own), reached by the sink through the proxy.
 * The sink's pool gets no `error` listener here: the library must cope with the connections the outage cuts.
 */
async function openBackend() {
  const url = testDatabaseUrl();
  const target = new URL(url);
  const schema = `cdr_outage_${process.pid}_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  await admin.query(`create schema ${schema}`);
  await new PostgresCdrSink({ pool: admin }, { schema }).createSchema();
  let pool: pg.Pool | undefined;
  return {
    host: target.hostname,
    port: Number(target.port || 5432),
    sink: (proxyPort: () => number): CdrSink => {
      const viaProxy = new URL(url);
      viaProxy.port = String(proxyPort());
      pool = new pg.Pool({ connectionString: viaProxy.toString(), max: 4, connectionTimeoutMillis: 2000 });
      return new PostgresCdrSink({ pool }, { schema, name: 'store' });
    },
    uuids: async () =>
      (await admin.query<{ u: string }>(`select xml_cdr_uuid::text as u from ${schema}.v_xml_cdr`)).rows.map(
        (r) => r.u,
      ),
    close: async () => {
      await pool?.end();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('store outage during load', () => {
  it('loses nothing while the store is unreachable and drains the backlog when it is back', {
    timeout: 120_000,
  }, async () => {
    const backend = await openBackend();
    cleanups.push(() => backend.close());
    const proxy = new SwitchableProxy(backend.host, backend.port);
    await proxy.up();
    cleanups.push(() => proxy.down());

    const spool = await CdrSpool.open({ dir: mkdtempSync(join(tmpdir(), 'pbxkit-outage-')) });
    cleanups.push(() => spool.close());
    const store = backend.sink(() => proxy.port);
    const audit = new MemorySink('audit');
    const dispatcher = new CdrDispatcher({
      spool,
      sinks: [store, audit],
      batchSize: 25,
      // Few attempts, short backoff: the outage outlasts them many times over, and must use none of them.
      retry: { minMs: 10, maxMs: 250, maxAttempts: 3 },
    });
    cleanups.push(async () => {
      await dispatcher.stop();
      await store.close?.();
    });
    await dispatcher.start();
    const http = createHttpServer(
      createCdrReceiver({ spool, credentials: { username: 'fs', password: 'secret' } }),
    );
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => http.close(() => resolve())));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/cdr`;

    const cdrs = Array.from({ length: 600 }, () => makeCdr(randomUUID(), 8 * 1024));
    const storeDelivered = () =>
      new Promise<void>((resolve) => {
        const on = (sink: string) => {
          if (sink === 'store') {
            dispatcher.off('delivered', on);
            resolve();
          }
        };
        dispatcher.on('delivered', on);
      });

    // Before the outage: the store takes CDRs.
    const firstDelivery = storeDelivered();
    const before = await postConcurrently(url, cdrs.slice(0, 150), { senders: 6 });
    await firstDelivery;

    // The outage: the store's port is dead while the load goes on.
    let retries = 0;
    const felt = new Promise<void>((resolve) =>
      dispatcher.on('retry', (sink) => {
        if (sink === 'store' && ++retries === 10) resolve();
      }),
    );
    await proxy.down();
    const during = await postConcurrently(url, cdrs.slice(150, 500), { senders: 6 });
    await felt;
    // The receiver kept answering 200 (the spool is the buffer), the other sink kept receiving.
    expect(during.notAcked).toEqual([]);
    expect((await spool.pending()).length).toBeGreaterThan(0);
    expect(dispatcher.stats().store?.depth).toBeGreaterThan(0);
    expect(dispatcher.stats().store?.lagMs).toBeGreaterThan(0);
    const storedDuringOutage = (await backend.uuids()).length;

    // Back on the same port.
    await proxy.up();
    const after = await postConcurrently(url, cdrs.slice(500), { senders: 6 });
    await dispatcher.drained();

    const acked = [...before.acked, ...during.acked, ...after.acked];
    expect(acked).toHaveLength(cdrs.length);
    const stored = await backend.uuids();
    expect(stored.length).toBe(new Set(stored).size);
    expect(new Set(stored)).toEqual(new Set(cdrs.map((c) => c.uuid)));
    expect(audit.rows.size).toBe(cdrs.length);
    expect(await spool.pending()).toEqual([]);
    expect(await spool.deadLetters('store')).toEqual([]);
    expect(dispatcher.health()).toMatchObject({
      status: 'ok',
      sinks: { store: { state: 'up', deadLettered: 0 } },
    });
    console.info(
      `outage test on PostgreSQL: ${retries} failed writes during the outage, ` +
        `${storedDuringOutage} rows stored when it began, backlog of ${cdrs.length - storedDuringOutage} drained`,
    );
  });
});
