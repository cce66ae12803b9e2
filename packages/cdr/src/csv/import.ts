import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { CdrSink } from '../sink.js';
import { emptyCounts, type ImportCounts, RecordBatcher } from './batcher.js';
import { type CdrCsvConfig, type CdrLegs, parseCsvFileName, templateForFile } from './config.js';
import { CsvCdrReader } from './reader.js';
import { RecordSplitter } from './splitter.js';
import type { CsvTemplate } from './template.js';

/** Options of {@link importCsvFiles}. */
export interface CsvImportOptions {
  /** The node's `cdr_csv.conf.xml`, read: picks each file's template and gives `legs`. */
  config?: CdrCsvConfig;
  /** Or one template for every file (then `legs` defaults to `a`). */
  template?: CsvTemplate;
  /** The node the files came from (its switch name or an id of yours): stored with every CDR. */
  node: string;
  /** Overrides the config's `legs`. */
  legs?: CdrLegs;
  /** IANA zone of the node's `*_stamp` values. Default: this process's zone. */
  timeZone?: string;
  sink: CdrSink;
  /** Records per write. Default 5000. */
  batchSize?: number;
  /** Called after each chunk read (about every 1 MiB). */
  onProgress?: (progress: CsvImportProgress) => void;
}

/** How far an import is, in bytes of all its files. */
export interface CsvImportProgress {
  file: string;
  bytesDone: number;
  bytesTotal: number;
  /** Records read so far, over all files. */
  records: number;
}

/** What an import did, over all files and per file. */
export interface CsvImportReport extends ImportCounts {
  files: Array<{ file: string; template: string } & Omit<ImportCounts, 'refused'> & { refused: number }>;
}

/**
 * Orders mod_cdr_csv files as they were written: rotated files (`<name>.csv.YYYY-MM-DD-HH-MM-SS`) by their
 * rotation time (`Master.csv` first among files rotated together), then the live files.
 */
export function orderCsvFiles(paths: readonly string[]): string[] {
  const key = (p: string) => {
    const name = parseCsvFileName(p);
    // Master.csv first among files rotated together: it holds every leg, the accountcode files repeat some.
    return `${name?.rotatedAt ?? '9999'}\0${name?.base === 'Master' ? '0' : '1'}${basename(p)}`;
  };
  return [...paths].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * Imports whole mod_cdr_csv files (rotated ones, or copies), in the order they were written, into a sink.
 * Lines that do not fit their template are refused and listed, never guessed; a last line with no newline is
 * refused as cut off. Idempotent: the stores keep one row per call uuid (or per stable key, see `stableKey`).
 */
export async function importCsvFiles(
  paths: readonly string[],
  options: CsvImportOptions,
): Promise<CsvImportReport> {
  const ordered = orderCsvFiles(paths);
  const sizes = await Promise.all(ordered.map(async (p) => (await stat(p)).size));
  const bytesTotal = sizes.reduce((a, b) => a + b, 0);
  const report: CsvImportReport = { ...emptyCounts(), files: [] };
  let before = 0;
  for (const [i, file] of ordered.entries()) {
    const template = options.template ?? templateFor(options.config, file);
    const counts = emptyCounts();
    const batcher = new RecordBatcher(options.sink, counts, options.batchSize);
    const reader = new CsvCdrReader({
      template,
      node: options.node,
      legs: options.legs ?? options.config?.legs ?? 'a',
      timeZone: options.timeZone,
      file,
    });
    const splitter = new RecordSplitter(template.linesPerRecord);
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      for (const split of splitter.push(chunk as Buffer)) {
        const read = reader.read(split);
        if (read.ok) await batcher.add(read.record);
        else batcher.refuse(file, read.line, read.reason, read.text);
      }
      options.onProgress?.({
        file,
        bytesDone: before + splitter.committed + splitter.pending,
        bytesTotal,
        records: report.read + counts.read,
      });
    }
    if (splitter.pending > 0) {
      batcher.refuse(file, splitter.nextLine, 'the last line has no newline: cut off', '');
    }
    await batcher.flush();
    before += sizes[i] as number;
    report.read += counts.read;
    report.imported += counts.imported;
    report.duplicate += counts.duplicate;
    report.refused.push(...counts.refused);
    report.files.push({ file, template: template.name, ...counts, refused: counts.refused.length });
    options.onProgress?.({ file, bytesDone: before, bytesTotal, records: report.read });
  }
  return report;
}

function templateFor(config: CdrCsvConfig | undefined, file: string): CsvTemplate {
  if (!config) throw new TypeError('importCsvFiles needs `config` or `template`');
  return templateForFile(config, file);
}
