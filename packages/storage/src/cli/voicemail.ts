import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openSqlClient } from '@pbxkit/core';
import { LocalFsBackend } from '../backends/local.js';
import { S3Backend } from '../backends/s3.js';
import { storageConfigFromEnv } from '../config.js';
import { FusionPbxVoicemailIndex } from '../voicemail/fusionpbx-index.js';
import { importVoicemail } from '../voicemail/migrate.js';
import { ModVoicemailIndex } from '../voicemail/mod-voicemail-index.js';

const USAGE = `usage:
  pbxkit-voicemail import --database <postgres://...> [--tree <dir>] [--schema mod_voicemail|fusionpbx]
                          [--switch-root <dir>] [--base64] [--prefix <p>] [--dry-run] [--concurrency N] [--json]

Imports voicemail into the shared tier (S3, from PBXKIT_STORAGE_S3_BUCKET, _S3_ENDPOINT, _S3_REGION,
_S3_FORCE_PATH_STYLE, _S3_ACCESS_KEY_ID, _S3_SECRET_ACCESS_KEY), every copy proved (size and SHA-256 read back):
--tree, an existing voicemail tree (a GlusterFS mount of <storage_dir>/voicemail), and/or with --base64 the
messages FusionPBX keeps base64 in v_voicemail_messages. Keys are <profile>/<domain>/<user>/<file> under --prefix
(default voicemail). Only reads the tree and the database: FreeSWITCH sees what it saw. Message files without a
database row are listed as orphans and not imported. --schema picks the tables (default mod_voicemail:
voicemail_msgs; fusionpbx: v_voicemail_messages); --switch-root is <storage_dir>/voicemail as the switch names
it in file_path (default: --tree). Safe to run again: what is already there is not copied twice. Exits 1 when
some files failed, 2 on a usage error.`;

/** Where the command writes. */
export interface VoicemailCliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env?: Record<string, string | undefined>;
}

class UsageError extends Error {}

/** The `pbxkit-voicemail` command; resolves with the exit code and never throws. */
export async function runVoicemailCli(argv: readonly string[], io: VoicemailCliIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    const usage = err instanceof UsageError;
    const text = err instanceof Error ? err.message : String(err);
    io.stderr.write(
      `pbxkit-voicemail: ${text.replace(/\s+/g, ' ')}${usage ? " (see 'pbxkit-voicemail --help')" : ''}\n`,
    );
    return usage ? 2 : 1;
  }
}

async function run(argv: readonly string[], io: VoicemailCliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals[0] !== 'import' || positionals.length !== 1) throw new UsageError('the command is import');
  if (!values.database) throw new UsageError('--database is required');
  if (!values.tree && !values.base64) throw new UsageError('give --tree, --base64, or both');
  const schema = values.schema ?? 'mod_voicemail';
  if (schema !== 'mod_voicemail' && schema !== 'fusionpbx')
    throw new UsageError('--schema is mod_voicemail or fusionpbx');
  if (values.base64 && schema !== 'fusionpbx') throw new UsageError('--base64 needs --schema fusionpbx');
  const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UsageError('--concurrency is a whole number from 1');
  const config = storageConfigFromEnv(io.env ?? process.env);
  if (!config.s3) throw new UsageError('PBXKIT_STORAGE_S3_BUCKET is not set: where should the copies go?');
  const { keyTemplate: _template, ...s3Options } = config.s3;
  const shared = new S3Backend({ ...s3Options, prefix: values.prefix ?? 'voicemail' });
  const tree = values.tree ? new LocalFsBackend({ root: resolve(values.tree), minFreeBytes: 0 }) : undefined;
  const root = values['switch-root'] ?? (values.tree ? resolve(values.tree) : undefined);
  const sql = await openSqlClient({ connectionString: values.database });
  try {
    const fusion =
      schema === 'fusionpbx' ? new FusionPbxVoicemailIndex(sql, root ? { root } : {}) : undefined;
    const index = fusion ?? new ModVoicemailIndex(sql, root ? { root } : {});
    const report = await importVoicemail({
      shared,
      index,
      concurrency,
      ...(tree ? { tree } : {}),
      ...(values.base64 && fusion ? { base64: fusion.base64Messages() } : {}),
      ...(values['dry-run'] ? { dryRun: true } : {}),
    });
    if (values.json) io.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      io.stdout.write(
        `scanned ${report.scanned}, imported ${report.imported}, already there ${report.present}` +
          `${values['dry-run'] ? `, would import ${report.planned.length}` : ''}, orphans ${report.orphans.length}, failed ${report.failed.length}\n`,
      );
      for (const key of report.orphans) io.stdout.write(`orphan (no database row, not imported): ${key}\n`);
      for (const f of report.failed) io.stderr.write(`failed: ${f.key}: ${f.error}\n`);
    }
    return report.failed.length > 0 ? 1 : 0;
  } finally {
    await sql.close();
    shared.close();
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      tree: { type: 'string' },
      database: { type: 'string' },
      schema: { type: 'string' },
      'switch-root': { type: 'string' },
      base64: { type: 'boolean' },
      prefix: { type: 'string' },
      'dry-run': { type: 'boolean' },
      concurrency: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
