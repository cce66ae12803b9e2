import { createHash } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import {
  ErrorReporter,
  type Logger,
  MetricsFactory,
  type Registry,
  resolveLogger,
  type SqlClient,
  TypedEmitter,
  throwIfAborted,
} from '@pbxkit/core';
import { FileLocks } from './archive-lock.js';
import type { ObjectInfo, StorageBackend } from './backend.js';
import type { S3Backend } from './backends/s3.js';
import { StorageNotFoundError, StorageUnavailableError, StorageVerifyError } from './errors.js';
import { type LocationIndex, uuidFromKey } from './index/location-index.js';
import { Journal, type JournalEntry } from './journal.js';
import type { RecordingLocator } from './recording.js';

/** Options of {@link Archiver}. */
export interface ArchiverOptions {
  /** Where recordings are now (this instance's disk). */
  source: StorageBackend;
  /** Where they go (S3). */
  target: StorageBackend;
  /** Journal file (one per source): makes a run that was killed resume safely. Required. */
  journalPath: string;
  /** Archive recordings whose call started at least this many days ago. Default 5. */
  olderThanDays?: number;
  /** Key in the target for a source key. Default: the same key. */
  targetKey?: (sourceKey: string) => string;
  /** Only keys under this prefix. Default: everything. */
  prefix?: string;
  /** Call start by uuid (from the CDR store); without it, or when the CDR is unknown, the file's mtime is used. */
  locator?: RecordingLocator;
  /** The call uuid in a key. Default: the uuid in the file name. */
  uuidOf?: (key: string) => string | undefined;
  /** Delete the local copy once the upload is verified. Default true; false keeps it (copy mode). */
  deleteAfterVerify?: boolean;
  /**
   * How an upload is verified, always after a size check against the target's HEAD: `read-back` (default)
   * streams the object back and compares its SHA-256 with the source's; `metadata` compares the SHA-256 the
   * archiver stored in the object's metadata (cheaper, trusts the server to store what it acknowledged).
   */
  verify?: 'read-back' | 'metadata';
  /** Files processed at once. Default 2. */
  concurrency?: number;
  /** Plan only: report what would be archived, touch nothing. */
  dryRun?: boolean;
  /** Files modified less than this long ago are never touched (still being recorded). Default 10 min. */
  minFileAgeMs?: number;
  /**
   * Early archiving: when the file system holding `path` is fuller than `usedPercent`, also archive younger
   * recordings (oldest call first, still respecting `minFileAgeMs`) until it is below.
   */
  diskPressure?: { path: string; usedPercent: number };
  /**
   * At the start of each run, abort the target's multipart uploads older than this (a run killed mid-upload
   * leaves one, and S3 bills its parts). Only for targets that can (`S3Backend.abortIncompleteUploads`).
   * Default one day; `false` never.
   */
  abortIncompleteUploadsAfterMs?: number | false;
  /**
   * Exclusion between instances that share a recordings tree (an NFS mount) or an S3 prefix: a client on the
   * PostgreSQL they share (`openSqlClient({ connectionString })` of `@pbxkit/core`). Each file is archived under a
   * PostgreSQL advisory lock on its key, so two instances never copy, verify or delete the same file at once;
   * a file another instance holds is skipped this pass (`report.skipped`, reason `locked`), and one that is
   * gone when its lock is taken was archived by the other (`gone`). A pass holds one connection of the client
   * (give it its own client, or a pool larger than `concurrency` if other work shares it); when that
   * connection is lost, no file is deleted without its lock (the file is kept and retried). PostgreSQL only:
   * PGlite serves a single process, which needs no lock (and would be blocked by the pass's transaction).
   */
  lock?: { client: SqlClient; namespace?: string };
  /** Record where archived recordings went. */
  index?: LocationIndex;
  /** This instance's id in the index. Default the host name. */
  instanceId?: string;
  now?: () => Date;
  logger?: Logger;
  registry?: Registry;
}

