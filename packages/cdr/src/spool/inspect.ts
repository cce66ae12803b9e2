import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CdrLeg } from '../record.js';
import { listNames } from './durable.js';
import { safeName } from './ids.js';
import { readSegmentBody, scanSegmentFile } from './segment-log.js';

/** One entry of a spool, as {@link inspectSpool} found it. */
export interface InspectedEntry {
  id: string;
  uuid: string;
  leg: CdrLeg | undefined;
  receivedAt: string;
  /** The segment file holding it. */
  segment: string;
  /** The sinks whose journal says they stored it. */
  deliveredTo: string[];
}

/** What {@link inspectSpool} reports. */
export interface SpoolReport {
  dir: string;
  segments: Array<{ name: string; bytes: number; entries: number; tornTail: string | undefined }>;
  entries: InspectedEntry[];
  /** The sinks that have a journal in `state/`. */
  sinks: string[];
  /** Per sink, the entries its journal lacks. */
  waiting: Record<string, number>;
  /** Per sink, the dead letters in `dead/<sink>/`. */
  deadLetters: Record<string, number>;
  quarantined: number;
  /** With `exportTo`: how many CDR files were written there. */
  exported: number;
}

/**
 * Reads a spool directory without changing anything in it, so it is safe while a service runs on it: the
 * segments and their entries, which sinks' journals have each one, dead letters and quarantined bodies.
 * With `exportTo`, the XML of every entry that some sink still lacks (or of every entry, with `all`) is written
 * there as FreeSWITCH names CDR files (`a_<uuid>.cdr.xml` for an a-leg, `<uuid>.cdr.xml` otherwise), ready for
 * `pbxkit-cdr import` or `repush`.
 */
export async function inspectSpool(
  dir: string,
  options: { exportTo?: string; all?: boolean } = {},
): Promise<SpoolReport> {
  const journals = new Map<string, Set<string>>();
  for (const sink of await listNames(join(dir, 'state'), '.done')) {
    const text = await readFile(join(dir, 'state', `${sink}.done`), 'utf8');
    journals.set(sink, new Set(text.split('\n').filter(Boolean)));
  }
  const sinks = [...journals.keys()];
  const report: SpoolReport = {
    dir,
    segments: [],
    entries: [],
    sinks,
    waiting: Object.fromEntries(sinks.map((s) => [s, 0])),
    deadLetters: {},
    quarantined: (await listNames(join(dir, 'quarantine'), '.reason.json')).length,
    exported: 0,
  };
  for (const sink of await listNames(join(dir, 'dead'), '')) {
    report.deadLetters[sink] = (await listNames(join(dir, 'dead', sink), '.json')).length;
  }
  if (options.exportTo) await mkdir(options.exportTo, { recursive: true });
  for (const name of (await listNames(join(dir, 'segments'), '.seg')).map((n) => `${n}.seg`)) {
    const path = join(dir, 'segments', name);
    const scan = await scanSegmentFile(path, false);
    report.segments.push({
      name,
      bytes: scan.fileBytes,
      entries: scan.frames.length,
      tornTail: scan.problem,
    });
    for (const frame of scan.frames) {
      const header = frame.fields as { uuid: string; leg?: CdrLeg; receivedAt: string };
      const deliveredTo = sinks.filter((s) => journals.get(s)?.has(frame.id));
      for (const s of sinks) if (!deliveredTo.includes(s)) (report.waiting[s] as number)++;
      report.entries.push({
        id: frame.id,
        uuid: header.uuid,
        leg: header.leg,
        receivedAt: header.receivedAt,
        segment: name,
        deliveredTo,
      });
      const lacking = sinks.length === 0 || deliveredTo.length < sinks.length;
      if (options.exportTo && (options.all || lacking)) {
        const file = `${header.leg === 'a' ? 'a_' : ''}${safeName(header.uuid)}.cdr.xml`;
        await writeFile(join(options.exportTo, file), await readSegmentBody(path, frame));
        report.exported++;
      }
    }
  }
  return report;
}
