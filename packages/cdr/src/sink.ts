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
  /**
   * Tells the dispatcher what a rejected write means. `true`: the sink could not take any write (connection
   * refused, reset or timed out, DNS failure, server shutting down, too many connections, ...): the batch is
   * retried until the sink is back, with capped backoff, the attempt is not counted towards `maxAttempts`, and
   * the sink is reported `down`. `false`: the sink refused these records (a constraint or data error): the
   * attempt counts, and a record still refused after `maxAttempts` is dead-lettered. Without this method the
   * dispatcher uses {@link isTransientError} (Node's network errors and {@link CdrSinkUnavailableError}).
   */
  isTransient?(err: unknown): boolean;
  /** Releases connections. */
  close?(): Promise<void>;
}

/** What {@link PreparingCdrSink.prepare} returns. */
export interface PreparedCdr<P> {
  /** What `writePrepared` needs of the record, and nothing more. */
  item: P;
  /** About how many bytes of memory `item` holds, for the dispatcher's cache bound. */
  bytes: number;
}

/**
 * A sink that stores only a little of each record can say so: the dispatcher then calls `prepare` once, when
 * the CDR arrives, keeps only the prepared item while the CDR waits for its batch, and writes batches with
 * `writePrepared`. A parsed 50 KB CDR is about 120 KB of heap and a `v_xml_cdr` row about 1 KB: under load,
 * hundreds of CDRs wait at once, and every young-generation GC copies what they hold (measured: 0.8 s of GC
 * pauses per 3,000 CDRs when whole records waited). `write(records)` stays the plain way to call the sink.
 */
export interface PreparingCdrSink<P = unknown> extends CdrSink {
  /** Reduces a record to what this sink stores. Throwing dead-letters the entry for this sink. */
  prepare(record: CdrRecord): PreparedCdr<P>;
  /** `write` for prepared items: stores every item of the batch, or rejects (then it is retried). */
  writePrepared(items: readonly P[]): Promise<void>;
}

/** True when the sink implements {@link PreparingCdrSink}. */
export function isPreparingSink(sink: CdrSink): sink is PreparingCdrSink {
  const s = sink as Partial<PreparingCdrSink>;
  return typeof s.prepare === 'function' && typeof s.writePrepared === 'function';
}

/** A sink that keeps CDRs and can forget old ones (retention). */
export interface CdrStore extends CdrSink {
  /**
   * Deletes CDRs that started before `cutoff`, in batches of `batchSize` rows so no statement holds locks for
   * long; resolves with the number deleted.
   */
  purgeOlderThan(cutoff: Date, options?: { batchSize?: number; signal?: AbortSignal }): Promise<number>;
}
