import { mkdir, readFile, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { decodeCdrFile } from '../decode/transport.js';
import { legFromName, parseCdr } from '../parse/parse-cdr.js';
import type { CdrSink } from '../sink.js';

/** What happened to each file of a run. */
export interface FileRunSummary {
  total: number;
  done: number;
  failed: Array<{ file: string; error: string }>;
}

/** Options of {@link deliverFiles}. */
export interface DeliverFilesOptions {
  /** Files written at once. Default 4. */
  concurrency?: number;
  /** Move each delivered file into this directory (created when missing). */
  moveDoneTo?: string;
  /** Called after each file. */
  onProgress?: (summary: FileRunSummary) => void;
}

/**
 * Reads CDR files (raw XML from `log-dir`, URL-encoded or base64 from `err-log-dir`, sniffed), and writes each to
 * the sink. Idempotent as the sinks are: running twice stores each CDR once. A file that cannot be read,
 * decoded, parsed or written is listed in `failed` with the reason; the others go on.
 */
export async function deliverFiles(
  files: readonly string[],
  sink: CdrSink,
  options: DeliverFilesOptions = {},
): Promise<FileRunSummary> {
  const summary: FileRunSummary = { total: files.length, done: 0, failed: [] };
  if (options.moveDoneTo) await mkdir(options.moveDoneTo, { recursive: true });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++] as string;
      try {
        const { xml } = decodeCdrFile(await readFile(file));
        await sink.write([parseCdr(xml, { leg: legFromName(basename(file)) })]);
        if (options.moveDoneTo) await rename(file, join(options.moveDoneTo, basename(file)));
        summary.done++;
      } catch (err) {
        summary.failed.push({ file, error: (err as Error).message });
      }
      options.onProgress?.(summary);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  summary.failed.sort((a, b) => a.file.localeCompare(b.file));
  return summary;
}
