import { hostname } from 'node:os';
import {
  ErrorReporter,
  type Logger,
  openSqlClient,
  type Registry,
  type SqlClient,
  type SqlTarget,
} from '@pbxkit/core';
import { Archiver, type ArchiverOptions } from './archiver.js';
import type { StorageBackend } from './backend.js';
import { LocalFsBackend } from './backends/local.js';
import { S3Backend, type S3BackendOptions } from './backends/s3.js';
import { StorageConfigError, StoragePeerSecretError } from './errors.js';
import { type LocationIndex, SqlLocationIndex } from './index/location-index.js';
import { instrumentBackend } from './instrument.js';
import { PeerProxyBackend } from './peer/backend.js';
import { createPeerHandler, type PeerHandler } from './peer/handler.js';
import { checkPeerSecret } from './peer/signing.js';
import type { RecordingLocator } from './recording.js';
import { checkTierOrder, TieredRecordingResolver, type TierName } from './resolver.js';

/** Storage configuration as read from `PBXKIT_STORAGE_*` (see {@link storageConfigFromEnv}). */
export interface StorageConfig {
  instanceId: string;
  localDays: number;
  idleTimeoutMs: number;
  /** How long the resolver remembers where a recording was found (`TieredRecordingResolverOptions.cacheTtlMs`). */
  resolveCacheMs: number;
  local?: { root: string; keyTemplate?: string; minFreeBytes?: number; minFreeInodes?: number };
  /** Tier order for recent calls (`TieredRecordingResolverOptions.tierOrder`). */
  tierOrder?: TierName[];
  /** Tier order for calls older than `localDays` (`TieredRecordingResolverOptions.oldCallTierOrder`). */
  oldCallTierOrder?: TierName[];
  s3?: S3BackendOptions & { keyTemplate?: string };
  peers: Record<string, string>;
  peerSecret?: string;
  /** Path of this instance's peer handler (`createStorage` builds it when there is a secret). Default `/_peer`. */
  peerBasePath: string;
  /**
   * The location index's database: PostgreSQL, PGlite at a directory, or any {@link SqlTarget} (an open PGlite
   * instance shared with the CDR store, a `pg.Pool`). Its table is created on first use.
   */
  index?: SqlTarget;
  presignSeconds?: number;
  archive?: {
    journalPath: string;
    olderThanDays: number;
    deleteAfterVerify: boolean;
    verify: 'read-back' | 'metadata';
    concurrency: number;
    /** Minutes between the passes {@link Storage.start} schedules (`ARCHIVE_INTERVAL_MINUTES`, default 60). */
    intervalMinutes: number;
    diskUsedPercent?: number;
    /** PostgreSQL the instances share, for the archiver's per-file advisory locks (`ArchiverOptions.lock`). */
    lockUrl?: string;
  };
}

type Env = Record<string, string | undefined>;

