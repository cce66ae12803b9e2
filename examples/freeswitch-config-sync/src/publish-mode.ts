import { DirectorySource, HybridPublisher, pgClient, RenderSource } from '@pbxkit/core';
import { fusionPbxRenderer } from '@pbxkit/esl';
import pg from 'pg';
import { pino } from 'pino';
import { Env, SettingsError } from './settings.js';

/**
 * `--mode publish`, beside FusionPBX (the hybrid design): every `PBXKIT_PUBLISH_SECONDS` renders FusionPBX's
 * extensions and gateways over the static tree in `PBXKIT_SOURCE_DIR`, and commits and pushes to the clone in
 * `PBXKIT_PUBLISH_REPO` when the result changed. The nodes follow the repository in `--mode node`.
 */
export async function run(_args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const e = new Env(env);
  let s: {
    databaseUrl: string;
    schema: string;
    baseDir: string;
    repoDir: string;
    branch: string;
    seconds: number;
  };
  try {
    s = {
      databaseUrl: e.string('PBXKIT_DATABASE_URL'),
      schema: e.string('PBXKIT_FUSIONPBX_SCHEMA', 'public'),
      baseDir: e.string('PBXKIT_SOURCE_DIR'),
      repoDir: e.string('PBXKIT_PUBLISH_REPO'),
      branch: e.string('PBXKIT_GIT_REF', 'main'),
      seconds: e.int('PBXKIT_PUBLISH_SECONDS', 30, 1, 86_400),
    };
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    process.stderr.write(`freeswitch-config-sync: ${err.message}\n`);
    process.exit(2);
  }
  const logger = pino({ base: { service: 'pbxkit-fs-config-sync', mode: 'publish' } });
  const pool = new pg.Pool({ connectionString: s.databaseUrl, max: 1 });
  const sql = pgClient(pool);
  const publisher = new HybridPublisher({
    source: new RenderSource({
      label: 'postgres:fusionpbx',
      render: fusionPbxRenderer(sql, { schema: s.schema }),
      base: new DirectorySource({ dir: s.baseDir }),
    }),
    repoDir: s.repoDir,
    branch: s.branch,
  });
  const once = async () => {
    try {
      const result = await publisher.publish('render from FusionPBX');
      if (result.changed) logger.info({ commit: result.commit }, 'published');
    } catch (err) {
      logger.error({ err }, 'publish failed');
    }
  };
  await once();
  const timer = setInterval(() => void once(), s.seconds * 1000);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      clearInterval(timer);
      sql.close().finally(() => pool.end().finally(() => process.exit(0)));
    });
  }
}
