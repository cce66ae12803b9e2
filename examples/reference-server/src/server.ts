import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CdrDispatcher, CdrRetention, CdrSpool, createCdrReceiver, PostgresCdrSink } from '@pbxkit/cdr';
import { type Logger, Registry, resolveLogger } from '@pbxkit/core';
import { createRecordingsHandler, createStorage, type RecordingLocator, type Storage } from '@pbxkit/storage';
import type { ReferenceServerConfig } from './config.js';

/** A running reference server. */
export interface ReferenceServer {
  url: string;
  server: Server;
  dispatcher: CdrDispatcher;
  store: PostgresCdrSink;
  storage: Storage;
  registry: Registry;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The CDR store as the recordings resolver's locator: call start, recording path and name, domain. */
function cdrLocator(store: PostgresCdrSink): RecordingLocator {
  return {
    async locate(uuid) {
      const row = await store.get(uuid);
      if (!row) return undefined;
      const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
      return {
        uuid,
        callStart: row.start_stamp ? new Date(row.start_stamp as string) : undefined,
        path: text(row.record_path),
        name: text(row.record_name),
        domain: text(row.domain_name),
      };
    },
  };
}

/**
 * Wires the packages together: `POST /cdr` (mod_xml_cdr) → durable spool → dispatcher → FusionPBX-compatible
 * `v_xml_cdr` (PostgreSQL, or embedded PGlite by default); retention; `GET|HEAD /recordings/:uuid` (Range,
 * tiered local disk / S3 / peers, found through the CDR); `GET /metrics` (Prometheus) and `GET /health`.
 */
export async function startReferenceServer(
  config: ReferenceServerConfig,
  logger?: Logger,
): Promise<ReferenceServer> {
  const log = resolveLogger(logger, { component: 'reference-server' });
  await mkdir(config.dataDir, { recursive: true });
  const registry = new Registry();
  const store = config.databaseUrl
    ? new PostgresCdrSink({ connectionString: config.databaseUrl }, { logger, registry })
    : new PostgresCdrSink({ pglite: { dataDir: join(config.dataDir, 'pglite') } }, { logger, registry });
  await store.createSchema();
  const spool = await CdrSpool.open({ dir: join(config.dataDir, 'cdr-spool'), logger });
  const dispatcher = new CdrDispatcher({ spool, sinks: [store], logger, registry });
  await dispatcher.start();
  const retention = new CdrRetention({ stores: [store], days: config.retentionDays, logger, registry });
  retention.start();
  const receiver = createCdrReceiver({
    spool,
    path: '/cdr',
    credentials: config.cdrCredentials,
    logger,
    registry,
  });
  if (config.storage.local) await mkdir(config.storage.local.root, { recursive: true });
  const storage = await createStorage(config.storage, { locator: cdrLocator(store), logger, registry });
  const recordings = createRecordingsHandler({
    source: storage.resolver,
    basePath: '/recordings',
    logger,
    registry,
  });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/metrics' && req.method === 'GET') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => json(res, 500, { error: String(err) }),
      );
      return;
    }
    if (path === '/health' && req.method === 'GET') {
      Promise.all([store.count(), storage.health()]).then(
        ([cdrs, backends]) => json(res, 200, { status: 'ok', cdrs, storage: backends }),
        (err: unknown) => json(res, 503, { status: 'unavailable', error: (err as Error).message }),
      );
      return;
    }
    if (path?.startsWith('/recordings/')) {
      recordings(req, res).catch((err: unknown) => log.error({ err }, 'recordings handler failed'));
      return;
    }
    receiver(req, res, () => json(res, 404, { error: `no route for ${req.method} ${path}` }));
  });
  // FreeSWITCH posts multi-megabyte CDRs over slow links: no total request time limit.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host}:${port}`;
  log.info(
    { url, dataDir: config.dataDir, database: config.databaseUrl ? 'postgres' : 'pglite' },
    'listening',
  );
  return {
    url,
    server,
    dispatcher,
    store,
    storage,
    registry,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await retention.stop();
      await dispatcher.stop();
      await spool.close();
      await storage.close();
      await store.close();
    },
  };
}
