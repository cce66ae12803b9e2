import type { CdrApplication, CdrCallflow, CdrLeg, CdrRecord } from '../record.js';

/**
 * Field names MongoDB does not accept everywhere: a `.` (read as a path by queries and update operators) or a
 * leading `$` (an operator). Such names are escaped reversibly, percent-style: `%` → `%25`, `.` → `%2E`, and a
 * leading `$` → `%24`. Names without `.`, `%` or a leading `$` (nearly all of them) are left as they are.
 */
export function encodeFieldName(name: string): string {
  if (name.indexOf('.') === -1 && name.indexOf('%') === -1 && !name.startsWith('$')) return name;
  let out = name.replace(/%/g, '%25').replace(/\./g, '%2E');
  if (out.startsWith('$')) out = `%24${out.slice(1)}`;
  return out;
}

/** The inverse of {@link encodeFieldName}. */
export function decodeFieldName(name: string): string {
  if (name.indexOf('%') === -1) return name;
  return name.replace(/%(2E|24|25)/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** A map with escaped keys, without a prototype (so a variable named `__proto__` stays a field). */
function encodeKeys<T>(map: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = Object.create(null);
  for (const [k, v] of Object.entries(map)) out[encodeFieldName(k)] = v;
  return out;
}

function decodeKeys<T>(map: Record<string, T> | undefined): Record<string, T> {
  const out: Record<string, T> = Object.create(null);
  for (const [k, v] of Object.entries(map ?? {})) out[decodeFieldName(k)] = v;
  return out;
}

/** Escapes keys at every depth of a nested object (call-stats). */
function encodeDeep(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = Object.create(null);
  for (const [k, v] of Object.entries(value)) out[encodeFieldName(k)] = encodeDeep(v);
  return out;
}

/** An `app_log` or extension application, named as mod_cdr_mongodb names it. */
export interface CdrMongoApplication {
  app_name: string;
  app_data: string;
  /** Microseconds since the epoch (app_log only). */
  app_stamp?: number;
}

/** One caller profile (`callflow[]`), newest first as FreeSWITCH writes them. */
export interface CdrMongoCallflow {
  dialplan?: string;
  unique_id?: string;
  clone_of?: string;
  profile_index?: number;
  extension?: { name?: string; number?: string; application: CdrMongoApplication[] };
  caller_profile: Record<string, unknown> & {
    origination?: Array<Record<string, string>>;
    originator?: Array<Record<string, string>>;
    originatee?: Array<Record<string, string>>;
  };
  /** `created_time`, `answered_time`, `hangup_time`, ...: microseconds since the epoch, as numbers. */
  times: Record<string, number>;
}

/**
 * The MongoDB document of one CDR leg. Its shape follows mod_cdr_mongodb's (`channel_data`, `variables`,
 * `app_log[]`, `hold_record[]`, `callflow[]`), with `_id` = the leg's uuid and a few typed top-level fields
 * for queries and indexes.
 *
 * Differences from mod_cdr_mongodb, on purpose:
 * - `variables` keep their values as (URL-decoded) **strings**; mod_cdr_mongodb converted numeric-looking
 *   values to int32/int64, which drops the leading zeros of numbers such as `caller_id_number=0044...` and the
 *   precision of long digit strings. The typed numbers are in the top-level fields instead.
 * - Variable names with a `.` or a leading `$` are escaped (see {@link encodeFieldName}).
 * - Empty values are kept (an empty `sip_h_X` header is still information).
 * - Variables FreeSWITCH wrote more than once are in `variable_lists` with every value.
 */
export interface CdrMongoDocument {
  _id: string;
  leg: CdrLeg;
  core_uuid: string | null;
  switchname: string | null;
  direction: string | null;
  domain_name: string | null;
  caller_id_name: string | null;
  caller_id_number: string | null;
  destination_number: string | null;
  hangup_cause: string | null;
  start_stamp: Date | null;
  answer_stamp: Date | null;
  end_stamp: Date | null;
  /** Seconds from start to end. */
  duration: number | null;
  /** Seconds from answer to end (0 when never answered). */
  billsec: number | null;
  channel_data: Record<string, string>;
  call_stats: Record<string, unknown>;
  variables: Record<string, string>;
  variable_lists: Record<string, string[]>;
  app_log: CdrMongoApplication[];
  hold_record: Array<{ on?: number; off?: number; bridged_to?: string }>;
  callflow: CdrMongoCallflow[];
  /** When this document was first stored. */
  stored_at: Date;
  /** The CDR's XML, only when the sink was asked to keep it (`storeXml`). */
  xml?: string;
}

function app(a: CdrApplication, withStamp: boolean): CdrMongoApplication {
  const out: CdrMongoApplication = { app_name: a.name, app_data: a.data };
  if (withStamp && a.stamp !== undefined) out.app_stamp = a.stamp;
  return out;
}

function defined<T extends Record<string, unknown>>(object: T): T {
  for (const key of Object.keys(object)) if (object[key] === undefined) delete object[key];
  return object;
}

function callflow(cf: CdrCallflow): CdrMongoCallflow {
  const profile: CdrMongoCallflow['caller_profile'] = encodeKeys(cf.callerProfile);
  if (cf.origination.length) profile.origination = cf.origination.map(encodeKeys);
  if (cf.originator.length) profile.originator = cf.originator.map(encodeKeys);
  if (cf.originatee.length) profile.originatee = cf.originatee.map(encodeKeys);
  return defined({
    dialplan: cf.dialplan,
    unique_id: cf.uniqueId,
    clone_of: cf.cloneOf,
    profile_index: cf.profileIndex,
    extension: cf.extension
      ? defined({
          name: cf.extension.name,
          number: cf.extension.number,
          application: cf.extension.applications.map((a) => app(a, false)),
        })
      : undefined,
    caller_profile: profile,
    times: encodeKeys(cf.times),
  });
}

function seconds(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

function elapsed(from: Date | undefined, to: Date | undefined): number | null {
  if (!from || !to) return null;
  return Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
}

/** Builds the document of a CDR leg. */
export function toMongoDocument(
  record: CdrRecord,
  options: { storeXml?: boolean; now?: Date } = {},
): CdrMongoDocument {
  const v = record.variables;
  const newest = record.callflows[0]?.callerProfile ?? {};
  const oldest = record.callflows.at(-1)?.callerProfile ?? {};
  const duration = seconds(v.duration) ?? elapsed(record.startedAt, record.endedAt);
  const billsec = seconds(v.billsec) ?? (record.answeredAt ? elapsed(record.answeredAt, record.endedAt) : 0);
  const doc: CdrMongoDocument = {
    _id: record.uuid,
    leg: record.leg,
    core_uuid: record.coreUuid ?? null,
    switchname: record.switchname ?? null,
    direction: v.direction || v.call_direction || record.channelData.direction || null,
    domain_name: v.domain_name || null,
    caller_id_name: v.caller_id_name || oldest.caller_id_name || null,
    caller_id_number: v.caller_id_number || oldest.caller_id_number || null,
    destination_number: v.destination_number || newest.destination_number || null,
    hangup_cause: v.hangup_cause || null,
    start_stamp: record.startedAt ?? null,
    answer_stamp: record.answeredAt ?? null,
    end_stamp: record.endedAt ?? null,
    duration,
    billsec,
    channel_data: encodeKeys(record.channelData),
    call_stats: encodeDeep(record.callStats) as Record<string, unknown>,
    variables: encodeKeys(v),
    variable_lists: encodeKeys(record.variableLists),
    app_log: record.appLog.map((a) => app(a, true)),
    hold_record: record.holdRecord.map((h) => defined({ on: h.on, off: h.off, bridged_to: h.bridgedTo })),
    callflow: record.callflows.map(callflow),
    stored_at: options.now ?? new Date(),
  };
  if (options.storeXml) doc.xml = record.xml;
  return doc;
}

/** The variables of a stored document with their original names (escapes undone). */
export function documentVariables(doc: Pick<CdrMongoDocument, 'variables'>): Record<string, string> {
  return decodeKeys(doc.variables);
}