/**
 * Reads the storage configuration from environment variables (for the example programs; code can build the
 * same objects directly):
 *
 * | variable | meaning |
 * | --- | --- |
 * | `PBXKIT_STORAGE_INSTANCE_ID` | this instance's id (default: host name) |
 * | `PBXKIT_STORAGE_LOCAL_ROOT` | recordings directory (FusionPBX: `/var/lib/freeswitch/recordings`) |
 * | `PBXKIT_STORAGE_LOCAL_KEY_TEMPLATE` | key layout there (default `{domain}/archive/{YYYY}/{Mon}/{DD}/{name}`) |
 * | `PBXKIT_STORAGE_LOCAL_DAYS` | calls younger than this are read from local disk first (default 5) |
 * | `PBXKIT_STORAGE_LOCAL_MIN_FREE_MB`, `_LOCAL_MIN_FREE_INODES` | local health fails below this free space (default 1024 MiB) or these free inodes (default 10000); 0 = never |
 * | `PBXKIT_STORAGE_TIER_ORDER` | probe order for recent calls, every tier once: e.g. `local,peers,s3` (default `local,s3,peers`) |
 * | `PBXKIT_STORAGE_OLD_TIER_ORDER` | the same for calls older than LOCAL_DAYS (default: `s3` first, then TIER_ORDER's others) |
 * | `PBXKIT_STORAGE_S3_BUCKET`, `_S3_ENDPOINT`, `_S3_REGION`, `_S3_FORCE_PATH_STYLE`, `_S3_ACCESS_KEY_ID`, `_S3_SECRET_ACCESS_KEY`, `_S3_PREFIX` | the S3 archive |
 * | `PBXKIT_STORAGE_S3_PART_SIZE_MB`, `_S3_QUEUE_SIZE`, `_S3_SSE` (`AES256`/`aws:kms`), `_S3_KMS_KEY_ID`, `_S3_ACL`, `_S3_KEY_TEMPLATE` | upload options, key layout |
 * | `PBXKIT_STORAGE_PEERS` | `id=url,id=url` of peer handlers, each id as that peer's own `PBXKIT_STORAGE_INSTANCE_ID`; `PBXKIT_STORAGE_PEER_SECRET` the shared secret (at least 32 characters: `openssl rand -hex 32`), with which `createStorage` also builds this instance's own peer handler |
 * | `PBXKIT_STORAGE_PEER_PATH` | path of this instance's peer handler (default `/_peer`; peers' URLs end with it) |
 * | `PBXKIT_STORAGE_INDEX_URL` / `PBXKIT_STORAGE_INDEX_DIR` | location index in PostgreSQL / in PGlite at a directory |
 * | `PBXKIT_STORAGE_IDLE_TIMEOUT_MS` | idle timeout of transfers (default 60000) |
 * | `PBXKIT_STORAGE_RESOLVE_CACHE_MS` | how long a found recording's location is remembered (default 30000; 0 = off) |
 * | `PBXKIT_STORAGE_PRESIGN_SECONDS` | answer archive hits with presigned URLs valid this long |
 * | `PBXKIT_STORAGE_ARCHIVE_JOURNAL` | enables the archiver (needs local and S3); `_ARCHIVE_DAYS` (default: LOCAL_DAYS), `_ARCHIVE_DELETE` (default true), `_ARCHIVE_VERIFY` (`read-back`/`metadata`), `_ARCHIVE_CONCURRENCY` (2), `_ARCHIVE_INTERVAL_MINUTES` (60: a pass at start, then one every hour, once `Storage.start()` is called), `_ARCHIVE_DISK_USED_PERCENT` |
 * | `PBXKIT_STORAGE_ARCHIVE_LOCK_URL` | PostgreSQL shared by the instances, for per-file archive locks (default: `INDEX_URL` when set) |
 */
