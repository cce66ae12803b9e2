import { Backoff, ErrorReporter, type Logger, resolveLogger, sleep, TypedEmitter } from '@pbxkit/core';
import type { CdrRecord } from '../record.js';
import { isTransientError } from '../sink-errors.js';
import { entryTime } from '../spool/ids.js';
import type { CdrSpool, SpoolAppended } from '../spool/spool.js';
import { EntryArchiver, isSystemError } from './archiving.js';
import { EntryCache, type Loaded, PrepareFailure } from './entry-cache.js';
import {
  type CdrDispatcherHealth,
  type DispatcherErrorKind,
  type SinkStats,
  type SpoolHealth,
  summarizeError,
} from './health.js';
import { type DispatcherMetrics, dispatcherMetrics } from './metrics.js';
import { type CdrDispatcherEvents, type CdrDispatcherOptions, CdrLostEntryError } from './options.js';
import { createWorker, type Worker } from './worker.js';

export type { CdrDispatcherEvents, CdrDispatcherOptions } from './options.js';
export { CdrLostEntryError } from './options.js';
export type { DispatchRetryOptions, DispatchSinkOptions } from './worker.js';

/** What a retried spool operation resolves with when the dispatcher stops before it succeeds. */
const STOPPED = Symbol('stopped');

/**
 * Delivers spooled CDRs to sinks.
 *
 * On `start()` it scans the spool (entries left by a previous run) and then follows new appends through the
 * spool's in-process `append` event (no polling). Each sink has its own queue, batch size, concurrency and
 * retry with exponential backoff; an outage of one never holds the others back. When a sink has stored a
 * batch, the spool's journal records it (fsynced); an entry leaves the spool once every sink has it.
 *
 * Failures a sink blames on the records (see `CdrSink.isTransient`) count towards `maxAttempts`, after which
 * the entry is dead-lettered for that sink only. Failures that say the sink cannot be reached or used are
 * retried with capped backoff for as long as they last, never dead-letter anything, and mark the sink `down`
 * in {@link stats} and {@link health}. A spool that cannot write (disk full) is retried the same way: nothing
 * acknowledged waits for a restart.
 *
 * Sinks must be idempotent by call uuid: after a crash, an entry whose completion was not yet journaled is
 * written again.
 */
export class CdrDispatcher extends TypedEmitter<CdrDispatcherEvents> {
  readonly spool: CdrSpool;
  private readonly workers: Worker[];
  private readonly logger: Logger;
  private readonly errors: ErrorReporter;
  private readonly entries: EntryCache;
  private readonly removing = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private readonly idleWaiters: Array<() => void> = [];
  private abort = new AbortController();
  private state: 'stopped' | 'starting' | 'running' | 'stopping' = 'stopped';
  private timers: NodeJS.Timeout[] = [];
  private readonly metricsIntervalMs: number;
  private readonly reconcileIntervalMs: number;
  private readonly metrics: DispatcherMetrics;
  private readonly spoolHealth: SpoolHealth = { state: 'ok', since: new Date(), lastError: undefined };
  private readonly errorCounts: Partial<Record<DispatcherErrorKind, number>> = {};
  private readonly archiver: EntryArchiver | undefined;
  private readonly onAppend = (entry: SpoolAppended): void => this.enqueueNew(entry);

  constructor(options: CdrDispatcherOptions) {
    super();
    this.spool = options.spool;
    this.logger = resolveLogger(options.logger, { component: 'cdr-dispatcher' });
    this.errors = new ErrorReporter('cdr', 'dispatcher', { logger: this.logger, registry: options.registry });
    this.metricsIntervalMs = options.metricsIntervalMs ?? 1000;
    this.reconcileIntervalMs = options.reconcileIntervalMs ?? 30_000;
    const names = new Set<string>();
    this.workers = options.sinks.map((entry, slot) => {
      const worker = createWorker(entry, slot, options);
      if (names.has(worker.name)) throw new RangeError(`two sinks are named ${JSON.stringify(worker.name)}`);
      names.add(worker.name);
      return worker;
    });
    if (this.workers.length === 0) throw new RangeError('a dispatcher needs at least one sink');
    this.entries = new EntryCache(this.spool, this.workers);
    this.metrics = dispatcherMetrics(options.registry);
    if (options.archive) {
      this.archiver = new EntryArchiver(options.archive, this.spool, {
        report: (err, fields) => this.reportError('archive', err, fields),
        sinkNames: this.sinkNames,
        minMs: options.retry?.minMs ?? 100,
        maxMs: options.retry?.maxMs ?? 30_000,
      });
    }
  }

