import { parseCdr } from '../parse/parse-cdr.js';
import type { CdrRecord } from '../record.js';
import type { PreparingCdrSink } from '../sink.js';
import type { CdrSpool } from '../spool/spool.js';

/** A spool entry ready to be written: what each sink writes of it. */
export interface Loaded {
  id: string;
  /** Per sink slot: what its sink writes (the record, or the sink's prepared item, or why preparing failed). */
  items: unknown[];
  sinks: readonly string[] | undefined;
  /** About how much memory `items` hold. */
  bytes: number;
}

/** A sink's `prepare` threw for this record: no retry can help, the entry is dead-lettered for that sink. */
export class PrepareFailure {
  constructor(readonly error: unknown) {}
}

interface CacheSlot {
  loaded: Loaded;
  /** Sinks that have not taken it yet. */
  left: number;
  bytes: number;
}

const CACHE_MAX_ENTRIES = 2048;
const CACHE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The entries waiting for their batches, prepared once for every sink: those the receiver just parsed (handed
 * over with the spool's `append` event) and those read back from the spool, bounded in count and bytes (the
 * oldest are dropped and read again when their turn comes).
 */
export class EntryCache {
  private readonly cache = new Map<string, CacheSlot>();
  private readonly loading = new Map<string, Promise<Loaded | undefined>>();
  private bytes = 0;

  /** `sinks[slot].preparing`: the sink of each slot when it prepares records. */
  constructor(
    private readonly spool: CdrSpool,
    private readonly sinks: ReadonlyArray<{ preparing: PreparingCdrSink | undefined }>,
  ) {}

  /** Keeps what each sink will write of a record that just arrived. */
  put(id: string, record: CdrRecord, sinks: readonly string[] | undefined): void {
    this.add(this.prepare(id, record, sinks));
  }

  /**
   * The entry's items: from the cache, else read, parsed and prepared from the spool, once even when several
   * sinks ask at the same time (after a restart they all start on the same entries). `undefined` when gone.
   * Rejects with the spool's error (an I/O error, or a {@link CdrSpoolError} for bytes that fail their checksum)
   * or the parser's.
   */
  async load(id: string): Promise<Loaded | undefined> {
    if (!this.cache.has(id)) {
      let loading = this.loading.get(id);
      if (!loading) {
        loading = this.read(id).finally(() => this.loading.delete(id));
        this.loading.set(id, loading);
      }
      const loaded = await loading;
      // Not cached: gone, a single sink, or already evicted by newer entries.
      if (!loaded || !this.cache.has(id)) return loaded;
    }
    const slot = this.cache.get(id) as CacheSlot;
    if (--slot.left <= 0) this.drop(id);
    return slot.loaded;
  }

  drop(id: string): void {
    const slot = this.cache.get(id);
    if (!slot) return;
    this.cache.delete(id);
    this.bytes -= slot.bytes;
  }

  clear(): void {
    this.cache.clear();
    this.bytes = 0;
  }

  private async read(id: string): Promise<Loaded | undefined> {
    const entry = await this.spool.read(id);
    if (!entry) return undefined;
    const record = parseCdr(entry.xml, entry.leg ? { leg: entry.leg } : {});
    const loaded = this.prepare(id, record, entry.sinks);
    if (this.sinks.length > 1) this.add(loaded);
    return loaded;
  }

  /** What each sink will write of `record`: the record itself, or the sink's prepared item. */
  private prepare(id: string, record: CdrRecord, sinks: readonly string[] | undefined): Loaded {
    let keepsRecord = false;
    let bytes = 0;
    const items = this.sinks.map(({ preparing }) => {
      if (!preparing) {
        keepsRecord = true;
        return record;
      }
      try {
        const prepared = preparing.prepare(record);
        bytes += prepared.bytes;
        return prepared.item;
      } catch (err) {
        return new PrepareFailure(err);
      }
    });
    // A record's heap is about three times its XML text (measured on 50 KB CDRs).
    if (keepsRecord) bytes += record.xml.length * 3;
    return { id, items, sinks, bytes };
  }

  private add(loaded: Loaded): void {
    if (this.cache.has(loaded.id)) return;
    this.cache.set(loaded.id, { loaded, left: this.sinks.length, bytes: loaded.bytes });
    this.bytes += loaded.bytes;
    while (this.cache.size > CACHE_MAX_ENTRIES || this.bytes > CACHE_MAX_BYTES) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.drop(oldest);
    }
  }
}
