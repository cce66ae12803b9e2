import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import {
  ErrorReporter,
  type Logger,
  MetricsFactory,
  type Registry,
  resolveLogger,
  TypedEmitter,
} from '@pbxkit/core';
import { DirSyncer } from '../spool/durable.js';
import { takeLock } from '../spool/lock.js';
import { type ArchivedFacts, dataFile, dayOf, encodeIndexLine, encodeRecord, indexFile } from './format.js';
import { archiveDays, CdrArchiveReader } from './reader.js';
import { repairDay } from './recovery.js';

const gzip = promisify(gzipCb);
const DAY_MS = 86_400_000;

/** Options of {@link CdrArchive.open}. */
export interface CdrArchiveOptions {
  /** The archive directory (created when missing). Keep it on a local file system that honours fsync. */
  dir: string;
  /** Keep each day's file this many days after the day ends. Default 7. */
  days?: number;
  /**
   * Most bytes the archive may take; past it the oldest days are deleted first (never the day being written).
   * Default 16 GiB. Set it well above a day's worth (about a tenth of a day's CDR XML, compressed).
   */
  maxBytes?: number;
  /** fdatasync each group before it counts as archived. Default true (false only for throw-away archives). */
  fsync?: boolean;
  /** gzip level, 1 (fastest, the default: ~0.15 ms of a thread-pool thread per 50 KB CDR) to 9. */
  level?: number;
  /** How often retention runs, ms. Default every hour (and once at open). */
  purgeIntervalMs?: number;
  /** Clock (ms since the epoch), for tests: the day a CDR is filed under, and retention. */
  now?: () => number;
  logger?: Logger;
  /** Registry of the `pbxkit_cdr_archive_*` metrics. */
  registry?: Registry;
}

/** What {@link CdrArchive.append} keeps: the CDR's facts and its XML bytes. */
export interface ArchiveInput extends ArchivedFacts {
  xml: Buffer;
}

interface CdrArchiveEvents {
  /** These entries are durably archived (emitted before their `append` calls resolve). */
  archived: (ids: readonly string[]) => void;
  /** Whole days deleted by retention, and why. */
  purged: (days: readonly string[], reason: 'age' | 'size') => void;
}

interface Queued {
  input: ArchiveInput;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface DayFile {
  day: string;
  data: FileHandle;
  index: FileHandle;
  /** Bytes of complete members. */
  size: number;
}

/** Most uncompressed bytes archived as one gzip member. */
const GROUP_BYTES = 8 * 1024 * 1024;

/**
 * Keeps the CDRs that left the spool, as XML, for re-push: in one gzip file per UTC day of archiving
 * (`YYYY-MM-DD.xml.gz`, one member per group of CDRs, readable with `zcat`) with an index of uuids and times
 * (`YYYY-MM-DD.idx`). Fed by the dispatcher (`CdrDispatcherOptions.archive`) just before an entry leaves the
 * spool, so a CDR is always in the spool or in the archive. Retention deletes whole days: after `days`, and
 * the oldest first past `maxBytes`.
 *
 * Appends are group-committed like the spool's: the CDRs that arrive while one group is compressed, written
 * and fdatasynced share the next group. A crash can leave an incomplete member at the end of the newest day
 * (cut off at the next open) or members the index lacks (indexed again from the data at the next open). One
 * process at a time (`archive.lock`); {@link CdrArchiveReader} reads while it runs.
 */
export class CdrArchive extends TypedEmitter<CdrArchiveEvents> {
  readonly dir: string;
  readonly reader: CdrArchiveReader;
  private readonly options: CdrArchiveOptions;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly errors: ErrorReporter;
  private readonly dirSync: DirSyncer;
  private readonly metrics;
  private current: DayFile | undefined;
  private queue: Queued[] = [];
  private flushing: Promise<void> | undefined;
  private purging: Promise<string[]> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unlock: () => Promise<void> = async () => {};
  private closed = false;

