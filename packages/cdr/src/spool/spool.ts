import { access, mkdir, readFile, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type Logger, PbxkitError, resolveLogger, TypedEmitter } from '@pbxkit/core';
import type { CdrLeg, CdrRecord } from '../record.js';
import { DirSyncer, fsyncPath, listNames, writeDurably } from './durable.js';
import { entryTime, entryUuid, isEntryId, newEntryId } from './ids.js';
import { SinkJournal } from './journal.js';
import { takeLock } from './lock.js';
import { CorruptFrameError, type LogLocation, SegmentLog } from './segment-log.js';

/** Options of {@link CdrSpool.open}. */
export interface CdrSpoolOptions {
  /** The spool directory (created when missing). Keep it on a local filesystem that honours fsync. */
  dir: string;
  /**
   * fsync every entry, directory change and journal line before resolving. Default `true`: turn it off only
   * for throw-away test spools, since an acknowledged CDR may then be lost when the machine (not only the
   * process) crashes.
   */
  fsync?: boolean;
  /**
   * Size at which a segment file stops taking appends; it is deleted once every sink has all of its entries.
   * Default 32 MiB.
   */
  segmentBytes?: number;
  logger?: Logger;
}

/** What {@link CdrSpool.append} stores. */
export interface SpoolAppendInput {
  /** The CDR XML, transport encoding already removed. */
  xml: string;
  /** The call uuid (idempotency key of every sink). */
  uuid: string;
  leg?: CdrLeg;
  /** Default: now. */
  receivedAt?: Date;
  /** Small JSON-serialisable facts kept with the entry (remote address, encoding, ...). */
  meta?: Record<string, unknown>;
  /** Deliver only to these sinks (a dead-letter replay); default every sink. */
  sinks?: readonly string[];
  /**
   * The record already parsed from `xml`. It is not stored: it is handed to in-process listeners of `append`
   * so the dispatcher does not parse the XML a second time.
   */
  record?: CdrRecord;
}

/** The stored facts of an entry (the first line of its file). */
export interface SpoolEntryHeader {
  id: string;
  uuid: string;
  leg: CdrLeg | undefined;
  receivedAt: string;
  meta: Record<string, unknown>;
  sinks: string[] | undefined;
}

/** An entry read back from the spool. */
export interface SpoolEntry extends SpoolEntryHeader {
  xml: string;
}

/** Payload of the `append` event. */
export interface SpoolAppended {
  id: string;
  uuid: string;
  sinks: readonly string[] | undefined;
  record: CdrRecord | undefined;
}

/** What {@link CdrSpool.quarantine} keeps. */
export interface QuarantineInput {
  /** The request body exactly as received. */
  body: Buffer;
  /** Why it was not accepted (the decode or parse error message). */
  reason: string;
  /** Stable code of the failure (`CDR_DECODE`, `CDR_PARSE`, ...). */
  code?: string;
  contentType?: string | undefined;
  remoteAddress?: string | undefined;
  /** The `uuid` query parameter, when there was one. */
  uuidParam?: string | undefined;
  receivedAt?: Date;
}

/** A dead letter's `.json`: the entry's facts plus why the sink gave up. */
export interface DeadLetterInfo extends SpoolEntryHeader {
  sink: string;
  attempts: number;
  error: { name: string; message: string; code?: string };
  deadAt: string;
  /**
   * Set when the spool could not read the entry back (its bytes no longer match their checksum): why. The facts
   * are then what its id tells (uuid, time) and the `.xml` holds the unverified bytes that were read, if any.
   */
  unreadable?: string;
}

interface SpoolEvents {
  /** An entry was durably appended. */
  append: (entry: SpoolAppended) => void;
}

/** The spool could not store or read something. */
export class CdrSpoolError extends PbxkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CDR_SPOOL', message, options);
  }
}

const SINK_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const ENTRY_EXT = '.cdr';

