import {
  type CdrRecord,
  isPostgresTransient,
  type PreparedCdr,
  type PreparingCdrSink,
  toFusionPbxRow,
} from '@pbxkit/cdr';
import type { LocationEntry, LocationIndex, TieredRecordingResolver } from '@pbxkit/storage';
import { recordingRefOf } from './recording-ref.js';

/**
 * A CDR sink that records in the location index where each call's recording is on this instance's disk, as soon
 * as its CDR arrives. The resolver finds a recording through its CDR (call start, `record_path`); once FusionPBX
 * or retention has purged `v_xml_cdr` (often after 5-7 days), the index is what still knows it by uuid (the
 * archiver replaces the entry with the archive's when it moves the file to S3). A sink rather than a side effect
 * of the store, so that it is retried and reported like any other: an index database that is down makes it
 * `down` in `/health`, and nothing is lost meanwhile.
 */
export class RecordingIndexSink implements PreparingCdrSink<LocationEntry | undefined> {
  readonly name = 'recording-index';

  constructor(
    private readonly index: LocationIndex,
    private readonly resolver: Pick<TieredRecordingResolver, 'localKey'>,
    private readonly instanceId: string,
  ) {}

  prepare(record: CdrRecord): PreparedCdr<LocationEntry | undefined> {
    const row = toFusionPbxRow(record);
    if (!row.record_name && !row.record_path) return { item: undefined, bytes: 0 };
    const ref = recordingRefOf(record.uuid, row as unknown as Record<string, unknown>);
    const key = this.resolver.localKey(ref);
    if (!key) return { item: undefined, bytes: 0 };
    const entry: LocationEntry = { uuid: record.uuid, tier: 'local', instanceId: this.instanceId, key };
    if (ref.callStart) entry.callStart = ref.callStart;
    return { item: entry, bytes: 256 + key.length };
  }

  async writePrepared(items: ReadonlyArray<LocationEntry | undefined>): Promise<void> {
    for (const entry of items) if (entry) await this.index.record(entry);
  }

  async write(records: readonly CdrRecord[]): Promise<void> {
    await this.writePrepared(records.map((r) => this.prepare(r).item));
  }

  isTransient(err: unknown): boolean {
    return isPostgresTransient(err);
  }
}
