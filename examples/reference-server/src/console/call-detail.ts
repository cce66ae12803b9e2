import { type CdrArchiveReader, type CdrRecord, parseCdr } from '@pbxkit/cdr';
import type { SqlClient } from '@pbxkit/core';
import { notFound } from './errors.js';
import { type ResultRow, shapeRow } from './search.js';
import { RESULT_COLUMNS } from './search-query.js';
import { callTimeline, type HangupSummary, hangupSummary, type TimelineEvent } from './timeline.js';

/** Where the call's raw CDR was found. */
export type RawSource = 'archive' | 'xml' | 'json';

/** What the call page shows of one leg. */
export interface CallDetail {
  /** The `v_xml_cdr` row, without its `xml` and `json` columns (see {@link rawCdr}). */
  row: Record<string, string | number | boolean | null>;
  /** The other legs of the call: linked by `bridge_uuid` / `originating_leg_uuid`, either way. */
  legs: ResultRow[];
  hangup: HangupSummary;
  /** Empty when only FusionPBX's JSON copy is left (it has no app log or callflow times). */
  timeline: TimelineEvent[];
  /** Channel variables, decoded. */
  variables: Record<string, string>;
  /** Where the raw CDR comes from, or undefined when it is in neither the archive nor the database. */
  raw: RawSource | undefined;
  /** The recording's URL on this server (Range, auth as the recordings API), when the CDR names one. */
  recording: { url: string; name: string | null; lengthSeconds: number | null } | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_MS = 86_400_000;

/** Reads calls for the call page: `v_xml_cdr`, its JSON copy and the CDR archive. */
export class CallReader {
  constructor(
    private readonly db: () => Promise<SqlClient>,
    private readonly tables: { cdr: string; json: string },
    private readonly archive: CdrArchiveReader | undefined,
  ) {}

  /** The leg `uuid` with its linked legs, timeline, hangup, variables and recording. */
  async call(uuid: string): Promise<CallDetail> {
    const row = await this.row(uuid);
    const db = await this.db();
    const { rows: legRows } = await db.query(
      `select ${RESULT_COLUMNS.join(', ')} from ${this.tables.cdr}
        where xml_cdr_uuid <> $1::uuid and (
          xml_cdr_uuid::text = any($2::text[]) or originating_leg_uuid = $1::uuid or bridge_uuid = $1::text)
        order by start_stamp, xml_cdr_uuid limit 50`,
      [uuid, [row.bridge_uuid, row.originating_leg_uuid].filter((v) => typeof v === 'string')],
    );
    const raw = await this.raw(uuid, row);
    let record: CdrRecord | undefined;
    let variables: Record<string, string> = {};
    if (raw?.source === 'json') variables = jsonVariables(raw.text);
    else if (raw) {
      record = parseCdr(raw.text, row.leg === 'b' ? { leg: 'b' } : { leg: 'a' });
      variables = { ...record.variables };
    }
    const shown: CallDetail['row'] = {};
    for (const [key, value] of Object.entries(row)) {
      if (key === 'xml' || key === 'json' || key === 'call_flow') continue;
      shown[key] = value instanceof Date ? value.toISOString() : (value as string | number | boolean | null);
    }
    const name = typeof row.record_name === 'string' && row.record_name ? row.record_name : null;
    return {
      row: shown,
      legs: legRows.map(shapeRow),
      hangup: hangupSummary(row, variables),
      timeline: record ? callTimeline(record) : [],
      variables,
      raw: raw?.source,
      recording:
        name || row.record_path
          ? {
              url: `/recordings/${uuid}`,
              name,
              lengthSeconds: row.record_length === null ? null : Number(row.record_length),
            }
          : undefined,
    };
  }

  /** The call's raw CDR: the XML from the archive or `v_xml_cdr.xml`, else FusionPBX's JSON copy. */
  async rawCdr(uuid: string): Promise<{ source: RawSource; text: string }> {
    const row = await this.row(uuid);
    const raw = await this.raw(uuid, row);
    if (!raw) throw notFound(`the raw CDR of ${uuid} is in neither the CDR archive nor the database`);
    return raw;
  }

  private async row(uuid: string): Promise<Record<string, unknown>> {
    if (!UUID.test(uuid)) throw notFound(`not a call uuid: ${uuid}`);
    const db = await this.db();
    const { rows } = await db.query(`select * from ${this.tables.cdr} where xml_cdr_uuid = $1::uuid`, [uuid]);
    const row = rows[0];
    if (!row) throw notFound(`no CDR of call ${uuid}`);
    return row;
  }

  private async raw(
    uuid: string,
    row: Record<string, unknown>,
  ): Promise<{ source: RawSource; text: string } | undefined> {
    if (this.archive) {
      // A CDR is archived after the call started: the days before cannot hold it.
      const start = row.start_stamp ? new Date(row.start_stamp as string).getTime() : Number.NaN;
      const from = Number.isNaN(start) ? undefined : new Date(start - DAY_MS);
      const entries = await this.archive.list({ uuids: [uuid], ...(from ? { from } : {}) });
      for await (const cdr of this.archive.read(entries.slice(-1)))
        return { source: 'archive', text: cdr.xml };
    }
    if (typeof row.xml === 'string' && row.xml) return { source: 'xml', text: row.xml };
    const db = await this.db();
    const { rows } = await db.query<{ json: unknown }>(
      `select json from ${this.tables.json} where xml_cdr_uuid = $1::uuid limit 1`,
      [uuid],
    );
    const json = rows[0]?.json ?? row.json;
    if (json !== null && json !== undefined) {
      return { source: 'json', text: typeof json === 'string' ? json : JSON.stringify(json, null, 2) };
    }
    return undefined;
  }
}

/** The variables of FusionPBX's JSON copy (values URL-encoded as in the XML). */
function jsonVariables(text: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return {};
  }
  const vars = (doc as { variables?: unknown } | null)?.variables;
  const out: Record<string, string> = {};
  if (!vars || typeof vars !== 'object') return out;
  for (const [name, value] of Object.entries(vars)) {
    if (typeof value !== 'string') continue;
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      out[name] = value;
    }
  }
  return out;
}