/** What one {@link Archiver.run} did. */
export interface ArchiveReport {
  scanned: number;
  archived: number;
  /** Would be archived (dry run). */
  planned: string[];
  failed: Array<{ key: string; error: string }>;
  bytes: number;
  /** Entries a previous, interrupted run left in the journal and this run finished. */
  resumed: number;
  /** Incomplete multipart uploads in the target that this run aborted (see `abortIncompleteUploadsAfterMs`). */
  abortedUploads: number;
  /**
   * Files left to another instance (with `lock`): `locked`, it is archiving them now; `gone`, it archived them
   * between our listing and our lock.
   */
  skipped: Array<{ key: string; reason: 'locked' | 'gone' }>;
}

/** One finished pass, as {@link Archiver.status} reports it. */
export interface ArchiverRun {
  startedAt: Date;
  finishedAt: Date;
  /**
   * `ok`: every candidate archived (or left to another instance); `partial`: some files failed and were kept
   * locally (retried next pass); `failed`: the pass as a whole failed (listing the source, the journal, the lock
   * session, ...), see `error`.
   */
  result: 'ok' | 'partial' | 'failed';
  scanned: number;
  archived: number;
  failed: number;
  skipped: number;
  bytes: number;
  /** Why a `failed` pass failed. */
  error?: string;
}

/** What {@link Archiver.status} returns: enough for a `/health` endpoint to tell whether archiving works. */
export interface ArchiverStatus {
  /** A pass runs now. */
  running: boolean;
  /** {@link Archiver.start} was called, and {@link Archiver.stop} not since. */
  scheduled: boolean;
  /** When the next scheduled pass starts (scheduled and between passes). */
  nextRunAt?: Date;
  /** The last pass that finished (scheduled or called with `run`); a pass ended by `stop` is not one. */
  lastRun?: ArchiverRun;
}

/** Events of {@link Archiver}. */
export interface ArchiverEvents {
  /** One file moved through a step. */
  progress: (p: { key: string; step: 'uploading' | 'verified' | 'deleted' | 'kept'; bytes: number }) => void;
  failed: (p: { key: string; error: Error }) => void;
  /** A scheduled pass (see `start`) finished. */
  report: (report: ArchiveReport) => void;
  /** A scheduled pass failed as a whole (listing the source, the journal). */
  error: (err: Error) => void;
}

interface Candidate {
  key: string;
  info: ObjectInfo;
  uuid: string | undefined;
  callStart: Date;
}

const DAY_MS = 86_400_000;

/**
 * Moves old recordings from local disk to S3, safely: for each file it hashes the source, uploads it (with the
 * SHA-256 in the object's metadata), verifies the stored object (size from HEAD, then the checksum), records
 * the new location in the index, and only then deletes the local file (unless `deleteAfterVerify: false`),
 * after checking the file did not change meanwhile.
 *
 * Every step is written to a journal (appended and fsynced) before the next begins, so a `kill -9` at any
 * moment loses nothing: a file is never deleted before its copy was verified, and the next run finishes or
 * redoes whatever the killed one left half done (uploads are idempotent overwrites).
 *
 * Age is the call's start time from the `locator` (the CDR), falling back to the file's mtime when the call is
 * unknown. Above a disk usage threshold it archives younger recordings too (oldest first).
 */
export class Archiver extends TypedEmitter<ArchiverEvents> {
  private readonly options: ArchiverOptions;
  private readonly log: Logger;
  private readonly errors: ErrorReporter;
  private readonly journal: Journal;
  private readonly metrics: {
    files: ReturnType<MetricsFactory['counter']>;
    bytes: ReturnType<MetricsFactory['counter']>;
    duration: ReturnType<MetricsFactory['histogram']>;
  };
  private running: Promise<ArchiveReport> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopper: AbortController | undefined;
  private nextRunAt: Date | undefined;
  private lastRun: ArchiverRun | undefined;
  private readonly lastRunGauges: {
    at: ReturnType<MetricsFactory['gauge']>;
    files: ReturnType<MetricsFactory['gauge']>;
  };

