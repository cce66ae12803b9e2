import {
  ErrorReporter,
  type Logger,
  MetricsFactory,
  type Registry,
  resolveLogger,
  TypedEmitter,
} from '@pbxkit/core';
import type { CdrStore } from '../sink.js';

/** Options of {@link CdrRetention}. */
export interface CdrRetentionOptions {
  /** The stores to purge. */
  stores: readonly CdrStore[];
  /**
   * Keep CDRs of calls that started in the last `days` days. FusionPBX's default is 730; operators of busy
   * systems asked for 5 to 7 days on the hot table (keep the long history elsewhere, e.g. in MongoDB).
   */
  days: number;
  /** How often to purge, in ms. Default: every hour. */
  intervalMs?: number;
  /** Rows per delete statement. Default 5 000. */
  batchSize?: number;
  /** Clock, for tests. */
  now?: () => Date;
  logger?: Logger;
  registry?: Registry;
}

/** Events of {@link CdrRetention}. */
export interface CdrRetentionEvents {
  /** A purge of one store finished. */
  purged: (store: string, deleted: number, cutoff: Date) => void;
  /** A purge of one store failed (the next run tries again). */
  error: (store: string, err: Error) => void;
}

/**
 * Deletes old CDRs from each store on a schedule, in bounded batches (see `CdrStore.purgeOlderThan`), one
 * store at a time and never two runs at once.
 *
 * @example
 * ```ts
 * const retention = new CdrRetention({ stores: [postgres], days: 7 });
 * retention.start();           // first run now, then every hour
 * await retention.runOnce();   // or run it yourself (cron, CLI)
 * await retention.stop();
 * ```
 */
export class CdrRetention extends TypedEmitter<CdrRetentionEvents> {
  private readonly options: CdrRetentionOptions;
  private readonly log: Logger;
  private readonly errors: ErrorReporter;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private readonly abort = new AbortController();
  private readonly deletedTotal;

  constructor(options: CdrRetentionOptions) {
    super();
    if (!(options.days > 0)) throw new RangeError('days must be > 0');
    this.options = options;
    this.log = resolveLogger(options.logger, { component: 'cdr-retention' });
    this.errors = new ErrorReporter('cdr', 'retention', { logger: this.log, registry: options.registry });
    this.deletedTotal = new MetricsFactory('cdr', options.registry).counter({
      what: 'retention_deleted',
      unit: 'total',
      help: 'CDRs deleted by retention, by store',
      labelNames: ['store'],
    });
  }

  /** The start time before which CDRs are deleted now. */
  cutoff(): Date {
    const now = this.options.now?.() ?? new Date();
    return new Date(now.getTime() - this.options.days * 86_400_000);
  }

  /** Purges every store once; resolves with the number of CDRs deleted. A run already going is joined. */
  runOnce(): Promise<number> {
    this.running ??= this.purgeAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Runs now, then every `intervalMs`. */
  start(): void {
    if (this.timer) return;
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.options.intervalMs ?? 3_600_000);
    this.timer.unref();
  }

  /** Stops the schedule and waits for a run in progress (which stops after its current batch). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.running?.catch(() => 0);
  }

  private async purgeAll(): Promise<number> {
    const cutoff = this.cutoff();
    let total = 0;
    for (const store of this.options.stores) {
      if (this.abort.signal.aborted) break;
      try {
        const deleted = await store.purgeOlderThan(cutoff, {
          batchSize: this.options.batchSize,
          signal: this.abort.signal,
        });
        total += deleted;
        this.deletedTotal.inc({ store: store.name }, deleted);
        this.log.info({ store: store.name, deleted, cutoff }, 'retention purge done');
        this.emit('purged', store.name, deleted, cutoff);
      } catch (err) {
        if (this.abort.signal.aborted) break;
        this.emitError(
          this.errors,
          { msg: 'retention purge failed', store: store.name },
          store.name,
          err as Error,
        );
      }
    }
    return total;
  }
}