function checkSinkName(sink: string): void {
  if (!SINK_NAME.test(sink) || sink === '.' || sink === '..') {
    throw new RangeError(`sink name ${JSON.stringify(sink)} must match ${SINK_NAME} (it names spool files)`);
  }
}

/**
 * A crash-safe, directory-backed queue of CDRs.
 *
 * Layout under `dir`:
 *
 * - `segments/<n>.seg`: the entries, appended to segment files with group commit: the CDRs that arrive while
 *   one write + fdatasync is in progress are written and synced together by the next, and each
 *   {@link append} resolves once its bytes are on stable storage. A segment is deleted when every sink has
 *   all of its entries.
 * - `state/<sink>.done`: per sink, an append-only journal of the ids that sink has stored (fsynced per
 *   batch).
 * - `dead/<sink>/<id>.xml` + `<id>.json`: entries a sink gave up on (its copy only; other sinks proceed).
 *   {@link replayDead} puts them back for that sink.
 * - `quarantine/<id>.body` + `<id>.reason.json`: request bodies that could not be decoded or parsed, raw.
 * - `tmp/`: files being written (dead letters, quarantine, journal rewrites); emptied on open.
 *
 * Memory stays bounded: an index of where each pending entry is (no XML) and per-sink done marks are held;
 * entries are read one at a time when delivered.
 */
export class CdrSpool extends TypedEmitter<SpoolEvents> {
  readonly dir: string;
  readonly fsync: boolean;
  private readonly logger: Logger;
  private readonly pendingDir: string;
  private readonly segmentsDir: string;
  private readonly segmentBytes: number;
  private readonly tmpDir: string;
  private readonly stateDir: string;
  private readonly deadDir: string;
  private readonly quarantineDir: string;
  private readonly stateSync: DirSyncer;
  private readonly quarantineSync: DirSyncer;
  /**
   * The syncer of each sink's dead-letter directory, ready once the directory exists durably. Held as a
   * promise from the first call on: a failed batch dead-letters its entries all at once, and each must wait for
   * the same directory (one syncer, one open handle) rather than create its own.
   */
  private readonly deadSyncs = new Map<string, Promise<DirSyncer>>();
  private readonly journals = new Map<string, Promise<SinkJournal>>();
  /** Dead letters on disk per attached sink (counted on attach, then kept up to date). */
  private readonly deadCounts = new Map<string, number>();
  /** The done marks of each attached sink (the settled value of `journals`, readable synchronously). */
  private readonly doneSets = new Map<string, Set<string>>();
  /** Where each pending entry is, in append order. */
  private readonly index = new Map<string, LogLocation>();
  private log!: SegmentLog;
  private unlock: () => Promise<void> = async () => {};
  private closed = false;

  private constructor(options: CdrSpoolOptions) {
    super();
    this.dir = options.dir;
    this.fsync = options.fsync ?? true;
    this.logger = resolveLogger(options.logger, { component: 'cdr-spool' });
    this.pendingDir = join(this.dir, 'pending');
    this.segmentsDir = join(this.dir, 'segments');
    this.segmentBytes = options.segmentBytes ?? 32 * 1024 * 1024;
    if (!(this.segmentBytes >= 1)) throw new RangeError('segmentBytes must be >= 1');
    this.tmpDir = join(this.dir, 'tmp');
    this.stateDir = join(this.dir, 'state');
    this.deadDir = join(this.dir, 'dead');
    this.quarantineDir = join(this.dir, 'quarantine');
    this.stateSync = new DirSyncer(this.stateDir, this.fsync);
    this.quarantineSync = new DirSyncer(this.quarantineDir, this.fsync);
  }

  /** Opens (creating when needed) the spool in `options.dir` and clears the leftovers of interrupted writes. */
  static async open(options: CdrSpoolOptions): Promise<CdrSpool> {
    const spool = new CdrSpool(options);
    await mkdir(spool.dir, { recursive: true });
    spool.unlock = await takeLock(join(spool.dir, 'spool.lock'));
    try {
      await spool.load();
    } catch (err) {
      await spool.unlock();
      throw err;
    }
    return spool;
  }

