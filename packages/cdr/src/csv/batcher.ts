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
 * One batch may be in flight while the next is read and parsed, so the reader and the database work at the
 * same time; `flush` waits for every write, and a failed write is thrown by the next `add` or `flush`.
 */
export class RecordBatcher {
  private batch: CdrRecord[] = [];
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly sink: CdrSink,
    readonly counts: ImportCounts,
    private readonly batchSize = 5000,
  ) {}

  /** Adds a record; when a batch is full, waits for the previous write (not this one) before going on. */
  async add(record: CdrRecord): Promise<void> {
    this.counts.read++;
    this.batch.push(record);
    if (this.batch.length >= this.batchSize) {
      await this.inFlight;
      const write = this.writeBatch();
      // Marked handled now; the error still reaches whoever awaits it next (add or flush).
      write.catch(() => {});
      this.inFlight = write;
    }
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

  /** Writes what is waiting and resolves when every write is done. */
  async flush(): Promise<void> {
    await this.inFlight;
    this.inFlight = undefined;
    await this.writeBatch();
  }

  private async writeBatch(): Promise<void> {
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
