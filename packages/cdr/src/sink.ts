import type { CdrRecord } from './record.js';

/**
 * A destination for CDRs. The dispatcher calls `write` with a batch and retries the whole batch when it
 * rejects, so every sink must be idempotent by call uuid: writing the same CDR twice stores it once.
 */
export interface CdrSink {
  /** Stable name, used in metrics, logs and the spool's per-sink state. */
  readonly name: string;
  /** Stores every record of the batch, or rejects (then the batch is retried). */
  write(records: readonly CdrRecord[]): Promise<void>;
  /** Releases connections. */
  close?(): Promise<void>;
}

/** A sink that keeps CDRs and can forget old ones (retention). */
export interface CdrStore extends CdrSink {
  /**
   * Deletes CDRs that started before `cutoff`, in batches of `batchSize` rows so no statement holds locks for
   * long; resolves with the number deleted.
   */
  purgeOlderThan(cutoff: Date, options?: { batchSize?: number; signal?: AbortSignal }): Promise<number>;
}
