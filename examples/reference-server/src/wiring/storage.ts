import { mkdir } from 'node:fs/promises';
import type { PostgresCdrSink } from '@pbxkit/cdr';
import type { Logger, Registry } from '@pbxkit/core';
import {
  createRecordingsHandler,
  createStorage,
  type RecordingLocator,
  type RecordingsHandler,
  type Storage,
} from '@pbxkit/storage';
import type { ReferenceServerConfig } from '../config/load.js';
import type { OperatorGate } from './auth.js';
import type { Database } from './database.js';
import { recordingRefOf } from './recording-ref.js';

/** The CDR store as the resolver's and the archiver's locator: a call's start, recording path and domain. */
export function cdrLocator(store: Pick<PostgresCdrSink, 'get'>): RecordingLocator {
  return {
    async locate(uuid) {
      const row = await store.get(uuid);
      return row ? recordingRefOf(uuid, row) : undefined;
    },
  };
}

/**
 * Recording storage: the tiers, the resolver, the location index (by default in the CDR database) and, when
 * configured, the archiver and this node's peer handler.
 */
export async function openStorage(
  config: ReferenceServerConfig,
  options: { locator: RecordingLocator; database: Database; logger: Logger | undefined; registry: Registry },
): Promise<Storage> {
  const storageConfig = { ...config.storage, index: config.storage.index ?? options.database.indexTarget };
  if (storageConfig.local) {
    // FusionPBX's recordings directory exists; the default one under the data directory may not yet.
    await mkdir(storageConfig.local.root, { recursive: true }).catch(() => {});
  }
  return createStorage(storageConfig, options);
}

/** `GET|HEAD /recordings/<uuid>` (Range) and, with a link secret, `/recordings/<uuid>/link`, behind the gate. */
export function recordingsHandler(
  storage: Storage,
  gate: OperatorGate,
  config: ReferenceServerConfig,
  options: { logger: Logger | undefined; registry: Registry },
): RecordingsHandler {
  return createRecordingsHandler({
    source: storage.resolver,
    basePath: '/recordings',
    authorize: (req) => gate.authorize(req),
    ...(gate.links
      ? { links: { signer: gate.links, ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}) } }
      : {}),
    idleTimeoutMs: config.storage.idleTimeoutMs,
    ...options,
  });
}
