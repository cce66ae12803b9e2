import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CdrArchive, CdrDispatcher, CdrSpool, PostgresCdrSink } from '@pbxkit/cdr';
import { type Logger, Registry, resolveLogger } from '@pbxkit/core';
import type { Storage } from '@pbxkit/storage';
import type { ReferenceServerConfig } from './config/load.js';
import { createWebConsole } from './console/index.js';
import { createHealthCheck, type HealthReport } from './health.js';
import { createRoutes } from './routes.js';
import { operatorGate } from './wiring/auth.js';
import { createStore, startCdr } from './wiring/cdr.js';
import { openDatabase } from './wiring/database.js';
import { cdrLocator, openStorage, recordingsHandler } from './wiring/storage.js';
import { startVoicemail, type Voicemail } from './wiring/voicemail.js';

/** A running reference server. */
export interface ReferenceServer {
  url: string;
  server: Server;
  dispatcher: CdrDispatcher;
  spool: CdrSpool;
  /** Delivered CDRs kept for re-push (`PBXKIT_CDR_ARCHIVE_*`), unless switched off. */
  cdrArchive: CdrArchive | undefined;
  store: PostgresCdrSink;
  storage: Storage;
  /** Voicemail, when `PBXKIT_VOICEMAIL_*` is configured. */
  voicemail: Voicemail | undefined;
  registry: Registry;
  /** What `GET /health` answers. */
  health(): Promise<HealthReport>;
  /** Stops listening, lets requests in progress finish, stops the archiver and the dispatcher, closes everything. */
  close(): Promise<void>;
}

/**
 * Wires the packages together: `POST /cdr` (mod_xml_cdr) → durable spool → dispatcher → FusionPBX's `v_xml_cdr`
 * (PostgreSQL, or the embedded PGlite), the location index and, when configured, the CCP forward; retention;
 * recordings by call uuid with Range (local disk, S3, peers) behind operator authentication or signed links;
 * the peer handler; the archiver's schedule; `/metrics` and `/health`.
 *
 * It starts whatever state the databases are in: CDRs are spooled and delivered once their store answers, and
 * `/health` says what is down meanwhile.
 */
export async function startReferenceServer(
  config: ReferenceServerConfig,
  logger?: Logger,
): Promise<ReferenceServer> {
  const log = resolveLogger(logger, { component: 'reference-server' });
  await mkdir(config.dataDir, { recursive: true });
  const registry = new Registry();
  const database = openDatabase(config);
  const closers: Array<() => Promise<void>> = [() => database.close()];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((err: unknown) => log.error({ err }, 'closing failed'));
    }
  };
  try {
    const store = createStore(database, { logger, registry });
    closers.push(() => store.close());
    const storage = await openStorage(config, { locator: cdrLocator(store), database, logger, registry });
    closers.push(() => storage.close()); // stops the archiver first
    const cdr = await startCdr(config, { store, storage, logger, registry });
    closers.push(() => cdr.close());
    storage.start(); // the archiver's schedule, when configured

    const gate = operatorGate(config, { logger: log, registry });
    if (gate.mode !== 'auth') {
      log.warn(
        { mode: gate.mode },
        gate.mode === 'open'
          ? 'recordings and /metrics are open to anyone (PBXKIT_AUTH_OPEN)'
          : 'no operator authentication configured: recordings and /metrics serve clients on this machine only',
      );
    }
    const voicemail = config.voicemail
      ? await startVoicemail(config.voicemail, config, gate, { logger, registry })
      : undefined;
    if (voicemail) closers.push(() => voicemail.close());
    const health = createHealthCheck({
      dispatcher: cdr.dispatcher,
      store,
      spoolDir: cdr.spoolDir,
      storage,
      ...config.health,
    });
    const webConsole = createWebConsole({
      database,
      store,
      cdr,
      storage,
      health,
      daemons: config.consoleDaemons,
    });
    closers.push(() => webConsole.close());
    const listener = createRoutes({
      console: webConsole,
      receiver: cdr.receiver,
      recordings: recordingsHandler(storage, gate, config, { logger, registry }),
      voicemail: voicemail?.handler,
      peer: storage.peerHandler
        ? { handler: storage.peerHandler, basePath: storage.config.peerBasePath }
        : undefined,
      gate,
      registry,
      health,
      log,
    });
    const server = createServer(listener);
    // FreeSWITCH posts multi-megabyte CDRs over slow links: no total request time limit (the receiver cuts idle bodies).
    server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => log.error({ err }, 'HTTP server error'));
    const { port } = server.address() as AddressInfo;
    const shownHost = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${shownHost}:${port}`;
    log.info(
      {
        url,
        database: database.kind,
        sinks: cdr.dispatcher.sinkNames,
        auth: gate.mode,
        peers: storage.peers.length,
      },
      'listening',
    );
    return {
      url,
      server,
      dispatcher: cdr.dispatcher,
      spool: cdr.spool,
      cdrArchive: cdr.archive,
      store,
      storage,
      voicemail,
      registry,
      health,
      async close() {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await closeAll();
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
