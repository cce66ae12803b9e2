import { join } from 'node:path';
import {
  type ConfigSource,
  DirectorySource,
  GitSource,
  pgClient,
  RenderSource,
  type SqlClient,
} from '@pbxkit/core';
import { fusionPbxRenderer } from '@pbxkit/esl';
import pg from 'pg';
import type { SourceSettings } from './node-settings.js';

/** The configured source, and what to close at the end. */
export function openSource(
  settings: SourceSettings,
  stateDir: string,
): { source: ConfigSource; watchDir: string | undefined; close: () => Promise<void> } {
  if (settings.kind === 'git') {
    const source = new GitSource({
      remote: settings.remote,
      ref: settings.ref,
      checkoutDir: join(stateDir, 'checkout'),
      ...(settings.subdir ? { subdir: settings.subdir } : {}),
    });
    return { source, watchDir: undefined, close: async () => {} };
  }
  if (settings.kind === 'dir') {
    return {
      source: new DirectorySource({ dir: settings.dir }),
      watchDir: settings.dir,
      close: async () => {},
    };
  }
  const pool = new pg.Pool({ connectionString: settings.databaseUrl, max: 2 });
  const sql: SqlClient = pgClient(pool);
  const source = new RenderSource({
    label: 'postgres:fusionpbx',
    render: fusionPbxRenderer(sql, {
      schema: settings.schema,
      ...(settings.domain ? { domain: settings.domain } : {}),
    }),
    base: new DirectorySource({ dir: settings.baseDir }),
  });
  return {
    source,
    watchDir: undefined,
    close: async () => {
      await sql.close();
      await pool.end();
    },
  };
}
