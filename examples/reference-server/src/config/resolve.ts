import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import type { HttpForwardFormat, HttpForwardSinkOptions, QuarantineLimitOptions } from '@pbxkit/cdr';
import { type HttpAuthOptions, httpAuthOptionsFromEnv } from '@pbxkit/core';
import { type StorageConfig, storageConfigFromEnv } from '@pbxkit/storage';
import { type DaemonTarget, parseDaemonTargets } from '../console/daemons.js';
import { ConfigError } from './sources.js';

/** The CCP (or any mod_xml_cdr consumer) every CDR is forwarded to, as FreeSWITCH would post it. */
export type ForwardConfig = Pick<
  HttpForwardSinkOptions,
  'url' | 'format' | 'credentials' | 'timeoutMs' | 'retry'
> & { name: string; url: string };

/** The reference server's settings, validated, with their defaults. */
export interface ReferenceServerConfig {
  /** Address to listen on. `PBXKIT_HOST`, default 127.0.0.1. */
  host: string;
  /** `PBXKIT_PORT`, default 8080; 0 picks a free port. */
  port: number;
  /** Where the spool, the embedded database and (by default) the recordings live. `PBXKIT_DATA_DIR`. */
  dataDir: string;
  /** PostgreSQL (FusionPBX's database) instead of the embedded PGlite. `PBXKIT_DATABASE_URL`. */
  databaseUrl: string | undefined;
  /** Origin put before signed links the link endpoint hands out (`https://pbx-a.example.com`). */
  publicUrl: string | undefined;
  /** pino level: `fatal` … `trace`, `silent`. `PBXKIT_LOG_LEVEL`, default info. */
  logLevel: string;
  cdr: {
    /** mod_xml_cdr `cred`: `PBXKIT_CDR_USER` and `PBXKIT_CDR_PASSWORD`, both or neither. */
    credentials: { username: string; password: string } | undefined;
    /** Keep CDRs for this many days. Default 730 (FusionPBX's). */
    retentionDays: number;
    /** The receiver's limits; unset ones keep the receiver's defaults. */
    receiver: {
      maxBodyBytes?: number;
      maxBufferedBytes?: number;
      bodyIdleTimeoutMs?: number;
      quarantine: QuarantineLimitOptions;
    };
    forward: ForwardConfig | undefined;
    /**
     * Delivered CDRs kept as compressed XML for re-push (`pbxkit-cdr repush --archive <dir>`), or undefined when
     * `PBXKIT_CDR_ARCHIVE_DAYS` is 0. Default: `<dataDir>/cdr-archive`, 7 days, at most 4096 MiB.
     */
    archive: { dir: string; days: number; maxBytes: number } | undefined;
  };
  /** Recording storage (`PBXKIT_STORAGE_*`, see @pbxkit/storage), with the server's defaults filled in. */
  storage: StorageConfig;
  /** Operator authentication (`PBXKIT_AUTH_*`), or undefined when none is configured. */
  auth: HttpAuthOptions | undefined;
  /** `PBXKIT_AUTH_OPEN`: serve recordings and metrics without authentication on a non-loopback address. */
  authOpen: boolean;
  /** Voicemail (`PBXKIT_VOICEMAIL_*`): `/voicemail` and, with an ESL connection, this node's agent; off when unset. */
  voicemail: VoicemailConfig | undefined;
  /**
   * Daemons whose state the console's pipeline page shows (branch-failover, freeswitch-config-sync), by their
   * health URL: `PBXKIT_CONSOLE_DAEMONS`, `name=url` pairs separated by commas.
   */
  consoleDaemons: DaemonTarget[];
  health: {
    /** A sink whose oldest waiting CDR is older than this is stuck: 503. Default 300 s. */
    maxLagMs: number;
    /** Free space the spool's file system must keep: 503 below it. Default 512 MiB. */
    minFreeBytes: number;
    /** Longest wait for one part's answer (the database, S3). Default 5000 ms. */
    timeoutMs: number;
  };
}

/** Voicemail across nodes, see `@pbxkit/storage`'s VoicemailAgent and createVoicemailHandler. */
export interface VoicemailConfig {
  /** The database of the voicemail tables. `PBXKIT_VOICEMAIL_DATABASE_URL`, default `PBXKIT_DATABASE_URL`. */
  databaseUrl: string;
  /** `mod_voicemail` (voicemail_msgs, the default) or `fusionpbx` (v_voicemail_messages). */
  schema: 'mod_voicemail' | 'fusionpbx';
  /** This node's `<storage_dir>/voicemail`; unset on a portal that runs beside no switch. */
  root: string | undefined;
  /** Key prefix of voicemail in the storage S3 bucket. Default `voicemail`. */
  s3Prefix: string;
  /** FreeSWITCH's event socket: the agent runs when it is set (needs `root` and the S3 bucket). */
  esl: { host: string; port: number; password: string } | undefined;
  reconcileMs: number;
  evictDays: number | undefined;
}

