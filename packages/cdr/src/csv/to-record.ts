import { createHash } from 'node:crypto';
import type { CdrCallflow, CdrLeg, CdrOrigin, CdrRecord } from '../record.js';
import type { CdrLegs } from './config.js';
import type { LocalTimeZone } from './local-time.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The namespace of {@link stableKey} uuids (a fixed random uuid; changing it would re-key every line). */
const KEY_NAMESPACE = Buffer.from('6b1d0c3e8f2a4d7b9c5e1f0a3b8d6c2e', 'hex');

/**
 * The key of a record that has no call uuid: a name-based (version 5, SHA-1) uuid of `node`, the module and the
 * record's exact text. The same line from the same node always gets the same key, so importing a file again
 * stores nothing new; two calls that wrote byte-identical lines on one node (same names, numbers and
 * second-resolution stamps) would share a key and be stored once.
 */
export function stableKey(node: string, module: string, text: string): string {
  const hash = createHash('sha1').update(KEY_NAMESPACE).update(`${node}\n${module}\n${text}`).digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What {@link recordFromVariables} needs besides the values. */
export interface VariablesRecordOptions {
  module: CdrOrigin['module'];
  /** The node the record came from (a configured id or the switch name): stored as `switchname`. */
  node: string;
  /** The `legs` setting of the module that wrote it. */
  legs: CdrLegs;
  /** Time zone of the node's `*_stamp` values. */
  zone: LocalTimeZone;
  /** The record's text, for the stable key when it has no `uuid`. */
  text: string;
  file?: string;
  line?: number;
  /**
   * The names of `written`, when the caller has them already (a template's variables): shared by every record
   * of a file instead of a set per record, which a million-line import would otherwise allocate.
   */
  provided?: ReadonlySet<string>;
}

/** Caller profile fields a flat record can carry (mod_cdr_csv expands them from the caller profile). */
const PROFILE_FIELDS = ['caller_id_name', 'caller_id_number', 'destination_number', 'context', 'ani', 'uuid'];

/**
 * A CDR record from the variables a module wrote flat (a mod_cdr_csv line, a mod_cdr_pg_csv row). Only the
 * variables written are kept (empty ones count as written but unset: FreeSWITCH writes an unset variable as
 * empty); `*_epoch` is derived from `*_stamp` in the node's time zone when the source has no epoch.
 */
export function recordFromVariables(
  written: ReadonlyArray<readonly [name: string, value: string | null]>,
  options: VariablesRecordOptions,
): CdrRecord {
  // A plain object: the same keys in the same order for every line of a file share one V8 shape, which a
  // prototype-less dictionary would not (a million of those cost seconds of GC).
  const variables: Record<string, string> = {};
  const provided = options.provided ?? new Set(written.map(([name]) => name));
  for (const [name, value] of written) {
    if (value !== null && value !== '' && !Object.hasOwn(variables, name)) variables[name] = value;
  }
  for (const which of ['start', 'answer', 'end'] as const) {
    const stamp = variables[`${which}_stamp`];
    if (variables[`${which}_epoch`] === undefined && stamp !== undefined) {
      const epoch = options.zone.toEpoch(stamp);
      if (epoch !== undefined) variables[`${which}_epoch`] = String(epoch);
    }
  }
  const callerProfile: Record<string, string> = {};
  for (const f of PROFILE_FIELDS) if (variables[f] !== undefined) callerProfile[f] = variables[f];
  const callflow: CdrCallflow = {
    dialplan: undefined,
    uniqueId: variables.uuid,
    cloneOf: undefined,
    profileIndex: undefined,
    extension: undefined,
    callerProfile,
    origination: [],
    originator: [],
    originatee: [],
    times: {},
  };
  const callUuid = variables.uuid && UUID.test(variables.uuid) ? variables.uuid.toLowerCase() : undefined;
  const uuid = callUuid ?? stableKey(options.node, options.module, options.text);
  const leg: CdrLeg = options.legs === 'b' ? 'b' : 'a';
  const origin: CdrOrigin = {
    module: options.module,
    provided,
    legKnown: options.legs === 'a',
    derivedUuid: callUuid === undefined,
  };
  if (options.file !== undefined) origin.file = options.file;
  if (options.line !== undefined) origin.line = options.line;
  const epochDate = (name: string) => {
    const n = Number(variables[name]);
    return variables[name] !== undefined && Number.isFinite(n) && n > 0 ? new Date(n * 1000) : undefined;
  };
  return {
    uuid,
    leg,
    coreUuid: undefined,
    switchname: options.node,
    channelData: {},
    callStats: {},
    variables,
    variableLists: {},
    appLog: [],
    callflows: [callflow],
    holdRecord: [],
    startedAt: epochDate('start_epoch'),
    answeredAt: epochDate('answer_epoch'),
    endedAt: epochDate('end_epoch'),
    xml: '',
    origin,
  };
}