  constructor(options: ArchiverOptions) {
    super();
    if (!options.journalPath) throw new TypeError('Archiver needs a journalPath');
    this.options = options;
    this.log = resolveLogger(options.logger, { component: 'storage-archiver' });
    this.errors = new ErrorReporter('storage', 'archiver', { logger: this.log, registry: options.registry });
    this.journal = new Journal(options.journalPath);
    const m = new MetricsFactory('storage', options.registry);
    this.metrics = {
      files: m.counter({
        what: 'archive_files',
        unit: 'total',
        help: 'Recordings the archiver handled, by result',
        labelNames: ['result'],
      }),
      bytes: m.counter({ what: 'archive', unit: 'bytes', help: 'Bytes archived (uploaded and verified)' }),
      duration: m.histogram({
        what: 'archive_file_duration',
        unit: 'seconds',
        help: 'Time to archive one recording (hash, upload, verify, delete)',
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      }),
    };
    this.lastRunGauges = {
      at: m.gauge({
        what: 'archive_last_run_timestamp',
        unit: 'seconds',
        help: 'When the last archiver pass finished (Unix time), by result (ok, partial, failed)',
        labelNames: ['result'],
      }),
      files: m.gauge({
        what: 'archive_last_run',
        unit: 'files',
        help: 'Files of the last archiver pass, by outcome (archived, failed, skipped)',
        labelNames: ['outcome'],
      }),
    };
  }

  /** Whether a pass runs, the schedule, and the last finished pass (counts, result, error). */
  status(): ArchiverStatus {
    return {
      running: this.running !== undefined,
      scheduled: this.stopper !== undefined,
      ...(this.nextRunAt && !this.running ? { nextRunAt: this.nextRunAt } : {}),
      ...(this.lastRun ? { lastRun: { ...this.lastRun } } : {}),
    };
  }

  /** One pass: finishes what an interrupted run left, then archives every candidate. Runs never overlap. */
  run(options: { signal?: AbortSignal } = {}): Promise<ArchiveReport> {
    if (!this.running) {
      const startedAt = new Date();
      this.running = this.runOnce(options.signal)
        .then(
          (report) => {
            this.finished(startedAt, report, undefined);
            return report;
          },
          (err: unknown) => {
            if (!options.signal?.aborted) this.finished(startedAt, undefined, err);
            throw err;
          },
        )
        .finally(() => {
          this.running = undefined;
        });
    }
    return this.running;
  }

  /** Records, logs and exports a finished pass. */
  private finished(startedAt: Date, report: ArchiveReport | undefined, err: unknown): void {
    const finishedAt = new Date();
    const run: ArchiverRun = {
      startedAt,
      finishedAt,
      result: !report ? 'failed' : report.failed.length > 0 ? 'partial' : 'ok',
      scanned: report?.scanned ?? 0,
      archived: report?.archived ?? 0,
      failed: report?.failed.length ?? 0,
      skipped: report?.skipped.length ?? 0,
      bytes: report?.bytes ?? 0,
      ...(report ? {} : { error: err instanceof Error ? err.message : String(err) }),
    };
    this.lastRun = run;
    this.lastRunGauges.at.reset();
    this.lastRunGauges.at.set({ result: run.result }, finishedAt.getTime() / 1000);
    for (const outcome of ['archived', 'failed', 'skipped'] as const) {
      this.lastRunGauges.files.set({ outcome }, run[outcome]);
    }
    // A failed pass is logged (and counted) by whoever awaited it; a finished one is logged here.
    if (!report) return;
    const { error: _none, ...fields } = run;
    const durationMs = finishedAt.getTime() - startedAt.getTime();
    if (run.result === 'ok') this.log.info({ ...fields, durationMs }, 'archiver pass finished');
    else this.log.warn({ ...fields, durationMs }, 'archiver pass finished with failed files (kept locally)');
  }

