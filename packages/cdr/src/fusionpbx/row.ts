import { CdrParseError } from '../errors.js';
import type { CdrRecord } from '../record.js';
import { restrictToProvided } from './provided.js';
import { findRecording } from './recording.js';

/** A row of FusionPBX's `v_xml_cdr` table: column name → value (`null` when the CDR does not say). */
export interface FusionPbxRow {
  xml_cdr_uuid: string;
  domain_uuid: string | null;
  provider_uuid: string | null;
  extension_uuid: string | null;
  sip_call_id: string | null;
  domain_name: string | null;
  accountcode: string | null;
  direction: string | null;
  default_language: string | null;
  context: string | null;
  caller_id_name: string | null;
  caller_id_number: string | null;
  caller_destination: string | null;
  source_number: string | null;
  destination_number: string | null;
  start_epoch: number | null;
  start_stamp: Date | null;
  answer_epoch: number | null;
  answer_stamp: Date | null;
  end_epoch: number | null;
  end_stamp: Date | null;
  duration: number | null;
  mduration: number | null;
  billsec: number | null;
  billmsec: number | null;
  hold_accum_seconds: number | null;
  bridge_uuid: string | null;
  read_codec: string | null;
  read_rate: string | null;
  write_codec: string | null;
  write_rate: string | null;
  remote_media_ip: string | null;
  network_addr: string | null;
  record_path: string | null;
  record_name: string | null;
  record_length: number | null;
  /** Null for a record whose source does not say (mod_cdr_csv with `legs` `ab`). */
  leg: 'a' | 'b' | null;
  originating_leg_uuid: string | null;
  pdd_ms: number | null;
  rtp_audio_in_mos: number | null;
  last_app: string | null;
  last_arg: string | null;
  voicemail_message: boolean | null;
  missed_call: boolean | null;
  call_center_queue_uuid: string | null;
  cc_side: string | null;
  cc_member_uuid: string | null;
  cc_member_session_uuid: string | null;
  cc_agent_uuid: string | null;
  cc_queue: string | null;
  cc_queue_joined_epoch: number | null;
  cc_queue_answered_epoch: number | null;
  cc_queue_terminated_epoch: number | null;
  cc_queue_canceled_epoch: number | null;
  cc_agent: string | null;
  cc_agent_type: string | null;
  cc_agent_bridged: string | null;
  cc_cancel_reason: string | null;
  cc_cause: string | null;
  waitsec: number | null;
  conference_name: string | null;
  conference_uuid: string | null;
  conference_member_id: string | null;
  pin_number: string | null;
  status: string | null;
  hangup_cause: string | null;
  hangup_cause_q850: number | null;
  sip_hangup_disposition: string | null;
  ring_group_uuid: string | null;
  ivr_menu_uuid: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Hang-up causes FusionPBX reports as `failed`. */
export const FAILED_CAUSES: ReadonlySet<string> = new Set([
  'CALL_REJECTED',
  'CHAN_NOT_IMPLEMENTED',
  'DESTINATION_OUT_OF_ORDER',
  'EXCHANGE_ROUTING_ERROR',
  'INCOMPATIBLE_DESTINATION',
  'INVALID_NUMBER_FORMAT',
  'MANDATORY_IE_MISSING',
  'NETWORK_OUT_OF_ORDER',
  'NORMAL_TEMPORARY_FAILURE',
  'NORMAL_UNSPECIFIED',
  'NO_ROUTE_DESTINATION',
  'RECOVERY_ON_TIMER_EXPIRE',
  'REQUESTED_CHAN_UNAVAIL',
  'SUBSCRIBER_ABSENT',
  'SYSTEM_SHUTDOWN',
  'UNALLOCATED_NUMBER',
]);

function text(value: string | undefined): string | null {
  return value === undefined || value === '' ? null : value;
}

function uuidOrNull(value: string | undefined): string | null {
  return value && UUID.test(value) ? value.toLowerCase() : null;
}

function num(value: string | undefined): number | null {
  if (value === undefined || value === '' || value === '_undef_') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function stamp(epoch: number | null): Date | null {
  return epoch && epoch > 0 ? new Date(epoch * 1000) : null;
}

/**
 * Caller id name as FusionPBX keeps it, minus its damage: FusionPBX deletes every character outside
 * `[a-zA-Z0-9-.#*@ ]`, so "José" becomes "Jos"; letters and digits of every script are kept here, and only
 * punctuation outside that set is removed.
 */
function cleanName(value: string | null): string | null {
  if (value === null) return null;
  return value.replace(/[^\p{L}\p{N}\-.#*@ ]/gu, '');
}

/** Caller id number: FusionPBX keeps `[0-9-#*]` and so drops the `+` of E.164 numbers; the `+` is kept here. */
function cleanNumber(value: string | null): string | null {
  if (value === null) return null;
  return value.replace(/[^0-9+\-#*]/g, '');
}

/**
 * Maps a CDR to the `v_xml_cdr` row FusionPBX's importer (`xml_cdr.php`, 2026) would write, with its
 * precedence rules, `missed_call` and `status` rules and recording detection. Where FusionPBX has a bug, this
 * does the right thing instead (see the package README, "Differences from FusionPBX"):
 * - an unanswered call has `answer_stamp` null, not 1970-01-01;
 * - `domain_name` falls back to the domain of `presence_id` (FusionPBX's fallback never yields a value);
 * - caller id names keep non-ASCII letters and numbers keep their `+`;
 * - `context` is written (FusionPBX reads it but no longer stores it);
 * - `direction` falls back to FreeSWITCH's own `direction` when FusionPBX's dialplan did not set
 *   `call_direction`;
 * - the recording is found without requiring the file to exist, also from `app_log`.
 * Lookups FusionPBX does in its own tables (domain and extension uuids by name) are left to the sink.
 * A record from mod_cdr_csv or mod_cdr_pg_csv (`record.origin`) gets only the columns its variables give.
 *
 * @throws {CdrParseError} when the CDR's uuid is not a UUID (the table's primary key is of type uuid).
 */
export function toFusionPbxRow(record: CdrRecord): FusionPbxRow {
  const v = record.variables;
  const xmlCdrUuid = uuidOrNull(v.uuid) ?? uuidOrNull(v.call_uuid) ?? uuidOrNull(record.uuid);
  if (!xmlCdrUuid) throw new CdrParseError(`CDR uuid ${JSON.stringify(record.uuid)} is not a UUID`);
  const cf0 = record.callflows[0]?.callerProfile ?? {};
  const hangupCause = text(v.hangup_cause);
  const billsec = num(v.billsec);

  const domainName =
    text(v.domain_name) ??
    text(v.dialed_domain) ??
    text(v.sip_invite_domain) ??
    text(v.sip_req_host) ??
    (v.presence_id?.includes('@') ? text(v.presence_id.slice(v.presence_id.indexOf('@') + 1)) : null);

  // Caller id: later rules win, as in FusionPBX.
  let callerIdName = text(cf0.caller_id_name) ?? text(v.caller_id_name);
  let callerIdNumber = text(cf0.caller_id_number) ?? text(v.caller_id_number);
  if (v.origination_caller_id_name) callerIdName = v.origination_caller_id_name;
  if (v.origination_caller_id_number) callerIdNumber = v.origination_caller_id_number;
  if (v.effective_caller_id_name) callerIdName = v.effective_caller_id_name;
  if (v.effective_caller_id_number) callerIdNumber = v.effective_caller_id_number;
  if (v.last_app === 'intercept') {
    if (v.last_sent_callee_id_name) callerIdName = v.last_sent_callee_id_name;
    if (v.last_sent_callee_id_number) callerIdNumber = v.last_sent_callee_id_number;
  }
  if (v.sip_from_domain && v.sip_from_domain !== domainName) {
    if (v.sip_from_display) callerIdName = v.sip_from_display;
    if (v.sip_from_user) callerIdNumber = v.sip_from_user;
  }

  let destinationNumber = text(cf0.destination_number);
  if (destinationNumber && v.provider_prefix && destinationNumber.startsWith(v.provider_prefix)) {
    destinationNumber = destinationNumber.slice(v.provider_prefix.length);
  }

  const bridgeList = record.variableLists.bridge_uuids;
  const bridgeUuid =
    text(v.bridge_uuid) ?? text(bridgeList ? bridgeList[bridgeList.length - 1] : v.bridge_uuids);
  const startEpoch = num(v.start_epoch);
  const answerEpoch = num(v.answer_epoch);
  const endEpoch = num(v.end_epoch);
  const recording = findRecording(record);
  const pdd = num(v.progress_mediamsec) ?? 0;
  const progress = num(v.progressmsec) ?? 0;
  const direction = v.cc_side === 'agent' ? 'inbound' : (text(v.call_direction) ?? text(v.direction));
  const missedCall = missedCallOf(record, direction, hangupCause);

  const row: FusionPbxRow = {
    xml_cdr_uuid: xmlCdrUuid,
    domain_uuid: uuidOrNull(v.domain_uuid),
    provider_uuid: uuidOrNull(v.provider_uuid),
    extension_uuid: uuidOrNull(v.extension_uuid),
    sip_call_id: text(v.sip_call_id),
    domain_name: domainName,
    accountcode: text(v.accountcode),
    direction,
    default_language: text(v.default_language),
    context: text(cf0.context),
    caller_id_name: cleanName(callerIdName),
    caller_id_number: cleanNumber(callerIdNumber),
    caller_destination: text(v.caller_destination) ?? text(v.sip_h_caller_destination) ?? text(v.dialed_user),
    source_number: text(v.effective_caller_id_number),
    destination_number: destinationNumber,
    start_epoch: startEpoch,
    start_stamp: stamp(startEpoch),
    answer_epoch: answerEpoch,
    answer_stamp: stamp(answerEpoch),
    end_epoch: endEpoch,
    end_stamp: stamp(endEpoch),
    duration: billsec,
    mduration: num(v.billmsec),
    billsec,
    billmsec: num(v.billmsec),
    hold_accum_seconds: num(v.hold_accum_seconds),
    bridge_uuid: bridgeUuid,
    read_codec: text(v.read_codec),
    read_rate: text(v.read_rate),
    write_codec: text(v.write_codec),
    write_rate: text(v.write_rate),
    remote_media_ip: text(v.remote_media_ip),
    network_addr: text(v.sip_network_ip),
    record_path: recording?.path ?? null,
    record_name: recording?.name ?? null,
    record_length: recording?.lengthSeconds ?? null,
    leg: record.leg,
    originating_leg_uuid: uuidOrNull(v.originating_leg_uuid),
    pdd_ms: pdd + progress,
    rtp_audio_in_mos: num(v.rtp_audio_in_mos),
    last_app: text(v.last_app),
    last_arg: text(v.last_arg),
    voicemail_message: Boolean(v.voicemail_answer_stamp) && (num(v.voicemail_message_seconds) ?? 0) > 0,
    missed_call: missedCall,
    call_center_queue_uuid: uuidOrNull(v.call_center_queue_uuid),
    cc_side: text(v.cc_side),
    cc_member_uuid: uuidOrNull(v.cc_member_uuid),
    cc_member_session_uuid: uuidOrNull(v.cc_member_session_uuid),
    cc_agent_uuid: uuidOrNull(v.cc_agent_uuid),
    cc_queue: text(v.cc_queue),
    cc_queue_joined_epoch: num(v.cc_queue_joined_epoch),
    cc_queue_answered_epoch: num(v.cc_queue_answered_epoch),
    cc_queue_terminated_epoch: num(v.cc_queue_terminated_epoch),
    cc_queue_canceled_epoch: num(v.cc_queue_canceled_epoch),
    cc_agent: text(v.cc_agent),
    cc_agent_type: text(v.cc_agent_type),
    cc_agent_bridged: text(v.cc_agent_bridged),
    cc_cancel_reason: text(v.cc_cancel_reason),
    cc_cause: text(v.cc_cause),
    waitsec: num(v.waitsec),
    conference_name: text(v.conference_name),
    conference_uuid: uuidOrNull(v.conference_uuid),
    conference_member_id: text(v.conference_member_id),
    pin_number: text(v.pin_number),
    status: statusOf(record, hangupCause, billsec, missedCall),
    hangup_cause: hangupCause,
    hangup_cause_q850: num(v.hangup_cause_q850),
    sip_hangup_disposition: text(v.sip_hangup_disposition),
    ring_group_uuid: uuidOrNull(v.ring_group_uuid),
    ivr_menu_uuid: uuidOrNull(v.ivr_menu_uuid),
  };
  return record.origin ? restrictToProvided(row, record.origin) : row;
}

/** FusionPBX's `missed_call` rules, in its order (a later rule overrides an earlier one). */
function missedCallOf(record: CdrRecord, direction: string | null, hangupCause: string | null): boolean {
  const v = record.variables;
  let missed = false;
  if (v.missed_call === 'true') missed = true;
  if (direction === 'inbound' && hangupCause === 'ORIGINATOR_CANCEL') missed = true;
  if (v.cc_side === 'agent') missed = false;
  if (v.fax_success !== undefined) missed = false;
  if (hangupCause === 'LOSE_RACE') missed = false;
  if (hangupCause === 'NO_ANSWER' && v.originating_leg_uuid) missed = false;
  if (v.bridge_uuid) missed = false;
  if (v.cc_side === 'member' && v.cc_cause === 'cancel') missed = true;
  if (v.destination_number?.startsWith('*99')) missed = true;
  if (v.voicemail_answer_stamp) missed = true;
  return missed;
}

/** FusionPBX's `status` rules, in its order (a later rule overrides an earlier one). */
function statusOf(
  record: CdrRecord,
  hangupCause: string | null,
  billsec: number | null,
  missedCall: boolean,
): string {
  const v = record.variables;
  let status: string | undefined;
  if (billsec !== null && billsec > 0) status = 'answered';
  if (hangupCause === 'NO_ANSWER') status = 'no_answer';
  if (hangupCause === 'ORIGINATOR_CANCEL') status = 'cancelled';
  if (hangupCause === 'USER_BUSY') status = 'busy';
  if (hangupCause && FAILED_CAUSES.has(hangupCause)) status = 'failed';
  if (status === undefined && v.last_bridge_hangup_cause && FAILED_CAUSES.has(v.last_bridge_hangup_cause)) {
    status = 'failed';
  }
  if (v.cc_side === 'agent' && !billsec) status = 'no_answer';
  if (status === undefined && !billsec) status = 'no_answer';
  if (missedCall) status = 'missed';
  if (v.destination_number?.startsWith('*99') || v.voicemail_message_seconds) status = 'voicemail';
  return status ?? 'no_answer';
}
