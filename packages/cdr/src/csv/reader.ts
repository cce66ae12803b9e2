import type { CdrRecord } from '../record.js';
import type { CdrLegs } from './config.js';
import { parseCsvLine } from './line.js';
import { LocalTimeZone } from './local-time.js';
import type { SplitRecord } from './splitter.js';
import type { CsvTemplate } from './template.js';
import { recordFromVariables } from './to-record.js';

/** Options of {@link CsvCdrReader}. */
export interface CsvCdrReaderOptions {
  /** The template the file was written with (see `templateForFile`). */
  template: CsvTemplate;
  /** The node that wrote the file: a configured id, or the node's switch name. Stored with every record. */
  node: string;
  /** The module's `legs` setting. Default `a` (the module's default). */
  legs?: CdrLegs;
  /**
   * IANA time zone the node writes `*_stamp` in (FreeSWITCH uses its local time). Default: this process's
   * time zone, right when the importer runs on the node itself.
   */
  timeZone?: string;
  /** The file name, kept in each record's origin. */
  file?: string;
}

/** A line read: its record, or why it was refused (with the line and its text). */
export type CsvReadResult =
  | { ok: true; record: CdrRecord }
  | { ok: false; line: number; reason: string; text: string };

/**
 * Turns records cut by a `RecordSplitter` into CDR records (sans I/O): splits each by its template and keeps
 * the plain `${variable}` fields (API calls and expressions such as `${regex(...)}` or `${uuid:0:8}` map to no
 * column and are dropped).
 */
export class CsvCdrReader {
  private readonly zone: LocalTimeZone;
  private readonly names: Array<string | undefined>;
  private readonly provided: ReadonlySet<string>;

  constructor(private readonly options: CsvCdrReaderOptions) {
    this.zone = new LocalTimeZone(options.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
    this.names = options.template.fields.map((f) => (f.kind === 'var' ? f.name : undefined));
    this.provided = new Set(this.names.filter((n): n is string => n !== undefined));
  }

  read(split: SplitRecord): CsvReadResult {
    const parsed = parseCsvLine(this.options.template, split.text);
    if (!parsed.ok) return { ok: false, line: split.line, reason: parsed.reason, text: split.text };
    const written: Array<[string, string]> = [];
    parsed.values.forEach((value, i) => {
      const name = this.names[i];
      if (name !== undefined) written.push([name, value]);
    });
    const record = recordFromVariables(written, {
      module: 'mod_cdr_csv',
      node: this.options.node,
      legs: this.options.legs ?? 'a',
      zone: this.zone,
      text: split.text,
      file: this.options.file,
      line: split.line,
      provided: this.provided,
    });
    return { ok: true, record };
  }
}