  /** Creates the layout, clears `tmp/`, reads the segments and moves legacy entries in. */
  private async load(): Promise<void> {
    for (const d of [this.segmentsDir, this.tmpDir, this.stateDir, this.deadDir, this.quarantineDir]) {
      await mkdir(d, { recursive: true });
    }
    if (this.fsync) await fsyncPath(this.dir);
    // A temp file is a write that never resolved: nobody was told it was stored.
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    const { log, recovered } = await SegmentLog.open({
      dir: this.segmentsDir,
      fsync: this.fsync,
      segmentBytes: this.segmentBytes,
      groupBytes: 8 * 1024 * 1024,
      logger: this.logger,
      onReclaim: (ids) => this.forgetMarks(ids),
    });
    this.log = log;
    for (const { id, location } of recovered) {
      // The same id twice: a crash while moving a legacy entry in, after its copy was durable.
      if (this.index.has(id)) await log.release(location);
      else this.index.set(id, location);
    }
    await this.moveLegacyEntries();
  }

  /** The directory of a sink's dead letters. */
  deadLetterDir(sink: string): string {
    checkSinkName(sink);
    return join(this.deadDir, sink);
  }

  /** The quarantine directory. */
  get quarantineDirectory(): string {
    return this.quarantineDir;
  }

  /**
   * Stores a CDR durably and resolves with its id: its frame is written to the current segment and
   * fdatasynced (together with the appends that arrived meanwhile) first. Then emits `append`.
   */
  async append(input: SpoolAppendInput): Promise<string> {
    this.assertOpen();
    const receivedAt = input.receivedAt ?? new Date();
    const id = newEntryId(input.uuid, receivedAt);
    const header: SpoolEntryHeader = {
      id,
      uuid: input.uuid,
      leg: input.leg,
      receivedAt: receivedAt.toISOString(),
      meta: input.meta ?? {},
      sinks: input.sinks ? [...input.sinks] : undefined,
    };
    await this.store(header, input.xml);
    this.emit('append', { id, uuid: input.uuid, sinks: input.sinks, record: input.record });
    return id;
  }

  /**
   * Ids of the pending entries, oldest first. After a restart this may include entries that every sink had
   * already stored (their segment was not deleted yet): the journals say so, and the dispatcher removes them
   * without writing them again.
   */
  async pending(): Promise<string[]> {
    return [...this.index.keys()].sort();
  }

  /** The ids of the pending entries, in no particular order, read synchronously (see {@link pending}). */
  pendingIds(): string[] {
    return [...this.index.keys()];
  }

  /**
   * Reads one entry; `undefined` when it is gone (removed meanwhile). Rejects with a {@link CdrSpoolError}
   * when the bytes read back do not match their checksum.
   */
  async read(id: string): Promise<SpoolEntry | undefined> {
    const raw = await this.readRaw(id);
    return raw && { ...raw.header, xml: raw.xml.toString('utf8') };
  }

  /** {@link read} with the XML as the bytes stored (for a copy that need not decode them). */
  async readRaw(id: string): Promise<{ header: SpoolEntryHeader; xml: Buffer } | undefined> {
    const location = this.index.get(id);
    if (!location) return undefined;
    let frame: { header: Buffer; body: Buffer };
    try {
      frame = await this.log.read(location);
    } catch (err) {
      if (err instanceof CorruptFrameError) {
        throw new CdrSpoolError(`spool entry ${id}: ${err.message}`, { cause: err });
      }
      throw err;
    }
    return { header: headerFrom(id, frame.header.toString('utf8')), xml: frame.body };
  }

