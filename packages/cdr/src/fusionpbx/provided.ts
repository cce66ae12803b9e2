import type { CdrOrigin } from '../record.js';
import type { FusionPbxRow } from './row.js';

/**
 * The channel variables each `v_xml_cdr` column is derived from (as `toFusionPbxRow` reads them). A column not
 * listed is derived from the variable of its own name.
 */
const SOURCES: Partial<Record<keyof FusionPbxRow, readonly string[]>> = {
  domain_name: ['domain_name', 'dialed_domain', 'sip_invite_domain', 'sip_req_host', 'presence_id'],
  direction: ['call_direction', 'direction', 'cc_side'],
  caller_id_name: [
    'caller_id_name',
    'origination_caller_id_name',
    'effective_caller_id_name',
    'last_sent_callee_id_name',
    'sip_from_display',
  ],
  caller_id_number: [
    'caller_id_number',
    'origination_caller_id_number',
    'effective_caller_id_number',
    'last_sent_callee_id_number',
    'sip_from_user',
  ],
  caller_destination: ['caller_destination', 'sip_h_caller_destination', 'dialed_user'],
  source_number: ['effective_caller_id_number'],
  start_epoch: ['start_epoch', 'start_stamp'],
  start_stamp: ['start_epoch', 'start_stamp'],
  answer_epoch: ['answer_epoch', 'answer_stamp'],
  answer_stamp: ['answer_epoch', 'answer_stamp'],
  end_epoch: ['end_epoch', 'end_stamp'],
  end_stamp: ['end_epoch', 'end_stamp'],
  // FusionPBX stores billsec in `duration` too; the module's `duration` has no column of its own.
  duration: ['billsec'],
  mduration: ['billmsec'],
  bridge_uuid: ['bridge_uuid', 'bridge_uuids'],
  network_addr: ['sip_network_ip'],
  record_path: ['record_path'],
  record_name: ['record_name'],
  record_length: ['record_seconds'],
  pdd_ms: ['progress_mediamsec', 'progressmsec'],
  voicemail_message: ['voicemail_answer_stamp', 'voicemail_message_seconds'],
  missed_call: ['missed_call'],
  status: ['hangup_cause', 'billsec'],
};

/**
 * Nulls the columns of a row whose variables the source did not write, so a record from a mod_cdr_csv line or
 * a mod_cdr_pg_csv row stores what its template or schema held and nothing guessed (no `pdd_ms` of 0, no
 * `missed_call` false, no leg when the module logged both).
 */
export function restrictToProvided(row: FusionPbxRow, origin: CdrOrigin): FusionPbxRow {
  const out = row as unknown as Record<string, unknown>;
  let unprovided = UNPROVIDED.get(origin.provided);
  if (!unprovided) {
    unprovided = Object.keys(out).filter((column) => {
      if (column === 'xml_cdr_uuid' || column === 'leg') return false;
      const sources = SOURCES[column as keyof FusionPbxRow] ?? [column];
      return !sources.some((name) => origin.provided.has(name));
    });
    UNPROVIDED.set(origin.provided, unprovided);
  }
  for (const column of unprovided) out[column] = null;
  if (!origin.legKnown) out.leg = null;
  return row;
}

/** The columns to null per set of provided variables (one set per template: computed once per file). */
const UNPROVIDED = new WeakMap<ReadonlySet<string>, string[]>();
