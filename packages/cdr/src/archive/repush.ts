import { parseCdr } from '../parse/parse-cdr.js';
import type { CdrSink } from '../sink.js';
import type { CdrSpool } from '../spool/spool.js';
import type { ArchiveQuery, CdrArchiveReader } from './reader.js';

/**
 * Where {@link repushArchived} sends CDRs: straight to a sink (a database, an HTTP forward to the service that
 * lost them), or into a spool, addressed to some sinks only, for its dispatcher to deliver.
 */
export type ArchiveRepushTarget = { sink: CdrSink } | { spool: CdrSpool; sinks?: readonly string[] };

/** What a re-push did. */
export interface ArchiveRepushSummary {
  /** CDRs selected. */
  total: number;
  /** CDRs the sink stored (or the spool took). */
  done: number;
  /** CDRs that could not be sent, with why. */
  failed: Array<{ id: string; uuid: string; error: string }>;
}

/** Options of {@link repushArchived}. */
export interface ArchiveRepushOptions {
  /** CDRs sent at once to a sink. Default 4. */
  concurrency?: number;
  /** Called after each CDR. */
  onProgress?: (summary: ArchiveRepushSummary) => void;
}

/**
 * Sends the archived CDRs that match `query` again, oldest first: to a sink (each parsed and written, as
 * `pbxkit-cdr import` does), or into a spool (with their original receive time, addressed to `sinks` only
 * when given). Idempotent as the sinks are (by call uuid): running it twice stores each CDR once. A CDR that
 * fails is listed in `failed`; the others go on.
 *
 * @example
 * ```ts
 * // In the service's own process (the spool is locked by it): queue what the CCP lost, for the CCP only.
 * await repushArchived(service.archive.reader, { from, to, sink: 'ccp' }, { spool: service.spool, sinks: ['ccp'] });
 * ```
 */
export async function repushArchived(
  reader: CdrArchiveReader,
  query: ArchiveQuery,
  target: ArchiveRepushTarget,
  options: ArchiveRepushOptions = {},
): Promise<ArchiveRepushSummary> {
  const entries = await reader.list(query);
  const summary: ArchiveRepushSummary = { total: entries.length, done: 0, failed: [] };
  const concurrency = 'sink' in target ? (options.concurrency ?? 4) : 64;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new RangeError(`concurrency must be a whole number >= 1, not ${concurrency}`);
  }
  const cdrs = reader.read(entries);
  const worker = async (): Promise<void> => {
    for (;;) {
      const next = await cdrs.next();
      if (next.done) return;
      const cdr = next.value;
      try {
        if ('sink' in target) {
          await target.sink.write([parseCdr(cdr.xml, cdr.leg ? { leg: cdr.leg } : {})]);
        } else {
          await target.spool.append({
            xml: cdr.xml,
            uuid: cdr.uuid,
            leg: cdr.leg,
            receivedAt: new Date(cdr.receivedAt),
            meta: { repushedFrom: 'archive', archivedId: cdr.id },
            sinks: target.sinks,
          });
        }
        summary.done++;
      } catch (err) {
        summary.failed.push({ id: cdr.id, uuid: cdr.uuid, error: (err as Error).message });
      }
      options.onProgress?.(summary);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return summary;
}
