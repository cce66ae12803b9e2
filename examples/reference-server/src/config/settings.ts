/**
 * Every setting of the reference server: its key in a configuration file and its environment variable. The
 * environment variable is the setting's canonical form (the packages read `PBXKIT_STORAGE_*` and `PBXKIT_AUTH_*`
 * themselves); a configuration file is turned into these variables first, so both are validated by the same
 * code and an error can name the key it came from.
 */
export interface Setting {
  /** Dotted key in a configuration file (`storage.s3.bucket`). */
  key: string;
  /** The environment variable (`PBXKIT_STORAGE_S3_BUCKET`). */
  env: string;
  /**
   * How a file value becomes the variable's text: `scalar` (string, number or boolean), `list` (an array or a
   * comma-separated string), `pairs=` / `pairs:` (a mapping, written `k=v,k=v` / `k:v,k:v`, or that text).
   */
  kind: 'scalar' | 'list' | 'pairs=' | 'pairs:';
  /** Never printed: `--print-config` and logs show `***`. */
  secret?: boolean;
}

const s = (key: string, env: string, extra: Partial<Setting> = {}): Setting => ({
  key,
  env,
  kind: 'scalar',
  ...extra,
});

export const SETTINGS: readonly Setting[] = [
  s('host', 'PBXKIT_HOST'),
  s('port', 'PBXKIT_PORT'),
  s('dataDir', 'PBXKIT_DATA_DIR'),
  s('databaseUrl', 'PBXKIT_DATABASE_URL'),
  s('publicUrl', 'PBXKIT_PUBLIC_URL'),
  s('logLevel', 'PBXKIT_LOG_LEVEL'),

  s('cdr.user', 'PBXKIT_CDR_USER'),
  s('cdr.password', 'PBXKIT_CDR_PASSWORD', { secret: true }),
  s('cdr.retentionDays', 'PBXKIT_CDR_RETENTION_DAYS'),
  s('cdr.maxBodyMb', 'PBXKIT_CDR_MAX_BODY_MB'),
  s('cdr.maxBufferedMb', 'PBXKIT_CDR_MAX_BUFFERED_MB'),
  s('cdr.bodyIdleTimeoutSeconds', 'PBXKIT_CDR_BODY_IDLE_TIMEOUT_SECONDS'),
  s('cdr.quarantine.maxMb', 'PBXKIT_CDR_QUARANTINE_MAX_MB'),
  s('cdr.quarantine.maxDays', 'PBXKIT_CDR_QUARANTINE_MAX_DAYS'),
  s('cdr.archive.dir', 'PBXKIT_CDR_ARCHIVE_DIR'),
  s('cdr.archive.days', 'PBXKIT_CDR_ARCHIVE_DAYS'),
  s('cdr.archive.maxMb', 'PBXKIT_CDR_ARCHIVE_MAX_MB'),
  s('cdr.forward.url', 'PBXKIT_CDR_FORWARD_URL'),
  s('cdr.forward.name', 'PBXKIT_CDR_FORWARD_NAME'),
  s('cdr.forward.format', 'PBXKIT_CDR_FORWARD_FORMAT'),
  s('cdr.forward.user', 'PBXKIT_CDR_FORWARD_USER'),
  s('cdr.forward.password', 'PBXKIT_CDR_FORWARD_PASSWORD', { secret: true }),
  s('cdr.forward.attempts', 'PBXKIT_CDR_FORWARD_ATTEMPTS'),
  s('cdr.forward.retryMaxMs', 'PBXKIT_CDR_FORWARD_RETRY_MAX_MS'),
  s('cdr.forward.timeoutMs', 'PBXKIT_CDR_FORWARD_TIMEOUT_MS'),

  s('console.daemons', 'PBXKIT_CONSOLE_DAEMONS'),
  s('health.maxLagSeconds', 'PBXKIT_HEALTH_MAX_LAG_SECONDS'),
  s('health.minFreeMb', 'PBXKIT_HEALTH_MIN_FREE_MB'),
  s('health.timeoutMs', 'PBXKIT_HEALTH_TIMEOUT_MS'),

  s('auth.tokens', 'PBXKIT_AUTH_TOKENS', { kind: 'list', secret: true }),
  s('auth.users', 'PBXKIT_AUTH_USERS', { kind: 'pairs:', secret: true }),
  s('auth.linkSecret', 'PBXKIT_AUTH_LINK_SECRET', { secret: true }),
  s('auth.linkPreviousSecret', 'PBXKIT_AUTH_LINK_PREVIOUS_SECRET', { secret: true }),
  s('auth.linkMaxSeconds', 'PBXKIT_AUTH_LINK_MAX_SECONDS'),
  s('auth.realm', 'PBXKIT_AUTH_REALM'),
  s('auth.open', 'PBXKIT_AUTH_OPEN'),

  s('storage.instanceId', 'PBXKIT_STORAGE_INSTANCE_ID'),
  s('storage.local.root', 'PBXKIT_STORAGE_LOCAL_ROOT'),
  s('storage.local.keyTemplate', 'PBXKIT_STORAGE_LOCAL_KEY_TEMPLATE'),
  s('storage.local.days', 'PBXKIT_STORAGE_LOCAL_DAYS'),
  s('storage.local.minFreeMb', 'PBXKIT_STORAGE_LOCAL_MIN_FREE_MB'),
  s('storage.local.minFreeInodes', 'PBXKIT_STORAGE_LOCAL_MIN_FREE_INODES'),
  s('storage.tierOrder', 'PBXKIT_STORAGE_TIER_ORDER', { kind: 'list' }),
  s('storage.oldTierOrder', 'PBXKIT_STORAGE_OLD_TIER_ORDER', { kind: 'list' }),
  s('storage.s3.bucket', 'PBXKIT_STORAGE_S3_BUCKET'),
  s('storage.s3.endpoint', 'PBXKIT_STORAGE_S3_ENDPOINT'),
  s('storage.s3.region', 'PBXKIT_STORAGE_S3_REGION'),
  s('storage.s3.forcePathStyle', 'PBXKIT_STORAGE_S3_FORCE_PATH_STYLE'),
  s('storage.s3.accessKeyId', 'PBXKIT_STORAGE_S3_ACCESS_KEY_ID'),
  s('storage.s3.secretAccessKey', 'PBXKIT_STORAGE_S3_SECRET_ACCESS_KEY', { secret: true }),
  s('storage.s3.prefix', 'PBXKIT_STORAGE_S3_PREFIX'),
  s('storage.s3.keyTemplate', 'PBXKIT_STORAGE_S3_KEY_TEMPLATE'),
  s('storage.s3.partSizeMb', 'PBXKIT_STORAGE_S3_PART_SIZE_MB'),
  s('storage.s3.queueSize', 'PBXKIT_STORAGE_S3_QUEUE_SIZE'),
  s('storage.s3.sse', 'PBXKIT_STORAGE_S3_SSE'),
  s('storage.s3.kmsKeyId', 'PBXKIT_STORAGE_S3_KMS_KEY_ID'),
  s('storage.s3.acl', 'PBXKIT_STORAGE_S3_ACL'),
  s('storage.peers', 'PBXKIT_STORAGE_PEERS', { kind: 'pairs=' }),
  s('storage.peerSecret', 'PBXKIT_STORAGE_PEER_SECRET', { secret: true }),
  s('storage.peerPath', 'PBXKIT_STORAGE_PEER_PATH'),
  s('storage.index.url', 'PBXKIT_STORAGE_INDEX_URL'),
  s('storage.index.dir', 'PBXKIT_STORAGE_INDEX_DIR'),
  s('storage.idleTimeoutMs', 'PBXKIT_STORAGE_IDLE_TIMEOUT_MS'),
  s('storage.resolveCacheMs', 'PBXKIT_STORAGE_RESOLVE_CACHE_MS'),
  s('storage.presignSeconds', 'PBXKIT_STORAGE_PRESIGN_SECONDS'),
  s('storage.archive.journal', 'PBXKIT_STORAGE_ARCHIVE_JOURNAL'),
  s('storage.archive.days', 'PBXKIT_STORAGE_ARCHIVE_DAYS'),
  s('storage.archive.delete', 'PBXKIT_STORAGE_ARCHIVE_DELETE'),
  s('storage.archive.verify', 'PBXKIT_STORAGE_ARCHIVE_VERIFY'),
  s('storage.archive.concurrency', 'PBXKIT_STORAGE_ARCHIVE_CONCURRENCY'),
  s('storage.archive.intervalMinutes', 'PBXKIT_STORAGE_ARCHIVE_INTERVAL_MINUTES'),
  s('storage.archive.diskUsedPercent', 'PBXKIT_STORAGE_ARCHIVE_DISK_USED_PERCENT'),
  s('storage.archive.lockUrl', 'PBXKIT_STORAGE_ARCHIVE_LOCK_URL'),

  s('voicemail.databaseUrl', 'PBXKIT_VOICEMAIL_DATABASE_URL'),
  s('voicemail.schema', 'PBXKIT_VOICEMAIL_SCHEMA'),
  s('voicemail.root', 'PBXKIT_VOICEMAIL_ROOT'),
  s('voicemail.s3Prefix', 'PBXKIT_VOICEMAIL_S3_PREFIX'),
  s('voicemail.esl.host', 'PBXKIT_VOICEMAIL_ESL_HOST'),
  s('voicemail.esl.port', 'PBXKIT_VOICEMAIL_ESL_PORT'),
  s('voicemail.esl.password', 'PBXKIT_VOICEMAIL_ESL_PASSWORD', { secret: true }),
  s('voicemail.reconcileSeconds', 'PBXKIT_VOICEMAIL_RECONCILE_SECONDS'),
  s('voicemail.evictDays', 'PBXKIT_VOICEMAIL_EVICT_DAYS'),
];

export const SETTING_BY_KEY = new Map(SETTINGS.map((setting) => [setting.key, setting]));
export const SETTING_BY_ENV = new Map(SETTINGS.map((setting) => [setting.env, setting]));
