/** One `<application>` of `app_log` or of a callflow's `extension`. */
export interface CdrApplication {
  name: string;
  data: string;
  /** `app_stamp`, microseconds since the epoch (app_log only). */
  stamp: number | undefined;
}

/** One `<callflow>`: a caller profile of the channel (FreeSWITCH writes the newest first). */
export interface CdrCallflow {
  dialplan: string | undefined;
  uniqueId: string | undefined;
  cloneOf: string | undefined;
  profileIndex: number | undefined;
  extension:
    | { name: string | undefined; number: string | undefined; applications: CdrApplication[] }
    | undefined;
  /** `caller_profile` fields (`caller_id_name`, `destination_number`, `context`, ...). */
  callerProfile: Record<string, string>;
  /** The `origination`, `originator` and `originatee` profiles inside `caller_profile`, when present. */
  origination: Array<Record<string, string>>;
  originator: Array<Record<string, string>>;
  originatee: Array<Record<string, string>>;
  /** `times`, microseconds since the epoch (`created_time`, `answered_time`, `hangup_time`, ...). */
  times: Record<string, number>;
}

/** A hold period from `hold-record`. */
export interface CdrHold {
  on: number | undefined;
  off: number | undefined;
  bridgedTo: string | undefined;
}

/** Which leg of the call this CDR describes. */
export type CdrLeg = 'a' | 'b';

/** A FreeSWITCH XML CDR, parsed; values are decoded. */
export interface CdrRecord {
  /** The call leg's uuid (`variables.uuid`, else `call_uuid`, else the newest caller profile's uuid). */
  uuid: string;
  /** `a` or `b`: from the `a_` prefix of the `uuid` parameter or file name when known, else from content. */
  leg: CdrLeg;
  /** `core-uuid` attribute of `<cdr>` (absent in FreeSWITCH 1.0-era CDRs). */
  coreUuid: string | undefined;
  switchname: string | undefined;
  channelData: Record<string, string>;
  /** `call-stats` as nested objects (`audio.inbound.raw_bytes`, ...), values as text. */
  callStats: Record<string, unknown>;
  /** Channel variables, URL-decoded once. Where a name repeats, the first value is here. */
  variables: Record<string, string>;
  /** Every value of variables that repeat (FreeSWITCH writes arrays such as `bridge_uuids` this way). */
  variableLists: Record<string, string[]>;
  appLog: CdrApplication[];
  /** Caller profiles, newest first, as FreeSWITCH writes them. */
  callflows: CdrCallflow[];
  holdRecord: CdrHold[];
  /** Start, answer and end of the leg (answer undefined when never answered). */
  startedAt: Date | undefined;
  answeredAt: Date | undefined;
  endedAt: Date | undefined;
  /** The XML this record was parsed from (`''` for a record read from another module's files). */
  xml: string;
  /**
   * Set when the record came from a module other than mod_xml_cdr (a mod_cdr_csv line, a mod_cdr_pg_csv row or
   * spool line): such a record holds only the variables its source wrote, and the columns that would be
   * derived from missing ones are stored null instead of guessed.
   */
  origin?: CdrOrigin;
}

/** Where a record that is not an XML CDR came from, and what it holds. */
export interface CdrOrigin {
  module: 'mod_cdr_csv' | 'mod_cdr_pg_csv';
  /** The channel variables the source wrote (present even when empty). */
  provided: ReadonlySet<string>;
  /** False when the source does not say which leg this is (`legs` `ab` or `b`): `leg` is then stored null. */
  legKnown: boolean;
  /** True when the uuid is the record's stable key, not a call uuid (a template without `${uuid}`). */
  derivedUuid: boolean;
  /** The file and 1-based line it was read from, when it came from a file. */
  file?: string;
  line?: number;
}

/** Callflows oldest first (the order the call went through them). */
export function chronologicalCallflows(record: CdrRecord): CdrCallflow[] {
  return [...record.callflows].reverse();
}
