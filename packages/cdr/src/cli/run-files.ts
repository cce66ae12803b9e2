import { mkdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { decodeCdrFile } from '../decode/transport.js';
import { legFromName, parseCdr } from '../parse/parse-cdr.js';
import type { CdrSink } from '../sink.js';
import { moveAside } from './move-aside.js';

/** What happened to each file of a run. */
export interface FileRunSummary {
  total: number;
  /** Files whose CDR the sink stored. */
  done: number;
  /** Files that could not be read, decoded, parsed or stored, with why. */
  failed: Array<{ file: string; error: string }>;
  /** Files stored (counted in `done`) that could not be moved to `moveDoneTo`, with why; they stay in place. */
  notMoved: Array<{ file: string; error: string }>;
}

/** Options of {@link deliverFiles}. */
export interface DeliverFilesOptions {
  /** Files written at once. Default 4. */
  concurrency?: number;
  /**
   * Move each delivered file into this directory (created when missing), also from another file system (copy,
   * fsync, delete). A name already there gets a number (`a_<uuid>.1.cdr.xml`), never replaced. A file that
   * cannot be moved (a read-only directory) is still delivered: it is listed in `notMoved`.
   */
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
  const summary: FileRunSummary = { total: files.length, done: 0, failed: [], notMoved: [] };
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a whole number >= 1, not ${concurrency}`);
  }
  const moveTo = options.moveDoneTo;
  if (moveTo) await mkdir(moveTo, { recursive: true });
  const taken = new Set<string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++] as string;
      let stored = false;
      try {
        const { xml } = decodeCdrFile(await readFile(file));
        await sink.write([parseCdr(xml, { leg: legFromName(basename(file)) })]);
        stored = true;
        summary.done++;
      } catch (err) {
        summary.failed.push({ file, error: (err as Error).message });
      }
      if (stored && moveTo) {
        try {
          await moveAside(file, moveTo, taken);
        } catch (err) {
          summary.notMoved.push({ file, error: (err as Error).message });
        }
      }
      options.onProgress?.(summary);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  summary.failed.sort((a, b) => a.file.localeCompare(b.file));
  summary.notMoved.sort((a, b) => a.file.localeCompare(b.file));
  return summary;
}
