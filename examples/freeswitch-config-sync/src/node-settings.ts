import { Env } from './settings.js';

/** Where the node's configuration comes from. */
export type SourceSettings =
  | { kind: 'git'; remote: string; ref: string; subdir: string | undefined }
  | { kind: 'dir'; dir: string }
  | { kind: 'postgres'; databaseUrl: string; schema: string; domain: string | undefined; baseDir: string };

/** Settings of the node mode (all from `PBXKIT_*` variables; see the README's table). */
export interface NodeSettings {
  confDir: string;
  stateDir: string;
  assetDir: string | undefined;
  esl: { host: string; port: number; password: string };
  source: SourceSettings;
  /** Seconds between checks of the source (the fallback when webhooks do not come). 0: never. */
  pollSeconds: number;
  webhookSecret: string | undefined;
  /** Bearer token of the history/diff/rollback API. */
  apiToken: string | undefined;
  http: { host: string; port: number };
  reloadModules: string[];
  logLevel: string;
}

export function nodeSettings(env: NodeJS.ProcessEnv): NodeSettings {
  const e = new Env(env);
  const kind = e.oneOf('PBXKIT_SOURCE', ['git', 'dir', 'postgres'] as const, 'git');
  const source: SourceSettings =
    kind === 'git'
      ? {
          kind,
          remote: e.string('PBXKIT_GIT_REMOTE'),
          ref: e.string('PBXKIT_GIT_REF', 'main'),
          subdir: e.optional('PBXKIT_GIT_SUBDIR'),
        }
      : kind === 'dir'
        ? { kind, dir: e.string('PBXKIT_SOURCE_DIR') }
        : {
            kind,
            databaseUrl: e.string('PBXKIT_DATABASE_URL'),
            schema: e.string('PBXKIT_FUSIONPBX_SCHEMA', 'public'),
            domain: e.optional('PBXKIT_FUSIONPBX_DOMAIN'),
            baseDir: e.string('PBXKIT_SOURCE_DIR'),
          };
  const apiToken = e.optional('PBXKIT_API_TOKEN');
  if (apiToken !== undefined && apiToken.length < 16) {
    throw new Error('PBXKIT_API_TOKEN must be at least 16 characters');
  }
  return {
    confDir: e.string('PBXKIT_FS_CONF_DIR', '/etc/freeswitch'),
    stateDir: e.string('PBXKIT_STATE_DIR', '/var/lib/pbxkit/fs-config-sync'),
    assetDir: e.optional('PBXKIT_FS_ASSET_DIR'),
    esl: {
      host: e.string('PBXKIT_ESL_HOST', '127.0.0.1'),
      port: e.int('PBXKIT_ESL_PORT', 8021, 1, 65535),
      password: e.string('PBXKIT_ESL_PASSWORD', 'ClueCon'),
    },
    source,
    pollSeconds: e.int('PBXKIT_POLL_SECONDS', 60, 0, 86_400),
    webhookSecret: e.optional('PBXKIT_WEBHOOK_SECRET'),
    apiToken,
    http: {
      host: e.string('PBXKIT_HTTP_HOST', '127.0.0.1'),
      port: e.int('PBXKIT_HTTP_PORT', 8095, 0, 65535),
    },
    reloadModules: (e.optional('PBXKIT_RELOAD_MODULES') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    logLevel: e.string('PBXKIT_LOG_LEVEL', 'info'),
  };
}
