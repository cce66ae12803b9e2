import { type Logger, resolveLogger } from '@pbxkit/core';
import type { StorageBackend } from '../backend.js';
import { type LocationIndex, uuidFromKey } from './location-index.js';

/** Options of {@link indexedBackend}. */
export interface IndexedBackendOptions {
  index: LocationIndex;
  /** The tier this backend is in the index (`local`, `archive`, ...). */
  tier: string;
  /** The instance holding the copies; `''` (default) for a shared tier such as S3. */
  instanceId?: string;
  /** The call uuid of a key; default {@link uuidFromKey} (the uuid in the file name). Keys without one are not indexed. */
  uuidOf?: (key: string) => string | undefined;
  logger?: Logger;
}

/**
 * The same backend, keeping a {@link LocationIndex} in step with what is written through it: after a `write`
 * succeeds the recording is recorded for this tier (key, size), after a `delete` it is forgotten. So a
 * recording stored by the application (not only by the archiver) is found through the index at once.
 *
 * The index is a cache of the backends: when updating it fails the write still succeeds (the object is
 * stored; the resolver probes the tiers on a miss and `rescan` rebuilds the index), and the failure is logged.
 */
export function indexedBackend<B extends StorageBackend>(backend: B, options: IndexedBackendOptions): B {
  const { index, tier } = options;
  const instanceId = options.instanceId ?? '';
  const uuidOf = options.uuidOf ?? uuidFromKey;
  const logger = resolveLogger(options.logger, { component: 'storage-index', tier });
  const update = async (key: string, change: () => Promise<void>): Promise<void> => {
    try {
      await change();
    } catch (err) {
      logger.warn({ err, key }, 'location index not updated (the resolver will probe the tiers)');
    }
  };
  const write: StorageBackend['write'] = async (key, body, writeOptions) => {
    const info = await backend.write(key, body, writeOptions);
    const uuid = uuidOf(key);
    if (uuid) {
      await update(key, () =>
        index.record({ uuid, tier, instanceId, key, size: info.size, updatedAt: new Date() }),
      );
    }
    return info;
  };
  const remove: StorageBackend['delete'] = async (key) => {
    const existed = await backend.delete(key);
    const uuid = uuidOf(key);
    if (uuid) await update(key, () => index.forget(uuid, tier, instanceId));
    return existed;
  };
  return new Proxy(backend, {
    get(target, prop, receiver) {
      if (prop === 'write') return write;
      if (prop === 'delete') return remove;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
