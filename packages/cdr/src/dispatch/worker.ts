import { Backoff } from '@pbxkit/core';
import { type CdrSink, isPreparingSink, type PreparingCdrSink } from '../sink.js';
import { SinkHealth } from './health.js';
import { IdQueue } from './id-queue.js';

/** Retry policy of a sink's writes. */
export interface DispatchRetryOptions {
  /** First delay after a failure, ms. Default 100. */
  minMs?: number;
  /** Largest delay, ms: the backoff never waits longer, however long the sink is down. Default 30 000. */
  maxMs?: number;
  /**
   * Write attempts an entry gets at one sink before it is dead-lettered for that sink. Default 10. Only a
   * refusal of the entry on its own counts: a failing batch is split in halves before it is retried until the
   * refused record is alone, so one bad record cannot take good ones with it; and while the sink is
   * unreachable (see `CdrSink.isTransient`) its writes are retried without limit and nothing is dead-lettered.
   * `Infinity` never dead-letters.
   */
  maxAttempts?: number;
}

/** Settings of one sink; any left out come from the dispatcher's options. */
export interface DispatchSinkOptions {
  sink: CdrSink;
  batchSize?: number;
  concurrency?: number;
  retry?: DispatchRetryOptions;
}

/** The dispatcher's defaults for every sink. */
export interface WorkerDefaults {
  batchSize?: number;
  concurrency?: number;
  retry?: DispatchRetryOptions;
}

/** One sink's queue and state inside the dispatcher. */
export interface Worker {
  name: string;
  sink: CdrSink;
  /** The sink, when it prepares records (see {@link PreparingCdrSink}). */
  preparing: PreparingCdrSink | undefined;
  /** This worker's position in `Loaded.items`. */
  slot: number;
  batchSize: number;
  concurrency: number;
  minMs: number;
  maxMs: number;
  maxAttempts: number;
  queue: IdQueue;
  /** Ids queued or in flight. */
  known: Set<string>;
  inFlight: Set<string>;
  batches: number;
  /** Failed attempts per id that the sink blamed on the records. */
  attempts: Map<string, number>;
  health: SinkHealth;
}

/** A worker for one entry of the dispatcher's `sinks`; throws a RangeError for settings out of range. */
export function createWorker(
  entry: CdrSink | DispatchSinkOptions,
  slot: number,
  defaults: WorkerDefaults,
): Worker {
  const config: DispatchSinkOptions = 'sink' in entry ? entry : { sink: entry };
  const name = config.sink.name;
  const retry = { ...defaults.retry, ...config.retry };
  const worker: Worker = {
    name,
    sink: config.sink,
    preparing: isPreparingSink(config.sink) ? config.sink : undefined,
    slot,
    batchSize: config.batchSize ?? defaults.batchSize ?? 100,
    concurrency: config.concurrency ?? defaults.concurrency ?? 2,
    minMs: retry.minMs ?? 100,
    maxMs: retry.maxMs ?? 30_000,
    maxAttempts: retry.maxAttempts ?? 10,
    queue: new IdQueue(),
    known: new Set(),
    inFlight: new Set(),
    batches: 0,
    attempts: new Map(),
    health: new SinkHealth(),
  };
  if (!(worker.batchSize >= 1) || !(worker.concurrency >= 1) || !(worker.maxAttempts >= 1)) {
    throw new RangeError(`sink ${name}: batchSize, concurrency and maxAttempts must be >= 1`);
  }
  // Validates the backoff settings now rather than at the first failure.
  new Backoff({ minMs: worker.minMs, maxMs: worker.maxMs });
  return worker;
}
