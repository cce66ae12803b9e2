import type { CdrRecord } from '../record.js';
import type { CdrSink } from '../sink.js';

/** A line that was not stored, and why. */
export interface RefusedLine {
  file: string;
  line: number;
  reason: string;
  /** The line's text, cut to 200 characters. */
  text: string;
}

/** Counts of one import run (or one file of it). */
export interface ImportCounts {
  /** Records read (complete lines, or statements for a pg_csv spool). */
  read: number;
  /** Stored now. */
  imported: number;
  /** Already stored before (or twice in the input): left as they were. */
  duplicate: number;
  refused: RefusedLine[];
}

/** A sink that says how many records of a write were new (`PostgresBulkCdrWriter`). */
export interface CountingSink extends CdrSink {
  writeCounted(records: readonly CdrRecord[]): Promise<{ stored: number }>;
}

function isCounting(sink: CdrSink): sink is CountingSink {
  return typeof (sink as Partial<CountingSink>).writeCounted === 'function';
}

/** An empty {@link ImportCounts}. */
export function emptyCounts(): ImportCounts {
  return { read: 0, imported: 0, duplicate: 0, refused: [] };
}

/**
 * Collects records into batches and writes each to the sink, counting new and duplicate ones (a sink that
 * cannot count reports every record as imported: the stores are idempotent, so nothing is stored twice).
 */
export class RecordBatcher {
  private batch: CdrRecord[] = [];

  constructor(
    private readonly sink: CdrSink,
    readonly counts: ImportCounts,
    private readonly batchSize = 5000,
  ) {}

  /** Adds a record; resolves once a full batch is stored (so the reader waits while the store is busy). */
  async add(record: CdrRecord): Promise<void> {
    this.counts.read++;
    this.batch.push(record);
    if (this.batch.length >= this.batchSize) await this.flush();
  }

  refuse(file: string, line: number, reason: string, text: string): void {
    this.counts.read++;
    this.counts.refused.push({
      file,
      line,
      reason,
      text: text.length > 200 ? `${text.slice(0, 200)}…` : text,
    });
  }

  /** Writes what is waiting. */
  async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    if (isCounting(this.sink)) {
      const { stored } = await this.sink.writeCounted(batch);
      this.counts.imported += stored;
      this.counts.duplicate += batch.length - stored;
    } else {
      await this.sink.write(batch);
      this.counts.imported += batch.length;
    }
  }
}
