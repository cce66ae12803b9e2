import { parseArgs } from 'node:util';
import type { CdrSink } from '../sink.js';
import { inspectSpool, type SpoolReport } from '../spool/inspect.js';
import { replayDeadCommand, repushArchiveCommand } from './archive-commands.js';
import { type CliIo, oneLine, openForwarder, openStore, progress, UsageError } from './common.js';
import { collectCdrFiles } from './files.js';
import {
  csvFollowCommand,
  csvImportCommand,
  MODULE_HELP,
  MODULE_USAGE,
  pgCsvSpoolCommand,
} from './module-commands.js';
import { deliverFiles } from './run-files.js';

export { type CliIo, openStore } from './common.js';

const USAGE = `usage:
  pbxkit-cdr import <files|dirs...> --into <postgres://...|pglite:<dir>|mongodb://...> [--concurrency N] [--move-done DIR]
  pbxkit-cdr repush <files|dirs...> --to <http(s)://...> [--user U --password P] [--format form|xml|text-xml] [--concurrency N] [--move-done DIR]
  pbxkit-cdr repush --archive <dir> (--from <time> [--to <time>] | --uuid <uuid>)... [--sink <name>]
                    (--spool <spool-dir> | --into <db-url> | --url <http(s)://...> [--user U --password P] [--format F])
  pbxkit-cdr replay-dead --spool <spool-dir> [--sink <name>]
  pbxkit-cdr spool <spool-dir> [--export DIR [--all]] [--json]
${MODULE_USAGE}

Reads FreeSWITCH CDR files: log-dir files (raw XML) and err-log-dir files (URL-encoded or base64, as
mod_xml_cdr wrote them), sniffing each. Safe to run twice: the stores are idempotent by call uuid.
'import' creates the v_xml_cdr table when it is missing. Exits 1 and lists the files that failed, 2 on a
usage error (a path that does not exist, a bad option). --move-done moves each delivered file into DIR,
across file systems too; a name already there gets a number (a_<uuid>.1.cdr.xml); a delivered file that
cannot be moved (read-only directory) stays where it is, with a warning.
'spool' reads a receiver's spool without changing it (safe while the service runs): segments, entries, what
each sink still lacks, dead letters, quarantined bodies; --export writes the CDRs some sink lacks (all with
--all) as <uuid>.cdr.xml files that 'import' and 'repush' take.
'repush --archive' sends again the CDRs a service archived (CdrArchive) that were received in [--from, --to)
(--to defaults to now; times are 2026-08-21T14:00 local, 2026-08-21T14:00Z UTC, or 2h for two hours ago),
and/or have one of the --uuid call uuids, and/or were stored by --sink: into a spool (for --sink only, when
given; the service must be stopped, it holds the spool), a database, or an HTTP URL. 'replay-dead' puts the
dead letters of a spool (of --sink only, when given) back into its queue, for the sink that refused them.
Both show a progress bar on a terminal (plain lines otherwise), exit 1 when some CDRs failed, 2 on a usage
error or when the spool or store cannot be opened.
${MODULE_HELP}`;

