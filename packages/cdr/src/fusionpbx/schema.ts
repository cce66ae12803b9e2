/**
 * FusionPBX's `v_xml_cdr` table (`app/xml_cdr/app_config.php`, PostgreSQL types), and `v_xml_cdr_json`. Used by
 * `PostgresCdrSink.createSchema()`; against an existing FusionPBX database the tables are already there and only
 * missing columns matter (none are required beyond those FusionPBX has).
 */
export const V_XML_CDR_COLUMNS: ReadonlyArray<readonly [name: string, type: string]> = [
  ['xml_cdr_uuid', 'uuid primary key'],
  ['domain_uuid', 'uuid'],
  ['provider_uuid', 'uuid'],
  ['extension_uuid', 'uuid'],
  ['sip_call_id', 'text'],
  ['domain_name', 'text'],
  ['accountcode', 'text'],
  ['direction', 'text'],
  ['default_language', 'text'],
  ['context', 'text'],
  ['caller_id_name', 'text'],
  ['caller_id_number', 'text'],
  ['caller_destination', 'text'],
  ['source_number', 'text'],
  ['destination_number', 'text'],
  ['start_epoch', 'numeric'],
  ['start_stamp', 'timestamptz'],
  ['answer_stamp', 'timestamptz'],
  ['answer_epoch', 'numeric'],
  ['end_epoch', 'numeric'],
  ['end_stamp', 'timestamptz'],
  ['duration', 'numeric'],
  ['mduration', 'numeric'],
  ['billsec', 'numeric'],
  ['billmsec', 'numeric'],
  ['hold_accum_seconds', 'numeric'],
  ['bridge_uuid', 'text'],
  ['read_codec', 'text'],
  ['read_rate', 'text'],
  ['write_codec', 'text'],
  ['write_rate', 'text'],
  ['remote_media_ip', 'text'],
  ['network_addr', 'text'],
  ['record_path', 'text'],
  ['record_name', 'text'],
  ['record_length', 'numeric'],
  ['record_transcription', 'text'],
  ['leg', 'char(1)'],
  ['originating_leg_uuid', 'uuid'],
  ['pdd_ms', 'numeric'],
  ['rtp_audio_in_mos', 'numeric'],
  ['last_app', 'text'],
  ['last_arg', 'text'],
  ['voicemail_message', 'boolean'],
  ['missed_call', 'boolean'],
  ['call_center_queue_uuid', 'uuid'],
  ['cc_side', 'text'],
  ['cc_member_uuid', 'uuid'],
  ['cc_member_session_uuid', 'uuid'],
  ['cc_agent_uuid', 'uuid'],
  ['cc_queue', 'text'],
  ['cc_queue_joined_epoch', 'numeric'],
  ['cc_queue_answered_epoch', 'numeric'],
  ['cc_queue_terminated_epoch', 'numeric'],
  ['cc_queue_canceled_epoch', 'numeric'],
  ['cc_agent', 'text'],
  ['cc_agent_type', 'text'],
  ['cc_agent_bridged', 'text'],
  ['cc_cancel_reason', 'text'],
  ['cc_cause', 'text'],
  ['waitsec', 'numeric'],
  ['conference_name', 'text'],
  ['conference_uuid', 'uuid'],
  ['conference_member_id', 'text'],
  ['digits_dialed', 'text'],
  ['pin_number', 'text'],
  ['status', 'text'],
  ['call_disposition', 'text'],
  ['hangup_cause', 'text'],
  ['hangup_cause_q850', 'numeric'],
  ['sip_hangup_disposition', 'text'],
  ['ring_group_uuid', 'uuid'],
  ['ivr_menu_uuid', 'uuid'],
  ['processed', 'boolean'],
  ['call_flow', 'jsonb'],
  ['xml', 'text'],
  ['json', 'jsonb'],
  ['insert_date', 'timestamptz'],
  ['insert_user', 'uuid'],
  ['update_date', 'timestamptz'],
  ['update_user', 'uuid'],
];

/**
 * Indexes of `v_xml_cdr` for searching CDRs (the reference server's console, any CDR page): newest first with a
 * keyset on (start_stamp, uuid), per domain (and status), by number prefix (`text_pattern_ops`, so `like '12%'`
 * uses them whatever the collation; with the start, so a prefix in a time range is counted from the index
 * alone), by status, by duration, and the links between the legs of a call. Every insert maintains them:
 * a million rows took 454-479 s to insert with them on the loaded test machine (the console's bench).
 */
export const V_XML_CDR_SEARCH_INDEXES: ReadonlyArray<readonly [name: string, columns: string]> = [
  ['v_xml_cdr_start_uuid_idx', 'start_stamp, xml_cdr_uuid'],
  ['v_xml_cdr_domain_start_idx', 'domain_name, start_stamp'],
  ['v_xml_cdr_caller_start_idx', 'caller_id_number text_pattern_ops, start_stamp'],
  ['v_xml_cdr_destination_start_idx', 'destination_number text_pattern_ops, start_stamp'],
  ['v_xml_cdr_status_start_idx', 'status, start_stamp'],
  ['v_xml_cdr_domain_status_start_idx', 'domain_name, status, start_stamp'],
  ['v_xml_cdr_duration_idx', '(coalesce(duration, 0)), xml_cdr_uuid'],
  ['v_xml_cdr_bridge_uuid_idx', 'bridge_uuid'],
  ['v_xml_cdr_originating_leg_idx', 'originating_leg_uuid'],
];

/**
 * DDL for `v_xml_cdr`, `v_xml_cdr_json`, the indexes retention and lookups need and the search indexes
 * ({@link V_XML_CDR_SEARCH_INDEXES}), all idempotent. On an existing FusionPBX table of millions of rows the
 * first run builds the search indexes (minutes, writes to the table wait meanwhile: CDRs stay in the spool).
 */
export function fusionPbxDdl(schema = 'public'): string[] {
  const q = (name: string) => `"${schema.replace(/"/g, '""')}".${name}`;
  const columns = V_XML_CDR_COLUMNS.map(([name, type]) => `  ${name} ${type}`).join(',\n');
  return [
    `create table if not exists ${q('v_xml_cdr')} (\n${columns}\n)`,
    `create index if not exists v_xml_cdr_start_stamp_idx on ${q('v_xml_cdr')} (start_stamp)`,
    `create index if not exists v_xml_cdr_domain_uuid_idx on ${q('v_xml_cdr')} (domain_uuid)`,
    ...V_XML_CDR_SEARCH_INDEXES.map(
      ([name, columns]) => `create index if not exists ${name} on ${q('v_xml_cdr')} (${columns})`,
    ),
    `create table if not exists ${q('v_xml_cdr_json')} (
  xml_cdr_json_uuid uuid primary key,
  xml_cdr_uuid uuid,
  domain_uuid uuid,
  start_stamp timestamptz,
  json jsonb,
  insert_date timestamptz,
  insert_user uuid,
  update_date timestamptz,
  update_user uuid
)`,
    `create unique index if not exists v_xml_cdr_json_xml_cdr_uuid_idx on ${q('v_xml_cdr_json')} (xml_cdr_uuid)`,
  ];
}
