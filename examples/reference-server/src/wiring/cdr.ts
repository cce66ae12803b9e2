import { join } from 'node:path';
import {
  CdrArchive,
  CdrDispatcher,
  type CdrRequestHandler,
  CdrRetention,
  type CdrSink,
  CdrSpool,
  createCdrReceiver,
  type CdrDispatcher as Dispatcher,
  HttpForwardSink,
  PostgresCdrSink,
} from '@pbxkit/cdr';
import type { Logger, Registry } from '@pbxkit/core';
import type { Storage } from '@pbxkit/storage';
import type { ReferenceServerConfig } from '../config/load.js';
import type { Database } from './database.js';
import { RecordingIndexSink } from './recording-index-sink.js';

/** The CDR store: FusionPBX's `v_xml_cdr`, its tables created on first use (the database may be down now). */
export function createStore(
  database: Database,
  options: { logger: Logger | undefined; registry: Registry },
): PostgresCdrSink {
  return new PostgresCdrSink(database.target, { ensureSchema: true, ...options });
}

/** The running CDR pipeline. */
export interface CdrPipeline {
  spool: CdrSpool;
  spoolDir: string;
  /** Delivered CDRs kept for re-push (`pbxkit-cdr repush --archive <dir>`), unless switched off. */
  archive: CdrArchive | undefined;
  dispatcher: Dispatcher;
  receiver: CdrRequestHandler;
  close(): Promise<void>;
}

/**
 * Where every CDR goes, each sink with its own queue, retry and health: the store, the location index (where
 * the call's recording is), and the CCP forward when configured. Once every sink has a CDR (or dead-lettered
 * it) the dispatcher files it in the delivered-CDR archive, so a CDR a sink lost after its 2xx can be re-pushed.
 */
export function cdrSinks(
  config: ReferenceServerConfig,
  parts: { store: PostgresCdrSink; storage: Storage; logger: Logger | undefined; registry: Registry },
): CdrSink[] {
  const sinks: CdrSink[] = [parts.store];
  if (parts.storage.index) {
    sinks.push(
      new RecordingIndexSink(parts.storage.index, parts.storage.resolver, config.storage.instanceId),
    );
  }
  const forward = config.cdr.forward;
  if (forward)
    sinks.push(new HttpForwardSink({ ...forward, logger: parts.logger, registry: parts.registry }));
  return sinks;
}

/** Spool, dispatcher (which first delivers what a previous run left), retention and the mod_xml_cdr receiver. */
export async function startCdr(
  config: ReferenceServerConfig,
  parts: { store: PostgresCdrSink; storage: Storage; logger: Logger | undefined; registry: Registry },
): Promise<CdrPipeline> {
  const { logger, registry } = parts;
  const spoolDir = join(config.dataDir, 'cdr-spool');
  const spool = await CdrSpool.open({ dir: spoolDir, logger });
  let archive: CdrArchive | undefined;
  try {
    if (config.cdr.archive) archive = await CdrArchive.open({ ...config.cdr.archive, logger, registry });
  } catch (err) {
    await spool.close();
    throw err;
  }
  const sinks = cdrSinks(config, parts);
  const dispatcher = new CdrDispatcher({ spool, sinks, archive, logger, registry });
  try {
    await dispatcher.start();
  } catch (err) {
    await archive?.close();
    await spool.close();
    throw err;
  }
  const retention = new CdrRetention({
    stores: [parts.store],
    days: config.cdr.retentionDays,
    logger,
    registry,
  });
  retention.start();
  const receiver = createCdrReceiver({
    spool,
    path: '/cdr',
    credentials: config.cdr.credentials,
    ...config.cdr.receiver,
    logger,
    registry,
  });
  return {
    spool,
    spoolDir,
    archive,
    dispatcher,
    receiver,
    async close() {
      await retention.stop();
      await dispatcher.stop();
      await archive?.close();
      await spool.close();
      // The store is closed by its owner (the recordings locator uses it until storage is closed).
      for (const sink of sinks) if (sink !== parts.store) await sink.close?.();
    },
  };
}