  /**
   * Runs now and then every `intervalMs` (default one hour) until {@link stop}. A failing pass is logged and
   * emitted as `error`; the next one runs anyway.
   */
  start(options: { intervalMs?: number } = {}): void {
    if (this.stopper) return;
    const stopper = new AbortController();
    this.stopper = stopper;
    const intervalMs = options.intervalMs ?? 3_600_000;
    // The next pass is planned before the outcome is told, so that a `report` listener sees it in `status()`.
    const scheduleNext = (): void => {
      if (stopper.signal.aborted) return;
      this.nextRunAt = new Date(Date.now() + intervalMs);
      this.timer = setTimeout(pass, intervalMs);
      this.timer.unref();
    };
    const pass = (): void => {
      this.nextRunAt = undefined;
      this.run({ signal: stopper.signal }).then(
        (report) => {
          scheduleNext();
          try {
            this.emit('report', report);
          } catch (err) {
            this.emitError(this.errors, 'archiver report listener failed', err as Error);
          }
        },
        (err: Error) => {
          if (stopper.signal.aborted) return;
          scheduleNext();
          this.emitError(this.errors, 'archiver pass failed', err);
        },
      );
    };
    pass();
  }

  /**
   * Stops the schedule and the pass in flight: files already uploading finish their current step or are left for
   * the next run by the journal (never deleted unverified). Resolves when nothing runs any more.
   */
  async stop(): Promise<void> {
    const stopper = this.stopper;
    this.stopper = undefined;
    this.nextRunAt = undefined;
    clearTimeout(this.timer);
    stopper?.abort();
    await this.running?.catch(() => {});
  }

