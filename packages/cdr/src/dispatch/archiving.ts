import { Backoff, sleep } from '@pbxkit/core';
import type { CdrArchive } from '../archive/archive.js';
import type { CdrSpool } from '../spool/spool.js';
import { type SpoolHealth, summarizeError } from './health.js';

/** True for an error of the operating system (disk full, I/O error, too many files): retrying may help. */
export function isSystemError(err: unknown): boolean {
  return typeof (err as { syscall?: unknown } | null)?.syscall === 'string';
}

/** How {@link EntryArchiver} reports what went wrong. */
export interface ArchiverHooks {
  report(err: unknown, fields: Record<string, unknown>): void;
  /** The sinks of the dispatcher, for an entry addressed to every sink. */
  sinkNames: readonly string[];
  minMs: number;
  maxMs: number;
}

/**
 * Copies each entry leaving the spool into the archive first, so that a delivered CDR is always in one of the
 * two. A failed archive write (disk full) is retried with backoff for as long as it fails, the entry staying in
 * the spool, and the archive is reported `failing` meanwhile.
 */
export class EntryArchiver {
  readonly health: SpoolHealth = { state: 'ok', since: new Date(), lastError: undefined };
  /** While the archive fails: resolved when a write succeeds again. */
  private recovered: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Entries a sink dead-lettered, by id: that sink did not store them. */
  private readonly deadFor = new Map<string, Set<string>>();

  constructor(
    private readonly archive: CdrArchive,
    private readonly spool: CdrSpool,
    private readonly hooks: ArchiverHooks,
  ) {}

  /** Notes that `sink` gave up on entry `id` (the archive lists only the sinks that stored it). */
  deadLettered(id: string, sink: string): void {
    const set = this.deadFor.get(id);
    if (set) set.add(sink);
    else this.deadFor.set(id, new Set([sink]));
  }

  /**
   * Archives entry `id`; true once it is archived (or has nothing to archive: gone, or bytes that fail their
   * checksum, which its dead letters keep), false when `signal` ended the retries first.
   */
  async archiveEntry(id: string, signal: AbortSignal): Promise<boolean> {
    let backoff: Backoff | undefined;
    let probing = false;
    for (;;) {
      // While the archive fails, one entry (the probe) retries with backoff and the others wait for it to
      // succeed: a backlog of thousands would otherwise each read its XML back and fail, every few seconds.
      if (this.recovered && !probing) {
        await untilResolvedOrAborted(this.recovered.promise, signal);
        if (signal.aborted) return false;
      }
      try {
        await this.copy(id);
        this.deadFor.delete(id);
        this.recover();
        return true;
      } catch (err) {
        if (err instanceof Unreadable) {
          // Its bytes no longer match their checksum: retrying cannot help, and the sinks dead-lettered it.
          this.hooks.report(err.cause, { id, msg: 'spool entry not archived: unreadable' });
          this.deadFor.delete(id);
          if (probing) this.recover();
          return true;
        }
        if (this.recovered && !probing) continue; // another entry probes: wait for it
        if (!this.recovered) {
          let resolve!: () => void;
          const promise = new Promise<void>((r) => {
            resolve = r;
          });
          this.recovered = { promise, resolve };
        }
        probing = true;
        const at = new Date();
        if (this.health.state === 'ok') Object.assign(this.health, { state: 'failing', since: at });
        this.health.lastError = summarizeError(err, at);
        this.hooks.report(err, { id });
        backoff ??= new Backoff({ minMs: this.hooks.minMs, maxMs: this.hooks.maxMs });
        try {
          await sleep(backoff.next(), signal);
        } catch {
          // Stopped: a later start elects a new probe rather than waiting for this one.
          this.recovered?.resolve();
          this.recovered = undefined;
          return false;
        }
      }
    }
  }

  /** The archive took a write again: the entries waiting for the probe go on. */
  private recover(): void {
    if (this.health.state === 'failing') Object.assign(this.health, { state: 'ok', since: new Date() });
    this.recovered?.resolve();
    this.recovered = undefined;
  }

  private async copy(id: string): Promise<void> {
    let raw: Awaited<ReturnType<CdrSpool['readRaw']>>;
    try {
      raw = await this.spool.readRaw(id);
    } catch (err) {
      throw isSystemError(err) ? err : new Unreadable(err);
    }
    if (!raw) return;
    const { header, xml } = raw;
    const dead = this.deadFor.get(id);
    await this.archive.append({
      id,
      uuid: header.uuid,
      leg: header.leg,
      receivedAt: header.receivedAt,
      sinks: (header.sinks ?? this.hooks.sinkNames).filter((s) => !dead?.has(s)),
      xml,
    });
  }
}

/** Waits for `promise`, or until `signal` aborts. */
function untilResolvedOrAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** A spool entry that cannot be read back intact (not an I/O error). */
class Unreadable extends Error {
  constructor(override readonly cause: unknown) {
    super('unreadable spool entry');
  }
}
