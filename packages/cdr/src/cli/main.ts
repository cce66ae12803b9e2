import { parseArgs } from 'node:util';
import type { CdrSink } from '../sink.js';
import { MongoCdrSink } from '../sinks/mongo.js';
import { PostgresCdrSink } from '../sinks/postgres.js';
import { inspectSpool, type SpoolReport } from '../spool/inspect.js';
import { collectCdrFiles } from './files.js';
import { deliverFiles, type FileRunSummary } from './run-files.js';

/** Where the CLI writes. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

const USAGE = `usage:
  pbxkit-cdr import <files|dirs...> --into <postgres://...|pglite:<dir>|mongodb://...> [--concurrency N] [--move-done DIR]
  pbxkit-cdr repush <files|dirs...> --to <http(s)://...> [--user U --password P] [--format form|xml|text-xml] [--concurrency N] [--move-done DIR]
  pbxkit-cdr spool <spool-dir> [--export DIR [--all]] [--json]

Reads FreeSWITCH CDR files: log-dir files (raw XML) and err-log-dir files (URL-encoded or base64, as
mod_xml_cdr wrote them), sniffing each. Safe to run twice: the stores are idempotent by call uuid.
'import' creates the v_xml_cdr table when it is missing. Exits 1 and lists the files that failed.
'spool' reads a receiver's spool without changing it (safe while the service runs): segments, entries, what
each sink still lacks, dead letters, quarantined bodies; --export writes the CDRs some sink lacks (all with
--all) as <uuid>.cdr.xml files that 'import' and 'repush' take.`;

/** Opens the store named by an `--into` URL. */
export async function openStore(into: string): Promise<CdrSink> {
  if (/^postgres(ql)?:\/\//.test(into)) {
    const sink = new PostgresCdrSink({ connectionString: into });
    await sink.createSchema();
    return sink;
  }
  if (into.startsWith('pglite:')) {
    const sink = new PostgresCdrSink({ pglite: { dataDir: into.slice('pglite:'.length) || 'memory://' } });
    await sink.createSchema();
    return sink;
  }
  if (/^mongodb(\+srv)?:\/\//.test(into)) {
    const sink = new MongoCdrSink({ url: into });
    await sink.ensureIndexes();
    return sink;
  }
  throw new Error(`--into must be a postgres://, pglite: or mongodb:// URL, not ${JSON.stringify(into)}`);
}

function progress(io: CliIo, summary: FileRunSummary): void {
  const handled = summary.done + summary.failed.length;
  if (io.stderr.isTTY) {
    const width = 30;
    const filled = Math.round((handled / Math.max(summary.total, 1)) * width);
    io.stderr.write(
      `\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${handled}/${summary.total} (${summary.failed.length} failed)`,
    );
    if (handled === summary.total) io.stderr.write('\n');
  } else if (handled === summary.total || handled % 1000 === 0) {
    io.stderr.write(`${handled}/${summary.total} files (${summary.failed.length} failed)\n`);
  }
}

/**
 * The `pbxkit-cdr` command. Resolves with the exit code: 0 when every file was delivered, 1 when some failed
 * (each listed), 2 on a usage error.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
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
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [command, ...paths] = parsed.positionals;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help || !command) {
    io.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }
  if (paths.length === 0) {
    io.stderr.write(`no files or directories given\n${USAGE}\n`);
    return 2;
  }
  if (command === 'spool') return spoolCommand(paths, values, io);
  let sink: CdrSink;
  try {
    if (command === 'import' && typeof values.into === 'string') sink = await openStore(values.into);
    else if (command === 'repush' && typeof values.to === 'string') sink = await openForwarder(values);
    else {
      io.stderr.write(
        `${command === 'import' ? '--into' : command === 'repush' ? '--to' : 'a command'} is required\n${USAGE}\n`,
      );
      return 2;
    }
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  try {
    const files = await collectCdrFiles(paths);
    const summary = await deliverFiles(files, sink, {
      concurrency: values.concurrency ? Number(values.concurrency) : undefined,
      moveDoneTo: typeof values['move-done'] === 'string' ? values['move-done'] : undefined,
      onProgress: (s) => progress(io, s),
    });
    io.stdout.write(
      `${summary.done} of ${summary.total} CDR files delivered, ${summary.failed.length} failed\n`,
    );
    for (const { file, error } of summary.failed) io.stdout.write(`FAILED ${file}: ${error}\n`);
    return summary.failed.length ? 1 : 0;
  } finally {
    await sink.close?.();
  }
}

async function openForwarder(values: Record<string, string | boolean | undefined>): Promise<CdrSink> {
  const { HttpForwardSink } = await import('../sinks/http-forward.js');
  const format = values.format ?? 'form';
  if (format !== 'form' && format !== 'xml' && format !== 'text-xml') {
    throw new Error(`--format must be form, xml or text-xml, not ${JSON.stringify(format)}`);
  }
  return new HttpForwardSink({
    url: values.to as string,
    format,
    credentials:
      typeof values.user === 'string'
        ? { username: values.user, password: String(values.password ?? '') }
        : undefined,
  });
}

async function spoolCommand(
  paths: string[],
  values: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  if (paths.length !== 1) {
    io.stderr.write(`spool takes one spool directory\n${USAGE}\n`);
    return 2;
  }
  let report: SpoolReport;
  try {
    report = await inspectSpool(paths[0] as string, {
      exportTo: typeof values.export === 'string' ? values.export : undefined,
      all: values.all === true,
    });
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
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