type Values = Record<string, string | undefined>;

const MB = 1024 * 1024;
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const FORMATS: HttpForwardFormat[] = ['form', 'xml', 'text-xml'];

/** Validates the variables (see `SETTINGS`) into the server's configuration; errors name the variable. */
export function resolveConfig(values: Values): ReferenceServerConfig {
  const str = (name: string): string | undefined => {
    const v = values[name]?.trim();
    return v === '' ? undefined : v;
  };
  const num = (name: string, fallback: number, check: (n: number) => boolean, rule: string): number => {
    const v = str(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || !check(n))
      throw new ConfigError(`${name} must be ${rule}: ${JSON.stringify(v)}`);
    return n;
  };
  const optionalNum = (name: string, rule: string, check: (n: number) => boolean): number | undefined =>
    str(name) === undefined ? undefined : num(name, 0, check, rule);
  const positive = (n: number) => n > 0;

  const port = num(
    'PBXKIT_PORT',
    8080,
    (n) => Number.isInteger(n) && n >= 0 && n <= 65535,
    'a port (0-65535)',
  );
  const dataDir = resolve(str('PBXKIT_DATA_DIR') ?? 'pbxkit-data');
  const host = str('PBXKIT_HOST') ?? '127.0.0.1';
  const logLevel = (str('PBXKIT_LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LEVELS.includes(logLevel))
    throw new ConfigError(`PBXKIT_LOG_LEVEL must be one of ${LEVELS.join(', ')}`);
  const databaseUrl = str('PBXKIT_DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('PBXKIT_DATABASE_URL must be a postgres:// URL');
  }
  const publicUrl = str('PBXKIT_PUBLIC_URL');
  if (publicUrl !== undefined && !/^https?:\/\/[^/]+\/?$/.test(publicUrl)) {
    throw new ConfigError('PBXKIT_PUBLIC_URL must be an origin such as https://pbx-a.example.com');
  }

  const receiver: ReferenceServerConfig['cdr']['receiver'] = { quarantine: {} };
  const mb = (name: string) => optionalNum(name, 'a number of MiB > 0', positive);
  const maxBody = mb('PBXKIT_CDR_MAX_BODY_MB');
  if (maxBody !== undefined) receiver.maxBodyBytes = Math.round(maxBody * MB);
  const maxBuffered = mb('PBXKIT_CDR_MAX_BUFFERED_MB');
  if (maxBuffered !== undefined) receiver.maxBufferedBytes = Math.round(maxBuffered * MB);
  if (
    (receiver.maxBufferedBytes ?? 2 * (receiver.maxBodyBytes ?? 64 * MB)) < (receiver.maxBodyBytes ?? 64 * MB)
  ) {
    throw new ConfigError(
      'PBXKIT_CDR_MAX_BUFFERED_MB must be at least PBXKIT_CDR_MAX_BODY_MB (64 by default)',
    );
  }
  const idle = optionalNum(
    'PBXKIT_CDR_BODY_IDLE_TIMEOUT_SECONDS',
    'a number of seconds >= 0 (0: wait forever)',
    (n) => n >= 0,
  );
  if (idle !== undefined) receiver.bodyIdleTimeoutMs = Math.round(idle * 1000);
  const quarantineMb = mb('PBXKIT_CDR_QUARANTINE_MAX_MB');
  if (quarantineMb !== undefined) receiver.quarantine.maxBytes = Math.round(quarantineMb * MB);
  const quarantineDays = optionalNum('PBXKIT_CDR_QUARANTINE_MAX_DAYS', 'a number of days > 0', positive);
  if (quarantineDays !== undefined) receiver.quarantine.maxAgeMs = Math.round(quarantineDays * 86_400_000);

  const storage = storageConfigFromEnv(values);
  storage.local ??= {
    root: join(dataDir, 'recordings'),
    minFreeBytes: 1024 * MB,
    minFreeInodes: 10_000,
  };
  // The location index is on by default, in the CDR database: PostgreSQL, or the embedded PGlite (the server
  // shares its instance; see wiring/storage.ts).
  if (!storage.index && databaseUrl) storage.index = { connectionString: databaseUrl };
  if (storage.archive && !storage.archive.lockUrl && databaseUrl) storage.archive.lockUrl = databaseUrl;

  const auth = httpAuthOptionsFromEnv(values);
  const authOpen = bool(str('PBXKIT_AUTH_OPEN'), 'PBXKIT_AUTH_OPEN');
  if (!auth && !authOpen && !isLoopback(host)) {
    throw new ConfigError(
      `PBXKIT_HOST is ${host}, not a loopback address, and no operator authentication is configured ` +
        '(PBXKIT_AUTH_TOKENS, PBXKIT_AUTH_USERS or PBXKIT_AUTH_LINK_SECRET): recordings and /metrics would be open ' +
        'to anyone who reaches the port. Configure one, or set PBXKIT_AUTH_OPEN=true to serve them unauthenticated.',
    );
  }

  return {
    host,
    port,
    dataDir,
    databaseUrl,
    publicUrl,
    logLevel,
    cdr: {
      credentials: pair(
        str('PBXKIT_CDR_USER'),
        str('PBXKIT_CDR_PASSWORD'),
        'PBXKIT_CDR',
        'accept CDRs without authentication',
      ),
      retentionDays: num('PBXKIT_CDR_RETENTION_DAYS', 730, positive, 'a number of days > 0'),
      receiver,
      forward: forwardConfig(str, num),
      archive: archiveConfig(dataDir, str, num),
    },
    storage,
    auth,
    authOpen,
    voicemail: voicemailConfig(str, num, databaseUrl, storage),
    consoleDaemons: parseDaemonTargets(str('PBXKIT_CONSOLE_DAEMONS')),
    health: {
      maxLagMs: num('PBXKIT_HEALTH_MAX_LAG_SECONDS', 300, positive, 'a number of seconds > 0') * 1000,
      minFreeBytes: Math.round(
        num('PBXKIT_HEALTH_MIN_FREE_MB', 512, (n) => n >= 0, 'a number of MiB >= 0') * MB,
      ),
      timeoutMs: num('PBXKIT_HEALTH_TIMEOUT_MS', 5000, positive, 'a number of ms > 0'),
    },
  };
}

function archiveConfig(
  dataDir: string,
  str: (name: string) => string | undefined,
  num: (name: string, fallback: number, ok: (n: number) => boolean, what: string) => number,
): ReferenceServerConfig['cdr']['archive'] {
  const days = num('PBXKIT_CDR_ARCHIVE_DAYS', 7, (n) => n >= 0, 'a number of days >= 0 (0: no archive)');
  if (days === 0) return undefined;
  const maxMb = num('PBXKIT_CDR_ARCHIVE_MAX_MB', 4096, (n) => n > 0, 'a number of MiB > 0');
  const dir = resolve(str('PBXKIT_CDR_ARCHIVE_DIR') ?? join(dataDir, 'cdr-archive'));
  return { dir, days, maxBytes: Math.round(maxMb * MB) };
}

function forwardConfig(
  str: (name: string) => string | undefined,
  num: (name: string, fallback: number, check: (n: number) => boolean, rule: string) => number,
): ForwardConfig | undefined {
  const url = str('PBXKIT_CDR_FORWARD_URL');
  const others = ['NAME', 'FORMAT', 'USER', 'PASSWORD', 'ATTEMPTS', 'RETRY_MAX_MS', 'TIMEOUT_MS'].filter(
    (n) => str(`PBXKIT_CDR_FORWARD_${n}`) !== undefined,
  );
  if (url === undefined) {
    if (others.length > 0) {
      throw new ConfigError(
        `PBXKIT_CDR_FORWARD_${others[0]} is set but PBXKIT_CDR_FORWARD_URL is not: set the URL to forward CDRs`,
      );
    }
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('PBXKIT_CDR_FORWARD_URL is not a URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError('PBXKIT_CDR_FORWARD_URL must be http:// or https://');
  }
  const format = (str('PBXKIT_CDR_FORWARD_FORMAT') ?? 'form') as HttpForwardFormat;
  if (!FORMATS.includes(format))
    throw new ConfigError(`PBXKIT_CDR_FORWARD_FORMAT must be one of ${FORMATS.join(', ')}`);
  const name = str('PBXKIT_CDR_FORWARD_NAME') ?? 'forward';
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/i.test(name) || name === 'postgres' || name === 'recording-index') {
    throw new ConfigError(
      'PBXKIT_CDR_FORWARD_NAME must be letters, digits, - and _, other than postgres and recording-index',
    );
  }
  const credentials = pair(
    str('PBXKIT_CDR_FORWARD_USER'),
    str('PBXKIT_CDR_FORWARD_PASSWORD'),
    'PBXKIT_CDR_FORWARD',
    'forward without credentials (or put them in the URL)',
  );
  return {
    name,
    url,
    format,
    ...(credentials ? { credentials } : {}),
    timeoutMs: num('PBXKIT_CDR_FORWARD_TIMEOUT_MS', 30_000, (n) => n > 0, 'a number of ms > 0'),
    retry: {
      maxAttempts: num(
        'PBXKIT_CDR_FORWARD_ATTEMPTS',
        5,
        (n) => Number.isInteger(n) && n >= 1,
        'a whole number >= 1',
      ),
      maxMs: num('PBXKIT_CDR_FORWARD_RETRY_MAX_MS', 10_000, (n) => n > 0, 'a number of ms > 0'),
    },
  };
}

/** `<prefix>_USER` and `<prefix>_PASSWORD`: both or neither, never one silently ignored. */
function pair(
  username: string | undefined,
  password: string | undefined,
  prefix: string,
  neither: string,
): { username: string; password: string } | undefined {
  if (username === undefined && password === undefined) return undefined;
  if (username === undefined || password === undefined) {
    const [set, missing] = username === undefined ? ['PASSWORD', 'USER'] : ['USER', 'PASSWORD'];
    throw new ConfigError(
      `${prefix}_${set} is set but ${prefix}_${missing} is not: set both, or neither to ${neither}`,
    );
  }
  return { username, password };
}

function voicemailConfig(
  str: (name: string) => string | undefined,
  num: (name: string, fallback: number, ok: (n: number) => boolean, what: string) => number,
  databaseUrl: string | undefined,
  storage: StorageConfig,
): VoicemailConfig | undefined {
  const url = str('PBXKIT_VOICEMAIL_DATABASE_URL');
  const root = str('PBXKIT_VOICEMAIL_ROOT');
  const eslHost = str('PBXKIT_VOICEMAIL_ESL_HOST');
  if (url === undefined && root === undefined && eslHost === undefined) return undefined;
  const db = url ?? databaseUrl;
  if (db === undefined || !/^postgres(ql)?:\/\//.test(db)) {
    throw new ConfigError(
      'PBXKIT_VOICEMAIL_DATABASE_URL must be the postgres:// URL of the voicemail tables (or set PBXKIT_DATABASE_URL)',
    );
  }
  const schema = (str('PBXKIT_VOICEMAIL_SCHEMA') ?? 'mod_voicemail').toLowerCase();
  if (schema !== 'mod_voicemail' && schema !== 'fusionpbx') {
    throw new ConfigError('PBXKIT_VOICEMAIL_SCHEMA must be mod_voicemail or fusionpbx');
  }
  let esl: VoicemailConfig['esl'];
  if (eslHost !== undefined) {
    if (root === undefined)
      throw new ConfigError(
        'PBXKIT_VOICEMAIL_ESL_HOST needs PBXKIT_VOICEMAIL_ROOT: the agent keeps that tree',
      );
    if (!storage.s3)
      throw new ConfigError(
        'PBXKIT_VOICEMAIL_ESL_HOST needs PBXKIT_STORAGE_S3_BUCKET: the agent uploads there',
      );
    const port = num(
      'PBXKIT_VOICEMAIL_ESL_PORT',
      8021,
      (n) => Number.isInteger(n) && n > 0 && n < 65536,
      'a port',
    );
    esl = { host: eslHost, port, password: str('PBXKIT_VOICEMAIL_ESL_PASSWORD') ?? 'ClueCon' };
  }
  const evict = str('PBXKIT_VOICEMAIL_EVICT_DAYS');
  return {
    databaseUrl: db,
    schema,
    root: root === undefined ? undefined : resolve(root),
    s3Prefix: str('PBXKIT_VOICEMAIL_S3_PREFIX') ?? 'voicemail',
    esl,
    reconcileMs:
      num('PBXKIT_VOICEMAIL_RECONCILE_SECONDS', 60, (n) => n > 0, 'a number of seconds > 0') * 1000,
    evictDays:
      evict === undefined
        ? undefined
        : num('PBXKIT_VOICEMAIL_EVICT_DAYS', 0, (n) => n > 0, 'a number of days > 0'),
  };
}

function bool(value: string | undefined, name: string): boolean {
  if (value === undefined) return false;
  const v = value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`${name} must be true or false: ${JSON.stringify(value)}`);
}

/** True for an address only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (a === 'localhost' || a === '::1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return isIP(v4) === 4 && v4.startsWith('127.');
}