  private constructor(options: CdrArchiveOptions) {
    super();
    this.options = options;
    this.dir = options.dir;
    if (!((options.days ?? 7) > 0)) throw new RangeError('archive days must be > 0');
    if (!((options.maxBytes ?? 1) > 0)) throw new RangeError('archive maxBytes must be > 0');
    this.now = options.now ?? Date.now;
    this.reader = new CdrArchiveReader(options.dir);
    this.logger = resolveLogger(options.logger, { component: 'cdr-archive' });
    this.errors = new ErrorReporter('cdr', 'archive', { logger: this.logger, registry: options.registry });
    this.dirSync = new DirSyncer(options.dir, options.fsync ?? true);
    const factory = new MetricsFactory('cdr', options.registry);
    this.metrics = {
      archived: factory.counter({ what: 'archive_entries', unit: 'total', help: 'CDRs archived' }),
      bytes: factory.gauge({ what: 'archive', unit: 'bytes', help: 'Size of the archive files' }),
      purged: factory.counter({
        what: 'archive_purged_days',
        unit: 'total',
        help: 'Archive days deleted, by reason (age, size)',
        labelNames: ['reason'],
      }),
      latency: factory.histogram({
        what: 'archive_write_duration',
        unit: 'seconds',
        help: 'Compressing, writing and syncing one group of CDRs',
      }),
    };
  }

  /** Opens (creating when needed) the archive, repairs the end of its newest day after a crash, starts retention. */
  static async open(options: CdrArchiveOptions): Promise<CdrArchive> {
    const archive = new CdrArchive(options);
    await mkdir(archive.dir, { recursive: true });
    archive.unlock = await takeLock(join(archive.dir, 'archive.lock'), 'CDR archive');
    try {
      const days = await archiveDays(archive.dir);
      const newest = days.at(-1);
      if (newest) {
        await repairDay(archive.dir, newest.day, {
          fsync: options.fsync ?? true,
          dirSync: archive.dirSync,
          logger: archive.logger,
        });
      }
      await archive.purge();
    } catch (err) {
      await archive.unlock();
      throw err;
    }
    archive.timer = setInterval(() => {
      archive.purge().catch(() => {});
    }, options.purgeIntervalMs ?? 3_600_000);
    archive.timer.unref();
    return archive;
  }

