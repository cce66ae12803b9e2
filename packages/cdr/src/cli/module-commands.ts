import { readFile, stat } from 'node:fs/promises';
import type { ImportCounts } from '../csv/batcher.js';
import { readCdrCsvConfig } from '../csv/config.js';
import { CsvFollower } from '../csv/follow.js';
import { importCsvFiles } from '../csv/import.js';
import { readCdrPgCsvConfig } from '../pgcsv/config.js';
import { importPgCsvSpool } from '../pgcsv/import-spool.js';
import { PgCsvCdrSink } from '../pgcsv/sink.js';
import type { CdrSink } from '../sink.js';
import { PostgresBulkCdrWriter } from '../sinks/postgres-bulk.js';
import { type CliIo, oneLine, openStore, UsageError } from './common.js';

type Values = Record<string, string | boolean | string[] | undefined>;

export const MODULE_USAGE = `  pbxkit-cdr csv-import <files...> --config cdr_csv.conf.xml --node ID --into <db-url> [--time-zone ZONE]
  pbxkit-cdr csv-follow <cdr-csv-dir> --config cdr_csv.conf.xml --node ID --into <db-url> --state FILE
                    [--file Master.csv] [--time-zone ZONE] [--poll-ms N]
  pbxkit-cdr pg-csv-spool <spool files...> --config cdr_pg_csv.conf.xml --node ID --into <db-url>
                    [--module-table] [--time-zone ZONE]`;

export const MODULE_HELP = `'csv-import' reads mod_cdr_csv files (Master.csv, <accountcode>.csv, rotated copies) with the templates of
the node's cdr_csv.conf.xml, in rotation order, into v_xml_cdr (postgres://, pglite:) or MongoDB; 'csv-follow'
follows the live Master.csv of a cdr-csv directory (resuming from --state, reading rotated files once) until
SIGINT/SIGTERM. 'pg-csv-spool' imports mod_cdr_pg_csv's fallback files (cdr-spool.csv / cdr-spool.sql and
their rotated copies) into v_xml_cdr, or with --module-table into the module's own table (db-table of the
config) at --into. --node names the FreeSWITCH node (stored in pbxkit_cdr_node with every CDR); --time-zone
is the IANA zone the node writes *_stamp in (default: this machine's). Each prints imported / duplicate /
refused counts and every refused line (file:line: reason); exit 1 when some lines were refused.`;

function need(values: Values, name: string, command: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`${command}: --${name} is required`);
  return v;
}

async function readConfig(path: string): Promise<string> {
  return readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`--config: ${err.code === 'ENOENT' ? `no such file: ${path}` : oneLine(err)}`);
  });
}

async function mustExist(paths: string[]): Promise<void> {
  for (const p of paths) {
    if (!(await stat(p).catch(() => undefined))) throw new UsageError(`no such file or directory: ${p}`);
  }
}