export function storageConfigFromEnv(env: Env = process.env): StorageConfig {
  const P = 'PBXKIT_STORAGE_';
  const str = (name: string) => {
    const v = env[P + name]?.trim();
    return v === '' ? undefined : v;
  };
  const num = (name: string, fallback?: number, min = 0) => {
    const v = str(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min)
      throw new StorageConfigError(P + name, `${JSON.stringify(v)} is not a number >= ${min}`);
    return n;
  };
  const bool = (name: string, fallback: boolean) => {
    const v = str(name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new StorageConfigError(P + name, `${JSON.stringify(v)} is not a boolean`);
  };
  const localDays = num('LOCAL_DAYS', 5) as number;
  const config: StorageConfig = {
    instanceId: str('INSTANCE_ID') ?? hostname(),
    localDays,
    idleTimeoutMs: num('IDLE_TIMEOUT_MS', 60_000, 1) as number,
    resolveCacheMs: num('RESOLVE_CACHE_MS', 30_000) as number,
    peers: {},
    peerBasePath: str('PEER_PATH') ?? '/_peer',
  };
  if (!/^\/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$/.test(config.peerBasePath)) {
    throw new StorageConfigError(
      `${P}PEER_PATH`,
      `${JSON.stringify(config.peerBasePath)} is not a path like /_peer`,
    );
  }
  const root = str('LOCAL_ROOT');
  if (root) {
    config.local = {
      root,
      ...(str('LOCAL_KEY_TEMPLATE') ? { keyTemplate: str('LOCAL_KEY_TEMPLATE') } : {}),
      minFreeBytes: Math.round((num('LOCAL_MIN_FREE_MB', 1024) as number) * 1024 * 1024),
      minFreeInodes: num('LOCAL_MIN_FREE_INODES', 10_000) as number,
    };
  }
  const order = (name: string) => {
    const v = str(name);
    return v === undefined ? undefined : checkTierOrder(v.split(','), P + name);
  };
  const tierOrder = order('TIER_ORDER');
  if (tierOrder) config.tierOrder = tierOrder;
  const oldTierOrder = order('OLD_TIER_ORDER');
  if (oldTierOrder) config.oldCallTierOrder = oldTierOrder;
  const bucket = str('S3_BUCKET');
  if (bucket) {
    const s3: StorageConfig['s3'] = { bucket, forcePathStyle: bool('S3_FORCE_PATH_STYLE', false) };
    const set = <K extends keyof NonNullable<StorageConfig['s3']>>(
      k: K,
      v: NonNullable<StorageConfig['s3']>[K] | undefined,
    ) => {
      if (v !== undefined) s3[k] = v;
    };
    set('endpoint', str('S3_ENDPOINT'));
    set('region', str('S3_REGION'));
    set('prefix', str('S3_PREFIX'));
    set('keyTemplate', str('S3_KEY_TEMPLATE'));
    const partMb = num('S3_PART_SIZE_MB', undefined, 5);
    set('partSizeBytes', partMb === undefined ? undefined : Math.round(partMb * 1024 * 1024));
    set('queueSize', num('S3_QUEUE_SIZE', undefined, 1));
    const sse = str('S3_SSE');
    if (sse !== undefined && sse !== 'AES256' && sse !== 'aws:kms') {
      throw new StorageConfigError(`${P}S3_SSE`, 'must be AES256 or aws:kms');
    }
    set('serverSideEncryption', sse as S3BackendOptions['serverSideEncryption']);
    set('kmsKeyId', str('S3_KMS_KEY_ID'));
    set('acl', str('S3_ACL') as S3BackendOptions['acl']);
    set('idleTimeoutMs', config.idleTimeoutMs);
    const accessKeyId = str('S3_ACCESS_KEY_ID');
    const secretAccessKey = str('S3_SECRET_ACCESS_KEY');
    if (accessKeyId && secretAccessKey) s3.credentials = { accessKeyId, secretAccessKey };
    else if (accessKeyId || secretAccessKey) {
      throw new StorageConfigError(
        `${P}S3_ACCESS_KEY_ID`,
        'set both the access key id and the secret, or neither',
      );
    }
    config.s3 = s3;
  }
  for (const pair of (str('PEERS') ?? '').split(',').filter((p) => p.trim())) {
    const eq = pair.indexOf('=');
    const id = pair.slice(0, eq).trim();
    const url = pair.slice(eq + 1).trim();
    if (eq < 1 || !/^https?:\/\//.test(url))
      throw new StorageConfigError(`${P}PEERS`, `${JSON.stringify(pair)} is not id=http(s)://…`);
    config.peers[id] = url;
  }
  const secret = str('PEER_SECRET');
  if (Object.keys(config.peers).length > 0 && !secret) {
    throw new StorageConfigError(`${P}PEER_SECRET`, 'required when PBXKIT_STORAGE_PEERS is set');
  }
  if (secret !== undefined) {
    try {
      checkPeerSecret(secret);
    } catch (err) {
      if (err instanceof StoragePeerSecretError) throw new StorageConfigError(`${P}PEER_SECRET`, err.message);
      throw err;
    }
    config.peerSecret = secret;
  }
  const indexUrl = str('INDEX_URL');
  const indexDir = str('INDEX_DIR');
  if (indexUrl) config.index = { connectionString: indexUrl };
  else if (indexDir) config.index = { pglite: { dataDir: indexDir } };
  const presign = num('PRESIGN_SECONDS', undefined, 1);
  if (presign !== undefined) config.presignSeconds = presign;
  const journal = str('ARCHIVE_JOURNAL');
  if (journal) {
    const verify = str('ARCHIVE_VERIFY') ?? 'read-back';
    if (verify !== 'read-back' && verify !== 'metadata') {
      throw new StorageConfigError(`${P}ARCHIVE_VERIFY`, 'must be read-back or metadata');
    }
    config.archive = {
      journalPath: journal,
      olderThanDays: num('ARCHIVE_DAYS', localDays) as number,
      deleteAfterVerify: bool('ARCHIVE_DELETE', true),
      verify,
      concurrency: num('ARCHIVE_CONCURRENCY', 2, 1) as number,
      intervalMinutes: num('ARCHIVE_INTERVAL_MINUTES', 60, 0.01) as number,
    };
    const disk = num('ARCHIVE_DISK_USED_PERCENT');
    if (disk !== undefined) config.archive.diskUsedPercent = disk;
    const lockUrl = str('ARCHIVE_LOCK_URL') ?? indexUrl;
    if (lockUrl !== undefined) config.archive.lockUrl = lockUrl;
  }
  return config;
}

/** What {@link createStorage} builds. */
export interface Storage {
  config: StorageConfig;
  local?: LocalFsBackend;
  s3?: S3Backend;
  peers: PeerProxyBackend[];
  index?: SqlLocationIndex;
  resolver: TieredRecordingResolver;
  archiver?: Archiver;
  /**
   * This instance's local recordings served to its peers (signed requests only), built when there is a local
   * tier and a peer secret: mount it at `config.peerBasePath` (`/_peer/…`), outside any operator auth (peer
   * requests carry their own signatures).
   */
  peerHandler?: PeerHandler;
  /** Health of every backend, for a `/health` endpoint. */
  health(): Promise<Array<Awaited<ReturnType<StorageBackend['health']>>>>;
  /**
   * Starts the archiver's schedule when there is one (`config.archive`: a pass now, then every
   * `intervalMinutes`; each pass logged and exported, see `Archiver.status`). Nothing else needs starting.
   */
  start(): void;
  /** Stops the archiver (the pass in flight ends at a safe step, see `Archiver.stop`), then closes every client. */
  close(): Promise<void>;
}

/**
 * Builds backends, index, resolver and (when configured) the archiver from a {@link StorageConfig}, e.g.
 * `createStorage(storageConfigFromEnv(), { locator })`. With a `registry`, every backend is instrumented.
 */
export async function createStorage(
  config: StorageConfig,
  options: { locator?: RecordingLocator; logger?: Logger; registry?: Registry } = {},
): Promise<Storage> {
  const wrap = <B extends StorageBackend>(b: B): B =>
    options.registry ? instrumentBackend(b, options.registry) : b;
  const local = config.local
    ? wrap(
        new LocalFsBackend({
          root: config.local.root,
          ...(config.local.minFreeBytes !== undefined ? { minFreeBytes: config.local.minFreeBytes } : {}),
          ...(config.local.minFreeInodes !== undefined ? { minFreeInodes: config.local.minFreeInodes } : {}),
        }),
      )
    : undefined;
  const s3 = config.s3 ? wrap(new S3Backend(config.s3)) : undefined;
  const peers = Object.entries(config.peers).map(([instanceId, endpoint]) =>
    wrap(
      new PeerProxyBackend({
        instanceId,
        endpoint,
        secret: config.peerSecret as string,
        idleTimeoutMs: config.idleTimeoutMs,
      }),
    ),
  );
  let index: SqlLocationIndex | undefined;
  if (config.index) {
    // Its table is created on first use: a database that is down now must not stop the program starting.
    index = new SqlLocationIndex(config.index, { logger: options.logger, registry: options.registry });
  }
  const common = { logger: options.logger, registry: options.registry };
  const resolver = new TieredRecordingResolver({
    ...common,
    ...(options.locator ? { locator: options.locator } : {}),
    ...(local
      ? { local: { backend: local, ...(config.local?.keyTemplate ? { key: config.local.keyTemplate } : {}) } }
      : {}),
    ...(s3
      ? { archive: { backend: s3, ...(config.s3?.keyTemplate ? { key: config.s3.keyTemplate } : {}) } }
      : {}),
    peers: peers.map((backend) => ({ backend, instanceId: backend.instanceId })),
    localDays: config.localDays,
    ...(config.tierOrder ? { tierOrder: config.tierOrder } : {}),
    ...(config.oldCallTierOrder ? { oldCallTierOrder: config.oldCallTierOrder } : {}),
    cacheTtlMs: config.resolveCacheMs,
    instanceId: config.instanceId,
    ...(index ? { index: index as LocationIndex } : {}),
    ...(config.presignSeconds ? { presign: { expiresInSeconds: config.presignSeconds } } : {}),
  });
  let archiver: Archiver | undefined;
  let lockClient: SqlClient | undefined;
  if (config.archive && local && s3) {
    const a = config.archive;
    if (a.lockUrl) {
      // A pool of its own: a pass holds one connection for its locks, whatever the index does meanwhile.
      lockClient = await openSqlClient(
        { connectionString: a.lockUrl, max: 2 },
        {
          errors: new ErrorReporter('storage', 'archive_lock', {
            ...(options.logger ? { logger: options.logger } : {}),
            ...(options.registry ? { registry: options.registry } : {}),
          }),
          usedBy: '@pbxkit/storage archiver lock (PBXKIT_STORAGE_ARCHIVE_LOCK_URL)',
        },
      );
    }
    const archiverOptions: ArchiverOptions = {
      ...common,
      source: local,
      target: s3,
      journalPath: a.journalPath,
      olderThanDays: a.olderThanDays,
      deleteAfterVerify: a.deleteAfterVerify,
      verify: a.verify,
      concurrency: a.concurrency,
      instanceId: config.instanceId,
      ...(options.locator ? { locator: options.locator } : {}),
      ...(index ? { index } : {}),
      ...(lockClient ? { lock: { client: lockClient } } : {}),
      ...(a.diskUsedPercent !== undefined
        ? { diskPressure: { path: local.root, usedPercent: a.diskUsedPercent } }
        : {}),
    };
    archiver = new Archiver(archiverOptions);
  }
  const peerHandler =
    local && config.peerSecret
      ? createPeerHandler({
          backend: local,
          secret: config.peerSecret,
          instanceId: config.instanceId,
          basePath: config.peerBasePath,
          idleTimeoutMs: config.idleTimeoutMs,
          ...common,
        })
      : undefined;
  const all: StorageBackend[] = [...(local ? [local] : []), ...(s3 ? [s3] : []), ...peers];
  return {
    config,
    ...(local ? { local } : {}),
    ...(s3 ? { s3 } : {}),
    peers,
    ...(index ? { index } : {}),
    resolver,
    ...(archiver ? { archiver } : {}),
    ...(peerHandler ? { peerHandler } : {}),
    health: () => Promise.all(all.map((b) => b.health())),
    start: () => {
      if (archiver && config.archive)
        archiver.start({ intervalMs: Math.round(config.archive.intervalMinutes * 60_000) });
    },
    close: async () => {
      await archiver?.stop();
      for (const p of peers) p.close();
      s3?.close();
      await index?.close();
      await lockClient?.close();
    },
  };
}
