import { join, resolve } from 'node:path';
import { type StorageConfig, storageConfigFromEnv } from '@pbxkit/storage';

/** The reference server's settings, from environment variables with embedded defaults. */
export interface ReferenceServerConfig {
  /** Address to listen on. `PBXKIT_HOST`, default 127.0.0.1. */
  host: string;
  /** `PBXKIT_PORT`, default 8080; 0 picks a free port. */
  port: number;
  /** Where the spool and the embedded database live. `PBXKIT_DATA_DIR`, default ./pbxkit-data. */
  dataDir: string;
  /** PostgreSQL (e.g. FusionPBX's database) instead of the embedded PGlite. `PBXKIT_DATABASE_URL`. */
  databaseUrl: string | undefined;
  /**
   * mod_xml_cdr `cred`. `PBXKIT_CDR_USER` and `PBXKIT_CDR_PASSWORD`, both or neither (neither: no
   * authentication); one without the other is refused rather than silently running without authentication.
   */
  cdrCredentials: { username: string; password: string } | undefined;
  /** Keep CDRs for this many days. `PBXKIT_CDR_RETENTION_DAYS`, default 730 (FusionPBX's default). */
  retentionDays: number;
  /**
   * Recording storage (`PBXKIT_STORAGE_*`, see @pbxkit/storage): by default the local tier is
   * `<data dir>/recordings` in FusionPBX's layout, with no archive.
   */
  storage: StorageConfig;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ReferenceServerConfig {
  const port = Number(env.PBXKIT_PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PBXKIT_PORT is not a port: ${env.PBXKIT_PORT}`);
  const retentionDays = Number(env.PBXKIT_CDR_RETENTION_DAYS ?? 730);
  if (!(retentionDays > 0))
    throw new Error(`PBXKIT_CDR_RETENTION_DAYS must be > 0: ${env.PBXKIT_CDR_RETENTION_DAYS}`);
  const cdrCredentials = credentialsFromEnv(env);
  const dataDir = resolve(env.PBXKIT_DATA_DIR ?? 'pbxkit-data');
  const storage = storageConfigFromEnv(env);
  storage.local ??= { root: join(dataDir, 'recordings') };
  return {
    host: env.PBXKIT_HOST ?? '127.0.0.1',
    port,
    dataDir,
    databaseUrl: env.PBXKIT_DATABASE_URL || undefined,
    cdrCredentials,
    retentionDays,
    storage,
  };
}

function credentialsFromEnv(env: NodeJS.ProcessEnv): ReferenceServerConfig['cdrCredentials'] {
  const username = env.PBXKIT_CDR_USER || undefined;
  const password = env.PBXKIT_CDR_PASSWORD || undefined;
  if (username === undefined && password === undefined) return undefined;
  if (username === undefined) {
    throw new Error(
      'PBXKIT_CDR_PASSWORD is set but PBXKIT_CDR_USER is not: set both (mod_xml_cdr `cred` = user:password), or neither to accept CDRs without authentication',
    );
  }
  if (password === undefined) {
    throw new Error(
      'PBXKIT_CDR_USER is set but PBXKIT_CDR_PASSWORD is not: set both (mod_xml_cdr `cred` = user:password), or neither to accept CDRs without authentication',
    );
  }
  return { username, password };
}
