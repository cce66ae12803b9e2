import { type CdrArchiveReader, type CdrDispatcher, type CdrSpool, repushArchived } from '@pbxkit/cdr';
import type { ArchiverRun, Storage } from '@pbxkit/storage';
import type { HealthReport } from '../health.js';
import { checkDaemons, type DaemonStatus, type DaemonTarget } from './daemons.js';
import { badRequest, ConsoleRequestError, notFound } from './errors.js';
import { RateWindow } from './rates.js';

/** A dead letter as the pipeline page lists it. */
export interface DeadLetterView {
  id: string;
  uuid: string;
  leg: string | undefined;
  deadAt: string;
  attempts: number;
  error: string;
}

/** What `GET /api/pipeline` answers. */
export interface PipelineSnapshot {
  at: string;
  /** CDRs per second over the last minutes, oldest first: received (spooled) and stored per sink. */
  rates: { seconds: number; received: number[]; stored: Record<string, number[]> };
  /** Since the server started. */
  totals: { received: number; stored: Record<string, number> };
  /** Sinks, spool backlog, storage tiers, CDR store and archiver, as `/health` reports them. */
  health: HealthReport;
  /** The delivered-CDR archive's days, when the server keeps one (re-push source). */
  cdrArchive: { days: Array<{ day: string; bytes: number }> } | undefined;
  /** The recording archiver's last passes, newest first. */
  archiverRuns: ArchiverRun[];
  /** The daemons configured in `PBXKIT_CONSOLE_DAEMONS`, as their health endpoints answer now. */
  daemons: DaemonStatus[];
}

const MAX_LISTED = 200;
const MAX_RUNS = 20;
const SINK_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Watches the CDR pipeline for the console: counts what the spool takes and each sink stores (per second), keeps
 * the recording archiver's passes, lists and replays dead letters, and re-pushes archived CDRs.
 */
export class PipelineMonitor {
  private readonly received = new RateWindow();
  private readonly stored = new Map<string, RateWindow>();
  private readonly runs: ArchiverRun[] = [];
  private readonly onAppend = () => this.received.add();
  private readonly onDelivered = (sink: string, ids: readonly string[]) =>
    this.storedWindow(sink).add(ids.length);
  private readonly onArchiverReport = () => setImmediate(() => this.noteRun());

  constructor(
    private readonly parts: {
      spool: CdrSpool;
      dispatcher: CdrDispatcher;
      storage: Pick<Storage, 'archiver'>;
      health: () => Promise<HealthReport>;
      archive:
        | { reader: CdrArchiveReader; days(): Promise<Array<{ day: string; bytes: number }>> }
        | undefined;
      daemons?: readonly DaemonTarget[];
    },
  ) {
    for (const sink of parts.dispatcher.sinkNames) this.storedWindow(sink);
    parts.spool.on('append', this.onAppend);
    parts.dispatcher.on('delivered', this.onDelivered);
    parts.storage.archiver?.on('report', this.onArchiverReport);
    parts.storage.archiver?.on('error', this.onArchiverReport);
  }

  close(): void {
    this.parts.spool.off('append', this.onAppend);
    this.parts.dispatcher.off('delivered', this.onDelivered);
    this.parts.storage.archiver?.off('report', this.onArchiverReport);
    this.parts.storage.archiver?.off('error', this.onArchiverReport);
  }

  async snapshot(): Promise<PipelineSnapshot> {
    this.noteRun();
    const stored: Record<string, number[]> = {};
    const storedTotals: Record<string, number> = {};
    for (const [sink, window] of this.stored) {
      stored[sink] = window.series();
      storedTotals[sink] = window.total;
    }
    return {
      at: new Date().toISOString(),
      rates: { seconds: this.received.seconds, received: this.received.series(), stored },
      totals: { received: this.received.total, stored: storedTotals },
      health: await this.parts.health(),
      cdrArchive: this.parts.archive ? { days: await this.parts.archive.days() } : undefined,
      archiverRuns: [...this.runs],
      daemons: await checkDaemons(this.parts.daemons ?? []),
    };
  }

  /** The dead letters of `sink`, oldest first (the first 200), with why the sink gave up on each. */
  async deadLetters(sink: string): Promise<{ total: number; items: DeadLetterView[] }> {
    this.checkSink(sink);
    const ids = await this.parts.spool.deadLetters(sink);
    const items: DeadLetterView[] = [];
    for (const id of ids.slice(0, MAX_LISTED)) {
      try {
        const { info } = await this.parts.spool.readDeadLetter(sink, id);
        items.push({
          id,
          uuid: info.uuid,
          leg: info.leg,
          deadAt: info.deadAt,
          attempts: info.attempts,
          error: info.error.message,
        });
      } catch {
        // replayed or removed since the listing
      }
    }
    return { total: ids.length, items };
  }

  /** Puts dead letters of `sink` (the given ids, or all) back in the spool for that sink; how many went back. */
  async replayDeadLetters(sink: string, ids: readonly string[] | undefined): Promise<number> {
    this.checkSink(sink);
    if (ids) {
      const known = new Set(await this.parts.spool.deadLetters(sink));
      const missing = ids.find((id) => !known.has(id));
      if (missing !== undefined) throw notFound(`${sink} has no dead letter ${missing}`);
    }
    return this.parts.spool.replayDead(sink, ids);
  }

  /**
   * Queues the archived CDRs received in [from, to) (and/or with these uuids) again, for `sink` only: what a
   * sink lost after it stored them (a database restored from an older backup, a CCP that dropped a day).
   */
  async repush(request: { from?: Date; to?: Date; uuids?: string[]; sink: string }) {
    this.checkSink(request.sink);
    if (!this.parts.archive) {
      throw new ConsoleRequestError(
        'CONSOLE_UNAVAILABLE',
        'this server keeps no CDR archive (PBXKIT_CDR_ARCHIVE_DAYS is 0): nothing to re-push from',
      );
    }
    if (!request.from && !request.uuids?.length)
      throw badRequest('give from (and to) or uuids to select CDRs');
    return repushArchived(
      this.parts.archive.reader,
      { from: request.from, to: request.to, uuids: request.uuids },
      { spool: this.parts.spool, sinks: [request.sink] },
    );
  }

  private checkSink(sink: string): void {
    if (!SINK_NAME.test(sink) || !this.parts.dispatcher.sinkNames.includes(sink)) {
      throw notFound(
        `no sink ${JSON.stringify(sink)} (sinks: ${this.parts.dispatcher.sinkNames.join(', ')})`,
      );
    }
  }

  private storedWindow(sink: string): RateWindow {
    let window = this.stored.get(sink);
    if (!window) {
      window = new RateWindow();
      this.stored.set(sink, window);
    }
    return window;
  }

  private noteRun(): void {
    const last = this.parts.storage.archiver?.status().lastRun;
    if (!last) return;
    if (this.runs[0]?.finishedAt.getTime() === last.finishedAt.getTime()) return;
    this.runs.unshift(last);
    this.runs.length = Math.min(this.runs.length, MAX_RUNS);
  }
}