/** The store of `--into`: the bulk writer for PostgreSQL and PGlite (fast imports), else the usual sinks. */
async function openBulkStore(into: string): Promise<CdrSink> {
  let writer: PostgresBulkCdrWriter | undefined;
  if (/^postgres(ql)?:\/\//.test(into)) writer = new PostgresBulkCdrWriter({ connectionString: into });
  else if (into.startsWith('pglite:')) {
    writer = new PostgresBulkCdrWriter({ pglite: { dataDir: into.slice('pglite:'.length) || 'memory://' } });
  }
  if (!writer) return openStore(into);
  await writer.createSchema();
  return writer;
}

/** A progress bar on a terminal, redrawn at most every 200 ms; nothing otherwise (the summary follows). */
function progressBar(io: CliIo): (fraction: number, label: string) => void {
  let last = 0;
  return (fraction, label) => {
    if (!io.stderr.isTTY) return;
    const now = Date.now();
    if (now - last < 200 && fraction < 1) return;
    last = now;
    const width = 30;
    const filled = Math.round(Math.min(1, fraction) * width);
    io.stderr.write(
      `\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(fraction * 100).toFixed(0)}% ${label}`,
    );
    if (fraction >= 1) io.stderr.write('\n');
  };
}

function printReport(io: CliIo, counts: ImportCounts, seconds: number): number {
  const rate = seconds > 0 ? Math.round(counts.read / seconds) : counts.read;
  io.stdout.write(
    `${counts.read} read: ${counts.imported} imported, ${counts.duplicate} duplicate, ${counts.refused.length} refused (${seconds.toFixed(1)} s, ${rate} lines/s)\n`,
  );
  for (const r of counts.refused) io.stdout.write(`REFUSED ${r.file}:${r.line}: ${r.reason}\n`);
  return counts.refused.length ? 1 : 0;
}

/** `pbxkit-cdr csv-import <files...> --config F --node ID --into URL [--time-zone Z]`. */
export async function csvImportCommand(paths: string[], values: Values, io: CliIo): Promise<number> {
  if (paths.length === 0) throw new UsageError('csv-import: no files given');
  const config = readCdrCsvConfig(await readConfig(need(values, 'config', 'csv-import')));
  const node = need(values, 'node', 'csv-import');
  const into = need(values, 'into', 'csv-import');
  await mustExist(paths);
  const sink = await openBulkStore(into).catch((err: unknown) => {
    throw new UsageError(oneLine(err));
  });
  const bar = progressBar(io);
  const started = performance.now();
  try {
    const report = await importCsvFiles(paths, {
      config,
      node,
      timeZone: values['time-zone'] as string | undefined,
      sink,
      onProgress: (p) => bar(p.bytesDone / Math.max(p.bytesTotal, 1), `${p.records} lines`),
    });
    return printReport(io, report, (performance.now() - started) / 1000);
  } finally {
    await sink.close?.();
  }
}

/** `pbxkit-cdr csv-follow <dir> --config F --node ID --into URL --state FILE`: runs until SIGINT/SIGTERM. */
export async function csvFollowCommand(
  paths: string[],
  values: Values,
  io: CliIo,
  until: Promise<unknown> = signalled(),
): Promise<number> {
  if (paths.length !== 1) throw new UsageError('csv-follow takes one directory (the cdr-csv log directory)');
  const config = readCdrCsvConfig(await readConfig(need(values, 'config', 'csv-follow')));
  const node = need(values, 'node', 'csv-follow');
  const into = need(values, 'into', 'csv-follow');
  const stateFile = need(values, 'state', 'csv-follow');
  await mustExist(paths);
  const sink = await openBulkStore(into).catch((err: unknown) => {
    throw new UsageError(oneLine(err));
  });
  const follower = new CsvFollower({
    dir: paths[0] as string,
    file: values.file as string | undefined,
    config,
    node,
    timeZone: values['time-zone'] as string | undefined,
    sink,
    stateFile,
    pollMs: values['poll-ms'] ? Number(values['poll-ms']) : undefined,
    onRefused: (r) => io.stderr.write(`pbxkit-cdr: refused ${r.file}:${r.line}: ${r.reason}\n`),
  });
  follower.start();
  io.stderr.write(`following ${paths[0]}/${values.file ?? 'Master.csv'} (state in ${stateFile})\n`);
  await until;
  await follower.stop();
  await sink.close?.();
  const c = follower.counts;
  io.stdout.write(
    `${c.read} read: ${c.imported} imported, ${c.duplicate} duplicate, ${c.refused.length} refused\n`,
  );
  return 0;
}

function signalled(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/** `pbxkit-cdr pg-csv-spool <files...> --config F --node ID --into URL [--module-table]`. */
export async function pgCsvSpoolCommand(paths: string[], values: Values, io: CliIo): Promise<number> {
  if (paths.length === 0) throw new UsageError('pg-csv-spool: no spool files given');
  const config = readCdrPgCsvConfig(await readConfig(need(values, 'config', 'pg-csv-spool')));
  const node = need(values, 'node', 'pg-csv-spool');
  const into = need(values, 'into', 'pg-csv-spool');
  await mustExist(paths);
  let sink: CdrSink;
  if (values['module-table'] === true) {
    if (!/^postgres(ql)?:\/\//.test(into)) throw new UsageError('--module-table needs a postgres:// --into');
    const table = new PgCsvCdrSink({ connectionString: into }, { config, moduleQuoting: true });
    await table.createSchema();
    sink = table;
  } else {
    sink = await openBulkStore(into).catch((err: unknown) => {
      throw new UsageError(oneLine(err));
    });
  }
  const bar = progressBar(io);
  const started = performance.now();
  try {
    const report = await importPgCsvSpool(paths, {
      config,
      node,
      timeZone: values['time-zone'] as string | undefined,
      sink,
      onProgress: (p) => bar(p.filesDone / p.filesTotal, `${p.records} rows`),
    });
    for (const f of report.files) {
      io.stdout.write(
        `${f.file} (${f.format}): ${f.imported} imported, ${f.duplicate} duplicate, ${f.refused} refused\n`,
      );
    }
    return printReport(io, report, (performance.now() - started) / 1000);
  } finally {
    await sink.close?.();
  }
}
