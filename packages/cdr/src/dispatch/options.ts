import { type Logger, PbxkitError, type Registry } from '@pbxkit/core';
import type { CdrArchive } from '../archive/archive.js';
import type { CdrSink } from '../sink.js';
import type { CdrSpool } from '../spool/spool.js';
import type { DispatcherErrorKind } from './health.js';
import type { DispatchRetryOptions, DispatchSinkOptions } from './worker.js';

/** Options of {@link CdrDispatcher}. */
export interface CdrDispatcherOptions {
  spool: CdrSpool;
  /** Destinations; each is written independently (one's outage never blocks another). Names must differ. */
  sinks: ReadonlyArray<CdrSink | DispatchSinkOptions>;
  /** Records per `write` call. Default 100. */
  batchSize?: number;
  /**
   * Batches in flight per sink. Default 2. An idle sink is written at once, even a batch of one; a further
   * batch starts while others are in flight only when a full `batchSize` is waiting, so that under load the
   * queue fills large batches (fewer, cheaper writes) instead of being split into small parallel ones.
   */
  concurrency?: number;
  /** Backoff and dead-letter policy of every sink (a sink's own `retry` overrides it). */
  retry?: DispatchRetryOptions;
  /** Where errors, retries, dead letters and sink state changes are logged. */
  logger?: Logger;
  /** Registry for the `pbxkit_cdr_sink_*` and `pbxkit_cdr_dispatcher_*` metrics. */
  registry?: Registry;
  /** How often the queue depth, lag, down-time and dead-letter gauges are refreshed, ms. Default 1000. */
  metricsIntervalMs?: number;
  /**
   * How often the spool is checked against the sinks' queues, ms. Default 30 000. An entry that is in the spool
   * but in no queue of a sink that lacks it (which only a bug can cause) is queued again, and logged and
   * counted as a `lost_entry` error; the dead letters on disk are recounted. 0 turns it off.
   */
  reconcileIntervalMs?: number;
  /**
   * Keep every CDR that leaves the spool (every sink has it, or dead-lettered it) in this archive, for re-push:
   * it is archived durably before it is removed, so it is always in the spool or in the archive. A failed
   * archive write (disk full) keeps the entry in the spool and is retried with the `retry` backoff; `health()`
   * then reports the archive `failing`.
   */
  archive?: CdrArchive;
}

/** The events of {@link CdrDispatcher}. */
export interface CdrDispatcherEvents {
  /** A sink stored these entries (their records are in the same order). */
  delivered: (sink: string, ids: readonly string[]) => void;
  /** A write failed; it is retried after `delayMs`. `attempt` counts the failures of this batch so far. */
  retry: (sink: string, err: unknown, attempt: number, delayMs: number) => void;
  /** A write failed because the sink could not be reached or used: the sink is `down` until a write succeeds. */
  sinkDown: (sink: string, err: unknown) => void;
  /** A write succeeded after the sink was `down` for `downMs`. */
  sinkUp: (sink: string, downMs: number) => void;
  /** A sink gave up on an entry after its attempts ran out; the entry is in `dead/<sink>/`. */
  deadLetter: (sink: string, id: string, err: unknown) => void;
  /** Every sink has the entry: it left the spool. */
  removed: (id: string) => void;
  /** Every sink's queue is empty and nothing is in flight. */
  idle: () => void;
  /**
   * Something the dispatcher had to handle itself (the spool cannot write a journal line or a dead letter, ...).
   * Listening is optional: every such error is also logged and counted in `pbxkit_cdr_dispatcher_errors_total`.
   */
  error: (err: unknown, kind: DispatcherErrorKind) => void;
}

/**
 * Entries that were in the spool but in no queue of a sink that lacked them, found and queued again (see
 * {@link CdrDispatcherOptions.reconcileIntervalMs}); the `error` of a `lost_entry`.
 */
export class CdrLostEntryError extends PbxkitError {
  constructor(readonly ids: readonly string[]) {
    super(
      'CDR_LOST_ENTRY',
      `${ids.length} spool entries were in no sink queue (first ${ids[0]}): queued again`,
    );
  }
}