/**
 * The `pbxkit-cdr` command. Resolves with the exit code: 0 when every file was delivered (files that could not
 * be moved by `--move-done` are warnings), 1 when some failed (each listed) or the run could not go on, 2 on a
 * usage error (an unknown option, a missing argument, a path that does not exist). Every error is one line on
 * stderr; it never throws.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    const usage = err instanceof UsageError;
    io.stderr.write(`pbxkit-cdr: ${oneLine(err)}${usage ? " (see 'pbxkit-cdr --help')" : ''}\n`);
    return usage ? 2 : 1;
  }
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        into: { type: 'string' },
        to: { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        format: { type: 'string' },
        concurrency: { type: 'string' },
        'move-done': { type: 'string' },
        export: { type: 'string' },
        all: { type: 'boolean' },
        archive: { type: 'string' },
        from: { type: 'string' },
        uuid: { type: 'string', multiple: true },
        sink: { type: 'string' },
        spool: { type: 'string' },
        url: { type: 'string' },
        json: { type: 'boolean' },
        config: { type: 'string' },
        node: { type: 'string' },
        'time-zone': { type: 'string' },
        state: { type: 'string' },
        file: { type: 'string' },
        'poll-ms': { type: 'string' },
        'module-table': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(oneLine(err));
  }
  const [command, ...paths] = parsed.positionals;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const archiveValues = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help || !command) {
    io.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  if (command === 'csv-import') return csvImportCommand(paths, values, io);
  if (command === 'csv-follow') return csvFollowCommand(paths, values, io);
  if (command === 'pg-csv-spool') return pgCsvSpoolCommand(paths, values, io);
  if (!['import', 'repush', 'spool', 'replay-dead'].includes(command)) {
    throw new UsageError(
      `unknown command ${JSON.stringify(command)}: import, repush, replay-dead, spool, csv-import, csv-follow or pg-csv-spool`,
    );
  }
  if (command === 'replay-dead') {
    if (paths.length) throw new UsageError('replay-dead takes no files: give the spool with --spool');
    return replayDeadCommand(archiveValues, io);
  }
  if (command === 'repush' && typeof values.archive === 'string') {
    if (paths.length) throw new UsageError('repush --archive takes no files: select with --from/--to/--uuid');
    return repushArchiveCommand(archiveValues, io);
  }
  if (paths.length === 0) throw new UsageError(`${command}: no files or directories given`);
  if (command === 'spool') return spoolCommand(paths, values, io);
  if (command === 'import' && typeof values.into !== 'string')
    throw new UsageError('import: --into is required');
  if (command === 'repush' && typeof values.to !== 'string') throw new UsageError('repush: --to is required');
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new UsageError(
      `--concurrency must be a whole number >= 1, not ${JSON.stringify(values.concurrency)}`,
    );
  }
  // The paths first: a typo is reported before any store is opened.
  const files = await collectCdrFiles(paths).catch((err: unknown) => {
    const { code, path } = err as NodeJS.ErrnoException;
    if (code === 'ENOENT') throw new UsageError(`no such file or directory: ${path}`);
    if (code === 'EACCES') throw new UsageError(`permission denied: ${path}`);
    throw err;
  });
  let sink: CdrSink;
  try {
    sink =
      command === 'import'
        ? await openStore(values.into as string)
        : await openForwarder(values, values.to as string);
  } catch (err) {
    throw new UsageError(oneLine(err));
  }
  const moveTo = typeof values['move-done'] === 'string' ? values['move-done'] : undefined;
  try {
    const summary = await deliverFiles(files, sink, {
      concurrency,
      moveDoneTo: moveTo,
      onProgress: (s) => progress(io, s),
    });
    const moved =
      moveTo && summary.notMoved.length ? `, ${summary.notMoved.length} not moved to ${moveTo}` : '';
    io.stdout.write(
      `${summary.done} of ${summary.total} CDR files delivered, ${summary.failed.length} failed${moved}\n`,
    );
    for (const { file, error } of summary.failed) io.stdout.write(`FAILED ${file}: ${error}\n`);
    for (const { file, error } of summary.notMoved) {
      io.stderr.write(`pbxkit-cdr: warning: ${file} was delivered but not moved to ${moveTo}: ${error}\n`);
    }
    return summary.failed.length ? 1 : 0;
  } finally {
    await sink.close?.();
  }
}

async function spoolCommand(
  paths: string[],
  values: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  if (paths.length !== 1) throw new UsageError('spool takes one spool directory');
  const report: SpoolReport = await inspectSpool(paths[0] as string, {
    exportTo: typeof values.export === 'string' ? values.export : undefined,
    all: values.all === true,
  });
  if (values.json) {
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const mib = (report.segments.reduce((n, s) => n + s.bytes, 0) / 1024 / 1024).toFixed(1);
  const lines = [
    `spool ${report.dir}: ${report.segments.length} segment(s), ${mib} MiB, ${report.entries.length} entries`,
    `sinks (journals): ${report.sinks.join(', ') || 'none yet'}`,
    ...report.sinks.map((s) => `  ${s}: ${report.waiting[s]} not stored yet`),
    `dead letters: ${
      Object.entries(report.deadLetters)
        .map(([s, n]) => `${s} ${n}`)
        .join(', ') || 'none'
    }`,
    `quarantined bodies: ${report.quarantined}`,
    ...report.segments
      .filter((s) => s.tornTail)
      .map((s) => `  ${s.name}: ignored bytes after its last complete frame (${s.tornTail})`),
  ];
  if (typeof values.export === 'string')
    lines.push(`exported ${report.exported} CDR file(s) to ${values.export}`);
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
