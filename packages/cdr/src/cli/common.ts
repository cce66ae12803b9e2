import { PbxkitError } from '@pbxkit/core';
import type { CdrSink } from '../sink.js';
import { MongoCdrSink } from '../sinks/mongo.js';
import { PostgresCdrSink } from '../sinks/postgres.js';

/** Where the CLI writes. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

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

/** How far a run is: `done` of `total` handled, `failed` of them failed. */
export interface Progress {
  total: number;
  done: number;
  failed: unknown[];
}

/** A progress bar on a terminal; otherwise a line per 1,000 (and at the end), naming what is counted. */
export function progress(io: CliIo, summary: Progress, what = 'files'): void {
  const handled = summary.done + summary.failed.length;
  if (io.stderr.isTTY) {
    const width = 30;
    const filled = Math.round((handled / Math.max(summary.total, 1)) * width);
    io.stderr.write(
      `\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${handled}/${summary.total} (${summary.failed.length} failed)`,
    );
    if (handled === summary.total) io.stderr.write('\n');
  } else if (handled === summary.total || handled % 1000 === 0) {
    io.stderr.write(`${handled}/${summary.total} ${what} (${summary.failed.length} failed)\n`);
  }
}

/** A mistake on the command line (unknown option, missing argument, a path that is not there): exit 2. */
export class UsageError extends PbxkitError {
  constructor(message: string) {
    super('CDR_CLI_USAGE', message);
  }
}

/** An error as one line: its message, without a stack (a file system error's message names the path already). */
export function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}

/** The HTTP forward sink of `--to`/`--url`, with `--user`, `--password` and `--format`. */
export async function openForwarder(values: Record<string, unknown>, url: string): Promise<CdrSink> {
  const { HttpForwardSink } = await import('../sinks/http-forward.js');
  const format = values.format ?? 'form';
  if (format !== 'form' && format !== 'xml' && format !== 'text-xml') {
    throw new Error(`--format must be form, xml or text-xml, not ${JSON.stringify(format)}`);
  }
  return new HttpForwardSink({
    url,
    format,
    credentials:
      typeof values.user === 'string'
        ? { username: values.user, password: String(values.password ?? '') }
        : undefined,
  });
}