  /**
   * Loads (once) the journal of `sink`, dropping the marks of entries no longer pending. Call it before
   * {@link isDone} for that sink.
   */
  async attachSink(sink: string): Promise<void> {
    await this.journal(sink);
    await this.countDeadLetters(sink);
  }

  /**
   * How many dead letters `sink` has in `dead/<sink>/` (after {@link attachSink}): counted when it was attached
   * or last recounted, plus those written and minus those replayed since. Files removed by hand show after
   * the next {@link countDeadLetters}.
   */
  deadLetterCount(sink: string): number {
    return this.deadCounts.get(sink) ?? 0;
  }

  /** Counts the dead letters of `sink` on disk again (see {@link deadLetterCount}). */
  async countDeadLetters(sink: string): Promise<number> {
    const count = (await this.deadLetters(sink)).length;
    this.deadCounts.set(sink, count);
    return count;
  }

  /** True when `sink` has stored entry `id` (after {@link attachSink}). */
  isDone(sink: string, id: string): boolean {
    const done = this.doneSets.get(sink);
    if (!done) throw new CdrSpoolError(`sink ${sink} is not attached`);
    return done.has(id);
  }

  /**
   * Records durably (journal line, fsynced) that `sink` has stored these entries. Rejects when the journal
   * cannot be written (disk full, I/O error): the marks are then not recorded, and the next call first rewrites
   * the journal from the marks that were (a failed append may have left a torn line), so calling again once
   * the disk has room succeeds.
   */
  async markDone(sink: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const journal = await this.journal(sink);
    try {
      await journal.mark(ids);
    } catch (err) {
      throw new CdrSpoolError(`could not write the journal state/${sink}.done: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * Removes an entry every sink has stored. Its done marks are kept until its segment is deleted, so that a
   * restart before then still knows it was delivered.
   */
  async remove(id: string): Promise<void> {
    const location = this.index.get(id);
    if (!location) return;
    this.index.delete(id);
    await this.log.release(location);
  }

  /**
   * Gives up on entry `id` for `sink` only: its XML and facts (with the last error) go to `dead/<sink>/`,
   * durably, then the entry counts as done for that sink so the others proceed and it can be removed.
   */
  async deadLetter(sink: string, id: string, error: unknown, attempts: number): Promise<void> {
    const dir = this.deadLetterDir(sink);
    let entry: SpoolEntry | undefined;
    let unreadable: CdrSpoolError | undefined;
    try {
      entry = await this.read(id);
    } catch (err) {
      // Bytes that no longer match their checksum stay unreadable: keep what can be kept rather than nothing.
      if (!(err instanceof CdrSpoolError) || !this.index.has(id)) throw err;
      unreadable = err;
      entry = unreadableEntry(id, err);
    }
    if (entry) {
      let ready = this.deadSyncs.get(sink);
      if (!ready) {
        ready = (async () => {
          await mkdir(dir, { recursive: true });
          if (this.fsync) await fsyncPath(this.deadDir);
          return new DirSyncer(dir, this.fsync);
        })();
        this.deadSyncs.set(sink, ready);
        ready.catch(() => this.deadSyncs.delete(sink)); // the next dead letter tries again
      }
      const sync = await ready;
      const { xml, ...header } = entry;
      const err = error instanceof Error ? error : new Error(String(error));
      const code: unknown = (err as Error & { code?: unknown }).code;
      const info: DeadLetterInfo = {
        ...header,
        sink,
        attempts,
        error: { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) },
        deadAt: new Date().toISOString(),
        ...(unreadable ? { unreadable: unreadable.message } : {}),
      };
      const jsonPath = join(dir, `${id}.json`);
      // Written again after a failure halfway (the journal line, say): count it once.
      const isNew = await access(jsonPath).then(
        () => false,
        () => true,
      );
      // The XML first: a `.json` only ever names an XML that is already durable.
      await writeDurably(
        join(this.tmpDir, `${id}.${sink}.xml`),
        join(dir, `${id}.xml`),
        xml,
        sync,
        this.fsync,
      );
      await writeDurably(
        join(this.tmpDir, `${id}.${sink}.json`),
        jsonPath,
        `${JSON.stringify(info, null, 2)}\n`,
        sync,
        this.fsync,
      );
      if (isNew) this.deadCounts.set(sink, this.deadLetterCount(sink) + 1);
      this.logger.warn({ sink, id, uuid: entry.uuid, attempts, err: err.message }, 'CDR dead-lettered');
    }
    await this.markDone(sink, [id]);
  }

  /** Ids of the dead letters of `sink`, oldest first. */
  deadLetters(sink: string): Promise<string[]> {
    return listNames(this.deadLetterDir(sink), '.json');
  }

  /** Reads a dead letter's facts and XML. */
  async readDeadLetter(sink: string, id: string): Promise<{ info: DeadLetterInfo; xml: string }> {
    const dir = this.deadLetterDir(sink);
    const info = JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')) as DeadLetterInfo;
    const xml = await readFile(join(dir, `${id}.xml`), 'utf8');
    return { info, xml };
  }

  /**
   * Puts dead letters of `sink` back into the spool, for that sink only (the others already have them), and
   * deletes them from `dead/<sink>/` once the new entry is durable. Resolves with how many were replayed.
   */
  async replayDead(sink: string, ids?: readonly string[]): Promise<number> {
    const dir = this.deadLetterDir(sink);
    let count = 0;
    for (const id of ids ?? (await this.deadLetters(sink))) {
      const { info, xml } = await this.readDeadLetter(sink, id);
      await this.append({
        xml,
        uuid: info.uuid,
        leg: info.leg,
        receivedAt: new Date(info.receivedAt),
        meta: { ...info.meta, replayedFrom: id },
        sinks: [sink],
      });
      await unlink(join(dir, `${id}.json`));
      this.deadCounts.set(sink, Math.max(0, this.deadLetterCount(sink) - 1));
      await unlink(join(dir, `${id}.xml`)).catch(() => {});
      count++;
    }
    return count;
  }

  /**
   * Keeps a body that could not be decoded or parsed: `quarantine/<id>.body` (the bytes as received) and
   * `<id>.reason.json`, both fsynced with their directory before resolving. Resolves with the id.
   */
  async quarantine(input: QuarantineInput): Promise<string> {
    this.assertOpen();
    const receivedAt = input.receivedAt ?? new Date();
    const id = newEntryId(input.uuidParam ?? 'unknown', receivedAt);
    const reason = {
      id,
      reason: input.reason,
      code: input.code,
      contentType: input.contentType,
      remoteAddress: input.remoteAddress,
      uuidParam: input.uuidParam,
      bytes: input.body.length,
      receivedAt: receivedAt.toISOString(),
    };
    await writeDurably(
      join(this.tmpDir, `${id}.body`),
      join(this.quarantineDir, `${id}.body`),
      input.body,
      this.quarantineSync,
      this.fsync,
    );
    await writeDurably(
      join(this.tmpDir, `${id}.reason.json`),
      join(this.quarantineDir, `${id}.reason.json`),
      `${JSON.stringify(reason, null, 2)}\n`,
      this.quarantineSync,
      this.fsync,
    );
    return id;
  }

  /** Ids of the quarantined bodies, oldest first. */
  quarantined(): Promise<string[]> {
    return listNames(this.quarantineDir, '.reason.json');
  }

  /** Closes the journals. Entries stay on disk for the next open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const promise of this.journals.values()) await (await promise.catch(() => undefined))?.close();
    await this.log.close();
    const deadSyncs = await Promise.all([...this.deadSyncs.values()].map((s) => s.catch(() => undefined)));
    for (const sync of [this.stateSync, this.quarantineSync, ...deadSyncs]) {
      await sync?.close().catch(() => {});
    }
    await this.unlock();
  }

  private assertOpen(): void {
    if (this.closed) throw new CdrSpoolError('the spool is closed');
  }

  private async store(header: SpoolEntryHeader, xml: string): Promise<void> {
    let location: LogLocation;
    try {
      location = await this.log.append(
        header.id,
        Buffer.from(JSON.stringify(header), 'utf8'),
        Buffer.from(xml, 'utf8'),
      );
    } catch (err) {
      throw new CdrSpoolError(`could not store spool entry ${header.id}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.index.set(header.id, location);
  }

  /** The segments of these ids were deleted: their done marks are no longer needed. */
  private forgetMarks(ids: readonly string[]): void {
    for (const set of this.doneSets.values()) for (const id of ids) set.delete(id);
  }

  /**
   * Spools written by earlier versions kept one file per entry in `pending/`: each is appended to the log
   * under its own id (so the journals still apply), and its file deleted once the copy is durable.
   */
  private async moveLegacyEntries(): Promise<void> {
    const ids = (await listNames(this.pendingDir, ENTRY_EXT)).filter(isEntryId);
    for (let i = 0; i < ids.length; i += 64) {
      await Promise.all(
        ids.slice(i, i + 64).map(async (id) => {
          const file = join(this.pendingDir, `${id}${ENTRY_EXT}`);
          if (!this.index.has(id)) {
            const text = await readFile(file, 'utf8');
            const newline = text.indexOf('\n');
            if (newline === -1) throw new CdrSpoolError(`spool entry ${id} has no header line`);
            const { xml, ...header } = entryFrom(id, text.slice(0, newline), text.slice(newline + 1));
            await this.store(header, xml);
          }
          await unlink(file);
        }),
      );
    }
    if (ids.length) this.logger.info({ entries: ids.length }, 'moved legacy pending/ entries into segments');
    await rmdir(this.pendingDir).catch(() => {});
  }

  private journal(sink: string): Promise<SinkJournal> {
    checkSinkName(sink);
    let promise = this.journals.get(sink);
    if (!promise) {
      promise = this.loadJournal(sink);
      this.journals.set(sink, promise);
      promise.catch(() => this.journals.delete(sink));
    }
    return promise;
  }

  private async loadJournal(sink: string): Promise<SinkJournal> {
    this.assertOpen();
    const journal = await SinkJournal.open(
      {
        sink,
        path: join(this.stateDir, `${sink}.done`),
        tmpPath: join(this.tmpDir, `${sink}.done.${process.pid}.tmp`),
        dirSync: this.stateSync,
        fsync: this.fsync,
        logger: this.logger,
        beforeCompact: () => this.log.syncDirectory(),
      },
      (id) => this.index.has(id),
    );
    this.doneSets.set(sink, journal.done);
    return journal;
  }
}

/** What can be kept of an entry whose bytes no longer match their checksum: its id's facts and those bytes. */
function unreadableEntry(id: string, err: CdrSpoolError): SpoolEntry {
  const body = err.cause instanceof CorruptFrameError ? err.cause.body : undefined;
  return {
    id,
    uuid: entryUuid(id),
    leg: undefined,
    receivedAt: new Date(entryTime(id)).toISOString(),
    meta: {},
    sinks: undefined,
    xml: body ? body.toString('utf8') : '',
  };
}

function entryFrom(id: string, headerText: string, xml: string): SpoolEntry {
  return { ...headerFrom(id, headerText), xml };
}

function headerFrom(id: string, headerText: string): SpoolEntryHeader {
  let header: SpoolEntryHeader;
  try {
    header = JSON.parse(headerText) as SpoolEntryHeader;
  } catch (err) {
    throw new CdrSpoolError(`spool entry ${id} has a corrupt header`, { cause: err });
  }
  return {
    id,
    uuid: header.uuid,
    leg: header.leg,
    receivedAt: header.receivedAt,
    meta: header.meta ?? {},
    sinks: header.sinks,
  };
}
