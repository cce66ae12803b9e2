import { constants } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';
import { isNotFound } from '../spool/durable.js';
import {
  type ArchivedFacts,
  dataFile,
  dayOf,
  dayOfFile,
  decodeRecords,
  type IndexEntry,
  indexFile,
  parseIndex,
} from './format.js';

const gunzip = promisify(gunzipCb);

/** Which archived CDRs to select; every condition given must hold. */
export interface ArchiveQuery {
  /** Received at or after this time. */
  from?: Date;
  /** Received before this time. */
  to?: Date;
  /** Only these call uuids. */
  uuids?: readonly string[];
  /** Only CDRs this sink stored. */
  sink?: string;
}

/** An archived CDR read back. */
export interface ArchivedCdr extends ArchivedFacts {
  xml: string;
}

/** The days an archive directory holds, oldest first, with their data file sizes. */
export async function archiveDays(dir: string): Promise<Array<{ day: string; bytes: number }>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  const days = names.map(dayOfFile).filter((d): d is string => d !== undefined);
  const out: Array<{ day: string; bytes: number }> = [];
  for (const day of days.sort()) {
    try {
      out.push({ day, bytes: (await stat(join(dir, dataFile(day)))).size });
    } catch (err) {
      // Deleted by retention since the listing.
      if (!isNotFound(err)) throw err;
    }
  }
  return out;
}

/**
 * Reads a CDR archive directory without changing it: safe while a service archives into it (it reads only what
 * the index lists, and the index lists a CDR only once its bytes are written). No lock is taken.
 *
 * @example
 * ```ts
 * const reader = new CdrArchiveReader('./pbxkit-data/cdr-archive');
 * const found = await reader.list({ from: new Date('2026-08-21T14:00Z'), to: new Date('2026-08-21T16:00Z') });
 * for await (const cdr of reader.read(found)) console.log(cdr.uuid, cdr.xml.length);
 * ```
 */
export class CdrArchiveReader {
  constructor(readonly dir: string) {}

  /**
   * The index entries matching `query`, oldest received first, each call leg once: the first copy archived of
   * a uuid. A CDR can be archived twice: a crash between archiving an entry and removing it from the spool
   * archives it again at the next start, and FreeSWITCH posts a CDR again when a crash cut its 200 (two spool
   * entries of one uuid). Reads only the index files of the days that can hold them: a CDR is archived on or
   * after the day it was received.
   */
  async list(query: ArchiveQuery = {}): Promise<IndexEntry[]> {
    const fromDay = query.from ? dayOf(query.from.getTime()) : '';
    const uuids = query.uuids?.length ? new Set(query.uuids) : undefined;
    const from = query.from?.getTime() ?? Number.NEGATIVE_INFINITY;
    const to = query.to?.getTime() ?? Number.POSITIVE_INFINITY;
    const seen = new Set<string>();
    const out: IndexEntry[] = [];
    for (const { day } of await archiveDays(this.dir)) {
      if (day < fromDay) continue;
      const text = await readFile(join(this.dir, indexFile(day)), 'utf8').catch((err: unknown) => {
        if (isNotFound(err)) return '';
        throw err;
      });
      for (const entry of parseIndex(day, text)) {
        if (seen.has(entry.uuid)) continue;
        const at = Date.parse(entry.receivedAt);
        if (at < from || at >= to) continue;
        if (uuids && !uuids.has(entry.uuid)) continue;
        if (query.sink && !entry.sinks.includes(query.sink)) continue;
        seen.add(entry.uuid);
        out.push(entry);
      }
    }
    return out.sort((a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt) || (a.id < b.id ? -1 : 1));
  }

  /**
   * The XML of the listed entries, in the order given. Each gzip member is read and decompressed once for all
   * the entries it holds (members are read in file order, then the CDRs handed out in the order asked).
   */
  async *read(entries: readonly IndexEntry[]): AsyncGenerator<ArchivedCdr> {
    // Group by member, keeping the first position each member is needed at.
    const members = new Map<string, IndexEntry[]>();
    for (const entry of entries) {
      const key = `${entry.day}:${entry.m}`;
      const list = members.get(key);
      if (list) list.push(entry);
      else members.set(key, [entry]);
    }
    const done = new Map<string, ArchivedCdr>();
    let next = 0;
    for (const group of members.values()) {
      const first = group[0] as IndexEntry;
      const records = await this.member(first.day, first.m, first.n);
      const wanted = new Set(group.map((e) => e.id));
      for (const { facts, xml } of records) {
        if (wanted.delete(facts.id)) done.set(facts.id, { ...facts, xml: xml.toString('utf8') });
      }
      if (wanted.size) {
        throw new Error(
          `archive ${first.day} member at ${first.m} does not hold ${[...wanted][0]} as its index says`,
        );
      }
      // Hand out, in the order asked, what has been read so far.
      while (next < entries.length && done.has((entries[next] as IndexEntry).id)) {
        const id = (entries[next++] as IndexEntry).id;
        yield done.get(id) as ArchivedCdr;
        done.delete(id);
      }
    }
  }

  /** Reads and decompresses one member. */
  private async member(day: string, offset: number, length: number) {
    const handle = await open(join(this.dir, dataFile(day)), constants.O_RDONLY);
    try {
      const bytes = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(bytes, 0, length, offset);
      if (bytesRead !== length) throw new Error(`archive ${day}: member at ${offset} is cut short`);
      return decodeRecords(await gunzip(bytes));
    } finally {
      await handle.close();
    }
  }
}