  /**
   * Archives one CDR; resolves once it is durably written (with the CDRs that arrived meanwhile, as one gzip
   * member) and indexed. Rejects when it could not be written; nothing of it is then kept.
   */
  append(input: ArchiveInput): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the CDR archive is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.kick();
    });
  }

  /** Starts flushing unless a flush runs; one that ends with appends queued meanwhile starts another. */
  private kick(): void {
    this.flushing ??= this.flush().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  /**
   * Deletes the days past `days`, then the oldest days while the archive is larger than `maxBytes` (never the
   * day being written). Resolves with the days deleted. Runs at open and every `purgeIntervalMs`.
   */
  purge(): Promise<string[]> {
    this.purging ??= this.purgeNow()
      .catch((err: unknown) => {
        this.errors.report(err, { msg: 'CDR archive retention failed (tried again at the next run)' });
        return [] as string[];
      })
      .finally(() => {
        this.purging = undefined;
      });
    return this.purging;
  }

  /** Waits for the appends in progress, stops retention and closes the files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    while (this.flushing) await this.flushing;
    await this.purging;
    await this.closeDay();
    await this.dirSync.close();
    await this.unlock();
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      let bytes = 0;
      let count = 0;
      while (count < this.queue.length && (count === 0 || bytes < GROUP_BYTES)) {
        bytes += (this.queue[count] as Queued).input.xml.length;
        count++;
      }
      const group = this.queue.splice(0, count);
      try {
        await this.write(group.map((q) => q.input));
      } catch (err) {
        for (const q of group) q.reject(err);
        continue;
      }
      this.emit(
        'archived',
        group.map((q) => q.input.id),
      );
      for (const q of group) q.resolve();
    }
  }

  private async write(inputs: readonly ArchiveInput[]): Promise<void> {
    const t0 = process.hrtime.bigint();
    const records = inputs.flatMap(({ xml, ...facts }) => encodeRecord(facts, xml));
    const member = await gzip(Buffer.concat(records), { level: this.options.level ?? 1 });
    const file = await this.dayFile(dayOf(this.now()));
    const at = file.size;
    try {
      await writeAt(file.data, member, at);
      if (this.options.fsync ?? true) await file.data.datasync();
      // The index after the data: an index line only ever names bytes already on disk.
      const lines = inputs.map(({ xml, ...facts }) => encodeIndexLine(facts, at, member.length)).join('');
      await file.index.write(lines);
    } catch (err) {
      // Nothing of a failed group may stay: a later group is written after the last complete one.
      await file.data.truncate(at).catch(() => {});
      throw err;
    }
    file.size = at + member.length;
    this.metrics.archived.inc(inputs.length);
    this.metrics.bytes.inc(member.length);
    this.metrics.latency.observe(Number(process.hrtime.bigint() - t0) / 1e9);
  }

  /** The open files of `day`, opening (creating durably) them when the day changed. */
  private async dayFile(day: string): Promise<DayFile> {
    if (this.current?.day === day) return this.current;
    await this.closeDay();
    const dataPath = join(this.dir, dataFile(day));
    const existed = await stat(dataPath).then(
      (s) => s.size,
      () => undefined,
    );
    const data = await open(dataPath, constants.O_RDWR | constants.O_CREAT, 0o640);
    let index: FileHandle;
    try {
      index = await open(join(this.dir, indexFile(day)), 'a', 0o640);
    } catch (err) {
      await data.close();
      throw err;
    }
    this.current = { day, data, index, size: existed ?? 0 };
    // The new names must survive a crash before anything archived in them counts.
    if (existed === undefined) await this.dirSync.sync();
    return this.current;
  }

  private async closeDay(): Promise<void> {
    const file = this.current;
    this.current = undefined;
    await file?.data.close().catch(() => {});
    await file?.index.close().catch(() => {});
  }

  private async purgeNow(): Promise<string[]> {
    const now = this.now();
    const keepDays = this.options.days ?? 7;
    const maxBytes = this.options.maxBytes ?? 16 * 1024 ** 3;
    const days = await archiveDays(this.dir);
    const sizes = await Promise.all(
      days.map(
        async (d) =>
          d.bytes +
          (await stat(join(this.dir, indexFile(d.day))).then(
            (s) => s.size,
            () => 0,
          )),
      ),
    );
    let total = sizes.reduce((a, b) => a + b, 0);
    const deleted: string[] = [];
    const byAge: string[] = [];
    const bySize: string[] = [];
    const protectedDays = new Set([dayOf(now), this.current?.day]);
    for (const [i, { day }] of days.entries()) {
      const old = Date.parse(`${day}T00:00:00Z`) + DAY_MS + keepDays * DAY_MS <= now;
      if (protectedDays.has(day) || (!old && total <= maxBytes)) continue;
      await this.deleteDay(day);
      (old ? byAge : bySize).push(day);
      deleted.push(day);
      total -= sizes[i] as number;
    }
    if (total > maxBytes) {
      this.logger.warn(
        { bytes: total, maxBytes },
        'CDR archive is larger than maxBytes with only the current day left: raise maxBytes above a day of CDRs',
      );
    }
    this.metrics.bytes.set(total);
    for (const [reason, list] of [
      ['age', byAge],
      ['size', bySize],
    ] as const) {
      if (!list.length) continue;
      this.metrics.purged.inc({ reason }, list.length);
      this.logger.info({ days: list, reason }, 'CDR archive days deleted by retention');
      this.emit('purged', list, reason);
    }
    return deleted;
  }

  private async deleteDay(day: string): Promise<void> {
    // The data first: a day is listed by its data file, so an index left alone is never read.
    await unlink(join(this.dir, dataFile(day)));
    await unlink(join(this.dir, indexFile(day))).catch(() => {});
    await this.dirSync.sync();
  }
}

/** Writes all of `buffer` at `position`. */
async function writeAt(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, done, buffer.length - done, position + done);
    if (bytesWritten === 0) throw new Error('the archive write made no progress');
    done += bytesWritten;
  }
}
