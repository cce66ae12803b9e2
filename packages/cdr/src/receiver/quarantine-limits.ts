import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Counter, Gauge, Logger } from '@pbxkit/core';

/** Bounds of the quarantine, where the receiver keeps bodies it could not decode or parse. */
export interface QuarantineLimitOptions {
  /** Largest total size of the quarantine directory, in bytes. Default 256 MiB. */
  maxBytes?: number;
  /** Quarantined bodies older than this are deleted, in ms. Default 30 days. */
  maxAgeMs?: number;
}

export const DEFAULT_QUARANTINE_MAX_BYTES = 256 * 1024 * 1024;
export const DEFAULT_QUARANTINE_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/** What the reason file of one entry is assumed to take until the entry is written and measured. */
const REASON_ALLOWANCE = 4096;
const BODY = '.body';
const REASON = '.reason.json';

interface Entry {
  id: string;
  bytes: number;
  /** When it was quarantined (ms since the epoch). */
  at: number;
}

interface Metrics {
  bytes: Gauge;
  refused: Counter<'reason'>;
  expired: Counter;
}

/**
 * Keeps the quarantine directory within a total size and an age. The directory is read once (what earlier
 * runs left counts too), then followed in memory: a body is admitted only when it fits (else the caller
 * refuses it, FreeSWITCH keeps it in its err-log directory), and entries past the age are deleted whenever a
 * new body asks to be admitted.
 */
export class QuarantineLimits {
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  private entries: Entry[] = [];
  /** Bytes of the entries plus the room promised to bodies being written. */
  private total = 0;
  private loaded: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    options: QuarantineLimitOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly now: () => number = Date.now,
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_QUARANTINE_MAX_BYTES;
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_QUARANTINE_MAX_AGE_MS;
    if (!(this.maxBytes >= 0)) throw new RangeError('quarantine.maxBytes must be >= 0');
    if (!(this.maxAgeMs > 0)) throw new RangeError('quarantine.maxAgeMs must be > 0');
  }

  /**
   * Deletes what is past the age, then promises room for a body of `bodyBytes`: resolves with the function
   * to call with the entry's id once it is written (or `undefined` when it was not), or `undefined` when the
   * quarantine has no room (counted and logged here).
   */
  async admit(
    bodyBytes: number,
    facts: Record<string, unknown>,
  ): Promise<((id: string | undefined) => Promise<void>) | undefined> {
    this.loaded ??= this.load();
    try {
      await this.loaded;
    } catch (err) {
      this.loaded = undefined; // read the directory again next time
      throw err;
    }
    await this.expire();
    const promised = bodyBytes + REASON_ALLOWANCE;
    if (this.total + promised > this.maxBytes) {
      this.metrics.refused.inc({ reason: 'full' });
      this.logger.warn(
        { ...facts, bytes: bodyBytes, quarantineBytes: this.total, maxBytes: this.maxBytes },
        'CDR body not quarantined: the quarantine is full (answered 507; FreeSWITCH keeps it in its err-log directory)',
      );
      return undefined;
    }
    this.grow(promised);
    return async (id) => {
      this.grow(-promised);
      if (id === undefined) return;
      const bytes = await this.sizeOf(id);
      this.entries.push({ id, bytes, at: this.now() });
      this.grow(bytes);
    };
  }

  private grow(bytes: number): void {
    this.total += bytes;
    this.metrics.bytes.inc(bytes);
  }

  private async load(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const found: Entry[] = [];
    for (const name of names) {
      if (!name.endsWith(REASON)) continue;
      const id = name.slice(0, -REASON.length);
      const reason = await stat(join(this.dir, name)).catch(() => undefined);
      if (reason) found.push({ id, bytes: await this.sizeOf(id), at: reason.mtimeMs });
    }
    found.sort((a, b) => a.at - b.at);
    this.entries = found;
    this.grow(found.reduce((sum, e) => sum + e.bytes, 0));
  }

  private async sizeOf(id: string): Promise<number> {
    let bytes = 0;
    for (const ext of [BODY, REASON]) {
      bytes += (await stat(join(this.dir, id + ext)).catch(() => undefined))?.size ?? 0;
    }
    return bytes;
  }

  /** Deletes the entries older than the age (the reason file first: an id is listed by it). */
  private async expire(): Promise<void> {
    const cutoff = this.now() - this.maxAgeMs;
    while (this.entries.length > 0 && (this.entries[0] as Entry).at < cutoff) {
      const entry = this.entries.shift() as Entry;
      this.grow(-entry.bytes);
      try {
        for (const ext of [REASON, BODY]) {
          await unlink(join(this.dir, entry.id + ext)).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOENT') throw err;
          });
        }
        this.metrics.expired.inc();
        this.logger.info({ id: entry.id, bytes: entry.bytes }, 'quarantined CDR body deleted: past its age');
      } catch (err) {
        this.logger.error({ err, id: entry.id }, 'could not delete an expired quarantined CDR body');
      }
    }
  }
}
