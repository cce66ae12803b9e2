/**
 * The archive's files, per UTC day of archiving:
 *
 * - `YYYY-MM-DD.xml.gz`: gzip members appended one after another (one per group of CDRs archived together;
 *   `zcat` reads the file whole). Uncompressed, each CDR is a comment line with its facts and then its XML:
 *
 *       <!-- pbxkit-cdr {"id":"…","uuid":"…","leg":"a","receivedAt":"…","sinks":["postgres"],"bytes":51234} -->
 *       <?xml version="1.0"?><cdr>…</cdr>
 *
 *   `bytes` is the XML's length in bytes, so the XML is read exactly (whatever it contains), followed by `\n`.
 * - `YYYY-MM-DD.idx`: one JSON line per CDR (facts, and where its member is: `m` offset, `n` length), so a
 *   selection decompresses only the members it needs. It can be rebuilt from the data file.
 */
import type { CdrLeg } from '../record.js';

/** What the archive keeps of each CDR besides its XML. */
export interface ArchivedFacts {
  /** The spool entry id (unique; a crash can archive an entry twice, and readers drop the second copy). */
  id: string;
  /** The call uuid. */
  uuid: string;
  leg: CdrLeg | undefined;
  /** When the receiver got it (ISO 8601). */
  receivedAt: string;
  /** The sinks that stored it (a sink that dead-lettered it is not listed). */
  sinks: string[];
}

/** An index line: the facts and where the CDR's gzip member is in the day's data file. */
export interface IndexEntry extends ArchivedFacts {
  /** The day file (`YYYY-MM-DD`). */
  day: string;
  /** Offset of the gzip member holding it. */
  m: number;
  /** Length of that member. */
  n: number;
}

const HEAD = '<!-- pbxkit-cdr ';
const TAIL = ' -->';
const DAY = /^(\d{4}-\d{2}-\d{2})\.xml\.gz$/;

/** The day file a time falls into (UTC). */
export function dayOf(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/** The day of a data file name, or undefined for other names. */
export function dayOfFile(name: string): string | undefined {
  return DAY.exec(name)?.[1];
}

export const dataFile = (day: string) => `${day}.xml.gz`;
export const indexFile = (day: string) => `${day}.idx`;

/** The bytes of one archived CDR in a member: its comment line and its XML. */
export function encodeRecord(facts: ArchivedFacts, xml: Buffer): Buffer[] {
  // `--` may not appear in an XML comment: inside JSON strings it is written `-\u002d`, which reads back the same.
  const json = JSON.stringify({ ...facts, bytes: xml.length }).replace(/--/g, '-\\u002d');
  return [Buffer.from(`${HEAD}${json}${TAIL}\n`, 'utf8'), xml, Buffer.from('\n')];
}

/** The CDRs of a decompressed member, in order. Throws when the bytes are not records. */
export function decodeRecords(data: Buffer): Array<{ facts: ArchivedFacts; xml: Buffer }> {
  const out: Array<{ facts: ArchivedFacts; xml: Buffer }> = [];
  let at = 0;
  while (at < data.length) {
    const lf = data.indexOf(0x0a, at);
    const line = lf === -1 ? '' : data.toString('utf8', at, lf);
    if (!line.startsWith(HEAD) || !line.endsWith(TAIL)) throw new Error(`no archive record at byte ${at}`);
    const { bytes, ...facts } = JSON.parse(
      line.slice(HEAD.length, line.length - TAIL.length),
    ) as ArchivedFacts & {
      bytes: number;
    };
    const start = lf + 1;
    if (!(Number.isInteger(bytes) && bytes >= 0 && start + bytes < data.length + 1)) {
      throw new Error(`archive record at byte ${at} runs past its member`);
    }
    out.push({ facts, xml: data.subarray(start, start + bytes) });
    at = start + bytes + 1;
  }
  return out;
}

/** The index line of a CDR. */
export function encodeIndexLine(facts: ArchivedFacts, member: number, length: number): string {
  return `${JSON.stringify({ ...facts, m: member, n: length })}\n`;
}

/** The entries of an index file's text; a line that is incomplete (no newline yet) or unreadable is skipped. */
export function parseIndex(day: string, text: string): IndexEntry[] {
  const out: IndexEntry[] = [];
  let at = 0;
  for (;;) {
    const lf = text.indexOf('\n', at);
    if (lf === -1) break;
    const line = text.slice(at, lf);
    at = lf + 1;
    try {
      const entry = JSON.parse(line) as IndexEntry;
      if (typeof entry.id === 'string' && Number.isInteger(entry.m) && Number.isInteger(entry.n)) {
        out.push({ ...entry, day });
      }
    } catch {
      // A torn line (a crash during its write): the data file still has the CDR, recovery indexes it again.
    }
  }
  return out;
}