  private async runOnce(signal: AbortSignal | undefined): Promise<ArchiveReport> {
    const lock = this.options.lock;
    if (!lock || this.options.dryRun) return this.pass(signal, undefined);
    // One connection for the pass: session-level advisory locks live on it.
    let report: ArchiveReport | undefined;
    let session = false;
    try {
      await lock.client.transaction(async (tx) => {
        session = true;
        const locks = new FileLocks(tx, lock.namespace ?? 'pbxkit-archiver');
        try {
          report = await this.pass(signal, locks);
        } finally {
          await locks.unlockAll().catch(() => {});
        }
      });
    } catch (err) {
      // The pass finished but its session ended badly (the connection dropped): the locks died with it.
      if (report) {
        this.log.warn({ err }, 'archiver lock session ended with an error after the pass');
        return report;
      }
      if (session) throw err;
      throw new StorageUnavailableError(
        'archiver-lock',
        `cannot open a lock session in PostgreSQL, so nothing was archived this pass: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return report as unknown as ArchiveReport;
  }

  private async pass(signal: AbortSignal | undefined, locks: FileLocks | undefined): Promise<ArchiveReport> {
    const report: ArchiveReport = {
      scanned: 0,
      archived: 0,
      planned: [],
      failed: [],
      bytes: 0,
      resumed: 0,
      abortedUploads: 0,
      skipped: [],
    };
    const o = this.options;
    if (!o.dryRun) {
      await this.abortStaleUploads(report, signal);
      await this.resume(report, signal, locks);
    }
    const candidates = await this.candidates(report, signal);
    if (o.dryRun) {
      report.planned = candidates.map((c) => c.key);
      return report;
    }
    const queue = [...candidates];
    const workers = Array.from({ length: Math.max(1, o.concurrency ?? 2) }, async () => {
      for (;;) {
        const next = queue.shift();
        if (!next) return;
        throwIfAborted(signal);
        if (next.early && !(await this.underPressure())) return;
        await this.archiveLocked(next, report, signal, locks);
      }
    });
    await Promise.all(workers);
    await this.journal.compact(); // keeps the entries still pending (failed files), drops finished ones
    return report;
  }

  /**
   * {@link archiveOne} under the file's lock, when there are locks: skipped when another instance holds it, or
   * when the file is gone once we hold it (the other instance archived it after our listing).
   */
  private async archiveLocked(
    c: Candidate,
    report: ArchiveReport,
    signal: AbortSignal | undefined,
    locks: FileLocks | undefined,
  ): Promise<boolean> {
    if (!locks) return this.archiveOne(c, report, signal);
    let locked: boolean;
    try {
      locked = await locks.tryLock(c.key);
    } catch (err) {
      this.fail(
        c.key,
        new StorageUnavailableError('archiver-lock', `no lock: ${(err as Error).message}`),
        report,
      );
      return false;
    }
    if (!locked) {
      this.skip(c.key, 'locked', report);
      return false;
    }
    try {
      let info: ObjectInfo;
      try {
        info = await this.options.source.stat(c.key);
      } catch (err) {
        if (!(err instanceof StorageNotFoundError)) throw err;
        this.skip(c.key, 'gone', report);
        return false;
      }
      return await this.archiveOne({ ...c, info }, report, signal, locks);
    } catch (err) {
      if (signal?.aborted) throw err;
      this.fail(c.key, err as Error, report);
      return false;
    } finally {
      await locks
        .unlock(c.key)
        .catch((err) => this.log.warn({ err, key: c.key }, 'could not release a file lock'));
    }
  }

  /** Whether the lock of `key` is still ours; `false` too when the session cannot be asked (it is gone). */
  private async stillLocked(locks: FileLocks, key: string): Promise<boolean> {
    try {
      return await locks.held(key);
    } catch (err) {
      this.log.warn({ err, key }, 'cannot confirm the file lock (the database session is gone)');
      return false;
    }
  }

  private skip(key: string, reason: 'locked' | 'gone', report: ArchiveReport): void {
    report.skipped.push({ key, reason });
    this.metrics.files.inc({ result: reason });
    this.log.debug({ key, reason }, 'file left to another instance');
  }

  private fail(key: string, error: Error, report: ArchiveReport): void {
    this.log.error({ err: error, key }, 'archiving failed; the local file is kept');
    report.failed.push({ key, error: error.message });
    this.metrics.files.inc({ result: 'failed' });
    this.emit('failed', { key, error });
  }

  /** Aborts the target's stale multipart uploads; a failure is logged and never stops the run. */
  private async abortStaleUploads(report: ArchiveReport, signal: AbortSignal | undefined): Promise<void> {
    const o = this.options;
    const after = o.abortIncompleteUploadsAfterMs ?? DAY_MS;
    const target = o.target as Partial<Pick<S3Backend, 'abortIncompleteUploads'>>;
    if (after === false || typeof target.abortIncompleteUploads !== 'function') return;
    try {
      const now = o.now?.();
      const aborted = await target.abortIncompleteUploads({
        olderThanMs: after,
        ...(now ? { now } : {}),
        ...(signal ? { signal } : {}),
      });
      report.abortedUploads = aborted.length;
      if (aborted.length > 0) {
        this.log.warn(
          { count: aborted.length, keys: aborted.slice(0, 20).map((u) => u.key) },
          'aborted incomplete multipart uploads in the target (left by a run that was killed mid-upload)',
        );
      }
    } catch (err) {
      throwIfAborted(signal);
      this.log.warn({ err }, 'could not abort incomplete multipart uploads in the target; archiving anyway');
    }
  }

  /** Every journal entry without `done`: redo it (the upload is an idempotent overwrite; delete only if verified). */
  private async resume(
    report: ArchiveReport,
    signal: AbortSignal | undefined,
    locks: FileLocks | undefined,
  ): Promise<void> {
    const pending = await this.journal.pending();
    for (const entry of pending) {
      throwIfAborted(signal);
      let info: ObjectInfo | undefined;
      try {
        info = await this.options.source.stat(entry.key);
      } catch (err) {
        if (!(err instanceof StorageNotFoundError)) throw err;
      }
      if (!info) {
        // The source is gone: only possible after a verified upload (delete comes after `verified`).
        if (entry.step !== 'verified' && !locks) {
          this.log.error(
            { key: entry.key },
            'journal: source missing before verification (deleted by someone else?)',
          );
        }
        await this.journal.append({ ...entry, step: 'done' });
        report.resumed++;
        continue;
      }
      const ok = await this.archiveLocked(
        { key: entry.key, info, uuid: entry.uuid, callStart: new Date(entry.callStart ?? info.lastModified) },
        report,
        signal,
        locks,
      );
      if (ok) report.resumed++;
    }
  }

  private async candidates(
    report: ArchiveReport,
    signal: AbortSignal | undefined,
  ): Promise<Array<Candidate & { early?: boolean }>> {
    const o = this.options;
    const now = (o.now ?? (() => new Date()))().getTime();
    const cutoff = now - (o.olderThanDays ?? 5) * DAY_MS;
    const minAge = o.minFileAgeMs ?? 10 * 60_000;
    const uuidOf = o.uuidOf ?? uuidFromKey;
    const due: Candidate[] = [];
    const young: Candidate[] = [];
    let cursor: string | undefined;
    do {
      throwIfAborted(signal);
      const page = await o.source.list(o.prefix ?? '', { cursor });
      for (const info of page.items) {
        report.scanned++;
        if (minAge > 0 && now - info.lastModified.getTime() < minAge) continue;
        const uuid = uuidOf(info.key);
        let callStart = info.lastModified;
        if (uuid && o.locator) {
          try {
            callStart = (await o.locator.locate(uuid))?.callStart ?? callStart;
          } catch (err) {
            this.log.warn({ err, uuid }, 'locator failed: using the file mtime');
          }
        }
        const c = { key: info.key, info, uuid, callStart };
        if (callStart.getTime() <= cutoff) due.push(c);
        else young.push(c);
      }
      cursor = page.cursor;
    } while (cursor);
    const byAge = (a: Candidate, b: Candidate) => a.callStart.getTime() - b.callStart.getTime();
    due.sort(byAge);
    if (young.length > 0 && (await this.underPressure())) {
      young.sort(byAge);
      return [...due, ...young.map((c) => ({ ...c, early: true }))];
    }
    return due;
  }

  private async underPressure(): Promise<boolean> {
    const p = this.options.diskPressure;
    if (!p) return false;
    try {
      const s = await statfs(p.path);
      const used = 100 * (1 - s.bavail / s.blocks);
      return used > p.usedPercent;
    } catch (err) {
      this.log.warn({ err, path: p.path }, 'statfs failed: no early archiving');
      return false;
    }
  }

  /** Hash, upload, verify, record, delete: each step journalled before the next. */
  private async archiveOne(
    c: Candidate,
    report: ArchiveReport,
    signal: AbortSignal | undefined,
    locks?: FileLocks,
  ): Promise<boolean> {
    const o = this.options;
    const started = performance.now();
    const targetKey = (o.targetKey ?? ((k: string) => k))(c.key);
    const base: JournalEntry = {
      key: c.key,
      targetKey,
      step: 'begin',
      size: c.info.size,
      mtimeMs: c.info.lastModified.getTime(),
    };
    if (c.uuid) base.uuid = c.uuid;
    base.callStart = c.callStart.toISOString();
    try {
      const sha256 = await this.hash(o.source, c.key, signal);
      const entry: JournalEntry = { ...base, sha256 };
      await this.journal.append(entry);
      this.emit('progress', { key: c.key, step: 'uploading', bytes: c.info.size });
      if (!(await this.alreadyStored(targetKey, c.info.size, sha256))) {
        const body = await o.source.read(c.key, signal ? { signal } : {});
        const metadata: Record<string, string> = { sha256 };
        if (c.uuid) metadata['call-uuid'] = c.uuid;
        await o.target.write(targetKey, body, { contentType: c.info.contentType, metadata, signal });
      }
      await this.verify(targetKey, c.info.size, sha256, signal);
      await this.journal.append({ ...entry, step: 'verified' });
      this.emit('progress', { key: c.key, step: 'verified', bytes: c.info.size });
      await this.record(c, targetKey, sha256);
      if (o.deleteAfterVerify !== false) {
        // The file must be the one we uploaded: same size and mtime as when we hashed it.
        const now = await o.source.stat(c.key);
        if (now.size !== c.info.size || now.lastModified.getTime() !== c.info.lastModified.getTime()) {
          throw new StorageVerifyError(c.key, 'the local file changed during archiving; kept, will retry');
        }
        // Never delete without the lock: if our session died, another instance may be working on this file.
        if (locks && !(await this.stillLocked(locks, c.key))) {
          throw new StorageUnavailableError(
            'archiver-lock',
            'the file lock was lost before the delete; kept',
          );
        }
        await o.source.delete(c.key);
        await this.forgetLocal(c);
        this.emit('progress', { key: c.key, step: 'deleted', bytes: c.info.size });
      } else {
        this.emit('progress', { key: c.key, step: 'kept', bytes: c.info.size });
      }
      await this.journal.append({ ...entry, step: 'done' });
      report.archived++;
      report.bytes += c.info.size;
      this.metrics.files.inc({ result: 'archived' });
      this.metrics.bytes.inc(c.info.size);
      this.metrics.duration.observe((performance.now() - started) / 1000);
      return true;
    } catch (err) {
      if (signal?.aborted) throw err;
      this.fail(c.key, err as Error, report);
      return false;
    }
  }

  /** True when the target already holds this exact file (same size and the SHA-256 we stored with it). */
  private async alreadyStored(key: string, size: number, sha256: string): Promise<boolean> {
    try {
      const info = await this.options.target.stat(key);
      return info.size === size && info.metadata?.sha256 === sha256;
    } catch {
      return false;
    }
  }

  private async hash(backend: StorageBackend, key: string, signal: AbortSignal | undefined): Promise<string> {
    const h = createHash('sha256');
    for await (const chunk of await backend.read(key, signal ? { signal } : {})) h.update(chunk as Buffer);
    return h.digest('hex');
  }

  private async verify(
    key: string,
    size: number,
    sha256: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const info = await this.options.target.stat(key);
    if (info.size !== size) throw new StorageVerifyError(key, `stored ${info.size} bytes, expected ${size}`);
    if ((this.options.verify ?? 'read-back') === 'metadata') {
      const stored = info.metadata?.sha256;
      if (stored !== sha256)
        throw new StorageVerifyError(key, `stored checksum ${stored ?? 'missing'} ≠ ${sha256}`);
      return;
    }
    const back = await this.hash(this.options.target, key, signal);
    if (back !== sha256) throw new StorageVerifyError(key, `read back sha256 ${back} ≠ ${sha256}`);
  }

  private async record(c: Candidate, targetKey: string, sha256: string): Promise<void> {
    if (!this.options.index || !c.uuid) return;
    try {
      await this.options.index.record({
        uuid: c.uuid,
        tier: 'archive',
        instanceId: '',
        key: targetKey,
        size: c.info.size,
        checksum: `sha256:${sha256}`,
        callStart: c.callStart,
      });
    } catch (err) {
      // The index is a cache: the resolver still finds the file by probing.
      this.log.warn({ err, key: c.key }, 'could not record the archived location');
    }
  }

  private async forgetLocal(c: Candidate): Promise<void> {
    if (!this.options.index || !c.uuid) return;
    await this.options.index
      .forget(c.uuid, 'local', this.options.instanceId ?? hostname())
      .catch((err) => this.log.warn({ err, key: c.key }, 'could not forget the local location'));
  }
}