  /** The names of the sinks, in the order given. */
  get sinkNames(): string[] {
    return this.workers.map((w) => w.name);
  }

  /** Starts delivering: follows new appends, then scans the spool for entries already there. */
  async start(): Promise<void> {
    if (this.state !== 'stopped') return;
    this.state = 'starting';
    this.abort = new AbortController();
    this.spool.on('append', this.onAppend);
    try {
      for (const w of this.workers) await this.spool.attachSink(w.name);
      for (const id of await this.spool.pending()) this.enqueueExisting(id);
    } catch (err) {
      this.spool.off('append', this.onAppend);
      this.state = 'stopped';
      throw err;
    }
    this.state = 'running';
    for (const w of this.workers) this.pump(w);
    this.timers = [setInterval(() => this.refreshGauges(), this.metricsIntervalMs)];
    if (this.reconcileIntervalMs > 0) {
      this.timers.push(setInterval(() => this.reconcile(), this.reconcileIntervalMs));
    }
    for (const timer of this.timers) timer.unref();
    this.checkIdle();
  }

  /**
   * Stops taking new work, ends retry waits at once, and resolves when the writes in flight have finished.
   * Entries not yet stored stay in the spool for the next start.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    this.spool.off('append', this.onAppend);
    this.abort.abort();
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    while (this.running.size) await Promise.allSettled([...this.running]);
    for (const w of this.workers) {
      w.queue.clear();
      w.known.clear();
      w.attempts.clear();
    }
    this.entries.clear();
    this.refreshGauges();
    this.state = 'stopped';
    this.flushIdle();
  }

  /** Resolves when every queue is empty and nothing is in flight (at once when that is already so). */
  drained(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Per sink: queue depth, in flight, lag, `up`/`down` and since when, last error, dead letters. */
  stats(): Record<string, SinkStats> {
    const now = Date.now();
    const out: Record<string, SinkStats> = {};
    for (const w of this.workers) {
      let oldest = Number.POSITIVE_INFINITY;
      for (const id of w.inFlight) oldest = Math.min(oldest, entryTime(id));
      const head = w.queue.peek();
      if (head !== undefined) oldest = Math.min(oldest, entryTime(head));
      const { state, since, lastError, consecutiveFailures, deadLettered } = w.health;
      out[w.name] = {
        depth: w.known.size,
        inFlight: w.inFlight.size,
        lagMs: Number.isFinite(oldest) ? Math.max(0, now - oldest) : 0,
        state,
        since,
        lastError,
        consecutiveFailures,
        deadLettered,
        deadLetters: this.spool.deadLetterCount(w.name),
      };
    }
    return out;
  }

  /**
   * Whether CDRs flow: `ok`, or `degraded` while a sink is `down` or its last write failed with entries still
   * waiting, or the spool cannot write (CDRs wait in the spool and flow again on their own once the cause is gone), or `stopped`; with every
   * sink's {@link stats}, the spool's state and the errors reported so far. Meant for a `/health` endpoint.
   */
  health(): CdrDispatcherHealth {
    const sinks = this.stats();
    const down =
      Object.values(sinks).some((s) => s.state === 'down' || (s.consecutiveFailures > 0 && s.depth > 0)) ||
      this.spoolHealth.state === 'failing' ||
      this.archiver?.health.state === 'failing';
    return {
      status: this.state !== 'running' ? 'stopped' : down ? 'degraded' : 'ok',
      sinks,
      spool: { ...this.spoolHealth },
      ...(this.archiver ? { archive: { ...this.archiver.health } } : {}),
      errors: { ...this.errorCounts },
    };
  }

  private refreshGauges(): void {
    const now = Date.now();
    for (const [sink, s] of Object.entries(this.stats())) {
      this.metrics.depth.set({ sink }, s.depth);
      this.metrics.lag.set({ sink }, s.lagMs / 1000);
      this.metrics.down.set({ sink }, s.state === 'down' ? (now - s.since.getTime()) / 1000 : 0);
      this.metrics.deadLetters.set({ sink }, s.deadLetters);
    }
  }

  private isIdle(): boolean {
    return this.workers.every((w) => w.known.size === 0 && w.batches === 0) && this.removing.size === 0;
  }

  private checkIdle(): void {
    if (this.state !== 'running' || !this.isIdle()) return;
    this.refreshGauges();
    this.emit('idle');
    this.flushIdle();
  }

  private flushIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /**
   * Every error the dispatcher handles itself goes through here: logged at error level, counted in
   * `pbxkit_cdr_dispatcher_errors_total{kind}`, and emitted as `error` for whoever listens (eventemitter3 drops
   * an `error` nobody listens to, so the log line and the counter are what an operator always gets).
   */
  private reportError(kind: DispatcherErrorKind, err: unknown, fields: Record<string, unknown> = {}): void {
    this.errorCounts[kind] = (this.errorCounts[kind] ?? 0) + 1;
    this.metrics.errors.inc({ kind });
    // Logged and counted by the package-wide reporter (pbxkit_cdr_errors_total{component="dispatcher"}) too.
    this.errors.report(err, { ...fields, kind, msg: `CDR dispatcher error (${kind})` });
    this.emit('error', err, kind);
  }

  private enqueue(w: Worker, id: string): void {
    if (w.known.has(id)) return;
    w.known.add(id);
    w.queue.push(id);
  }

  private enqueueNew(entry: SpoolAppended): void {
    if (this.state !== 'running' && this.state !== 'starting') return;
    if (entry.record) this.entries.put(entry.id, entry.record, entry.sinks);
    for (const w of this.workers) this.enqueue(w, entry.id);
    if (this.state === 'running') for (const w of this.workers) this.pump(w);
  }

  private enqueueExisting(id: string): void {
    const waiting = this.workers.filter((w) => !this.spool.isDone(w.name, id));
    // Every sink had it, but the process stopped before the file was removed.
    if (waiting.length === 0) this.track(this.removeEntry(id));
    for (const w of waiting) this.enqueue(w, id);
  }

  /**
   * The safety net: puts back into its queues every pending entry that a sink lacks but does not have queued
   * or in flight, and removes entries every sink has that are still there. Synchronous, so that no append can
   * be half-way (in the spool's index, its event not yet delivered) while it looks.
   */
  private reconcile(): void {
    if (this.state !== 'running') return;
    const lost: string[] = [];
    for (const id of this.spool.pendingIds()) {
      let tracked = false;
      let waiting = false;
      for (const w of this.workers) {
        // Still in flight (a journal compaction can keep a batch there after its marks are in memory).
        if (w.known.has(id)) tracked = true;
        else if (!this.spool.isDone(w.name, id)) {
          waiting = true;
          this.enqueue(w, id);
          if (lost.at(-1) !== id) lost.push(id);
        }
      }
      if (!tracked && !waiting && !this.removing.has(id)) {
        lost.push(id);
        this.track(this.removeEntry(id));
      }
    }
    if (lost.length) {
      this.reportError('lost_entry', new CdrLostEntryError(lost), { entries: lost.length });
      for (const w of this.workers) this.pump(w);
    }
    for (const w of this.workers) {
      this.spool
        .countDeadLetters(w.name)
        .catch((err: unknown) => this.reportError('read', err, { sink: w.name }));
    }
  }

  private track(promise: Promise<void>): void {
    const p = promise.catch((err: unknown) => this.reportError('internal', err));
    this.running.add(p);
    p.finally(() => {
      this.running.delete(p);
      this.checkIdle();
    });
  }

  private pump(w: Worker): void {
    while (this.state === 'running' && w.batches < w.concurrency && w.queue.length > 0) {
      // Measured with PostgreSQL: at 16 concurrent posts, 2 writes of whatever was queued averaged 10 records
      // per batch; writing in parallel only for full batches doubled the batch size and cut the receiving
      // thread's CPU per CDR by about 10%.
      if (w.batches > 0 && w.queue.length < w.batchSize) break;
      const ids = w.queue.take(w.batchSize);
      w.batches++;
      for (const id of ids) w.inFlight.add(id);
      const batch = this.runBatch(w, ids).finally(() => {
        w.batches--;
        for (const id of ids) {
          w.inFlight.delete(id);
          // Every path through runBatch forgets its ids; one that did not (a bug) would wait for a restart.
          if (w.known.has(id)) {
            this.forget(w, id);
            if (this.state === 'running') {
              this.enqueue(w, id);
              this.reportError('lost_entry', new CdrLostEntryError([id]), { sink: w.name });
            }
          }
        }
        this.pump(w);
      });
      this.track(batch);
    }
  }

  /**
   * Runs a spool operation until it succeeds. A failure (disk full, I/O error) is reported, marks the spool
   * `failing`, and is tried again after a capped backoff, so that nothing acknowledged waits for a restart.
   * Errors `permanent` accepts are thrown at once. Resolves with {@link STOPPED} when the dispatcher stops
   * before it succeeds.
   */
  private async untilSpoolWorks<T>(
    w: Worker,
    kind: DispatcherErrorKind,
    fields: Record<string, unknown>,
    op: () => Promise<T>,
    permanent: (err: unknown) => boolean = () => false,
  ): Promise<T | typeof STOPPED> {
    let backoff: Backoff | undefined;
    // Tried at least once even while stopping: a batch a sink stored as stop() began is still journaled.
    for (;;) {
      try {
        const value = await op();
        if (this.spoolHealth.state === 'failing') {
          this.logger.info(
            { failingMs: Date.now() - this.spoolHealth.since.getTime() },
            'CDR spool writes again',
          );
          Object.assign(this.spoolHealth, { state: 'ok', since: new Date() });
        }
        return value;
      } catch (err) {
        if (permanent(err)) throw err;
        const at = new Date();
        if (this.spoolHealth.state === 'ok') Object.assign(this.spoolHealth, { state: 'failing', since: at });
        this.spoolHealth.lastError = summarizeError(err, at);
        this.reportError(kind, err, { sink: w.name, ...fields });
        backoff ??= new Backoff({ minMs: w.minMs, maxMs: w.maxMs });
        try {
          await sleep(backoff.next(), this.abort.signal);
        } catch {
          return STOPPED;
        }
      }
    }
  }

  private async runBatch(w: Worker, ids: readonly string[]): Promise<void> {
    const items: Loaded[] = [];
    const skip: string[] = [];
    for (const [i, id] of ids.entries()) {
      let loaded: Loaded | undefined | typeof STOPPED;
      try {
        // An I/O error is retried; a CDR that no longer parses, or bytes that fail their checksum, never will be.
        loaded = await this.untilSpoolWorks(
          w,
          'read',
          { id },
          () => this.entries.load(id),
          (err) => !isSystemError(err),
        );
      } catch (err) {
        await this.giveUp(w, id, err);
        continue;
      }
      if (loaded === STOPPED) {
        for (const rest of [...items.map((l) => l.id), ...skip, ...ids.slice(i)]) this.forget(w, rest);
        return;
      }
      if (!loaded) this.forget(w, id);
      else if (loaded.sinks && !loaded.sinks.includes(w.name)) skip.push(id);
      else {
        const item = loaded.items[w.slot];
        if (item instanceof PrepareFailure) await this.giveUp(w, id, item.error);
        else items.push(loaded);
      }
    }
    // A replayed dead letter addressed to other sinks: nothing to write here.
    if (skip.length && (await this.journalDone(w, skip))) this.completed(w, skip);
    if (items.length) await this.deliver(w, items, new Backoff({ minMs: w.minMs, maxMs: w.maxMs }));
  }

  /** Records in the sink's journal that it has `ids`; false (and the ids forgotten) when stopped first. */
  private async journalDone(w: Worker, ids: readonly string[]): Promise<boolean> {
    const done = await this.untilSpoolWorks(w, 'journal', { records: ids.length }, () =>
      this.spool.markDone(w.name, ids),
    );
    if (done !== STOPPED) return true;
    for (const id of ids) this.forget(w, id);
    return false;
  }

  /** The sink's word on a failed write (see `CdrSink.isTransient`). */
  private isTransient(w: Worker, err: unknown): boolean {
    if (!w.sink.isTransient) return isTransientError(err);
    try {
      return w.sink.isTransient(err);
    } catch (classifyErr) {
      this.reportError('internal', classifyErr, { sink: w.name });
      return isTransientError(err);
    }
  }

  private async deliver(w: Worker, items: Loaded[], backoff: Backoff): Promise<void> {
    let batch = items;
    let failures = 0;
    while (batch.length > 0) {
      if (this.abort.signal.aborted) return this.release(w, batch);
      const t0 = process.hrtime.bigint();
      try {
        if (w.preparing) await w.preparing.writePrepared(batch.map((i) => i.items[w.slot]));
        else await w.sink.write(batch.map((i) => i.items[w.slot] as CdrRecord));
      } catch (err) {
        failures++;
        this.metrics.failures.inc({ sink: w.name });
        const transient = this.isTransient(w, err);
        if (w.health.failed(err, transient)) {
          this.logger.error(
            { sink: w.name, err },
            'CDR sink unreachable: CDRs wait in the spool until it is back',
          );
          this.emit('sinkDown', w.name, err);
        }
        // Only a refusal of a record on its own uses up its attempts: an unreachable sink says nothing about the
        // records, and a refused batch says nothing about which of them (the halves below find out).
        const counts = !transient && batch.length === 1;
        const rest: Loaded[] = [];
        for (const item of batch) {
          const attempts = (w.attempts.get(item.id) ?? 0) + (counts ? 1 : 0);
          w.attempts.set(item.id, attempts);
          if (attempts >= w.maxAttempts) await this.giveUp(w, item.id, err);
          else rest.push(item);
        }
        batch = rest;
        if (batch.length === 0) return;
        const delayMs = backoff.next();
        this.logger.warn(
          { sink: w.name, records: batch.length, attempt: failures, delayMs, transient, err },
          'CDR sink write failed: retrying',
        );
        this.emit('retry', w.name, err, failures, delayMs);
        try {
          await sleep(delayMs, this.abort.signal);
        } catch {
          return this.release(w, batch);
        }
        if (batch.length > 1) {
          // Halves, so that one record the sink refuses cannot hold the others back for long.
          const half = Math.ceil(batch.length / 2);
          await this.deliver(w, batch.slice(0, half), backoff);
          await this.deliver(w, batch.slice(half), backoff);
          return;
        }
        continue;
      }
      this.metrics.writeLatency.observe({ sink: w.name }, Number(process.hrtime.bigint() - t0) / 1e9);
      const downMs = w.health.succeeded();
      if (downMs >= 0) {
        this.logger.info({ sink: w.name, downMs }, 'CDR sink back up');
        this.emit('sinkUp', w.name, downMs);
      }
      backoff.reset();
      const ids = batch.map((i) => i.id);
      // The sink has them; a journal that cannot be written is the spool's problem, not the sink's.
      if (!(await this.journalDone(w, ids))) return;
      this.metrics.delivered.inc({ sink: w.name }, ids.length);
      this.emit('delivered', w.name, ids);
      this.completed(w, ids);
      return;
    }
  }

  private async giveUp(w: Worker, id: string, err: unknown): Promise<void> {
    const attempts = w.attempts.get(id) ?? 0;
    const dead = await this.untilSpoolWorks(w, 'dead_letter', { id }, () =>
      this.spool.deadLetter(w.name, id, err, attempts),
    );
    if (dead === STOPPED) return this.forget(w, id);
    this.archiver?.deadLettered(id, w.name);
    w.health.deadLettered++;
    this.metrics.dead.inc({ sink: w.name });
    this.emit('deadLetter', w.name, id, err);
    this.completed(w, [id]);
  }

  /** Stops tracking ids without recording them as stored (they stay in the spool). */
  private release(w: Worker, items: readonly Loaded[]): void {
    for (const item of items) this.forget(w, item.id);
  }

  private forget(w: Worker, id: string): void {
    w.known.delete(id);
    w.attempts.delete(id);
  }

  private completed(w: Worker, ids: readonly string[]): void {
    for (const id of ids) {
      this.forget(w, id);
      if (!this.removing.has(id) && this.workers.every((o) => this.spool.isDone(o.name, id))) {
        this.track(this.removeEntry(id));
      }
    }
  }

  private async removeEntry(id: string): Promise<void> {
    if (this.removing.has(id)) return;
    this.removing.add(id);
    try {
      // Archived first, so that it is always in one of the two; stopped first, it stays in the spool.
      if (this.archiver && !(await this.archiver.archiveEntry(id, this.abort.signal))) return;
      await this.spool.remove(id);
      this.entries.drop(id);
      this.emit('removed', id);
    } catch (err) {
      this.reportError('remove', err, { id });
    } finally {
      this.removing.delete(id);
    }
  }
}
