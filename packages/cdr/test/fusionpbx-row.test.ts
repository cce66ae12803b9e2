import { describe, expect, it } from 'vitest';
import { CdrParseError, findRecording, parseCdr, toFusionPbxJson, toFusionPbxRow } from '../src/index.js';
import { cdrDocuments } from './fixtures.js';

const doc = (name: string) => cdrDocuments().find((d) => d.name.startsWith(name))?.xml as string;
const rowOf = (name: string) => toFusionPbxRow(parseCdr(doc(name)));
/** A minimal CDR with the given variables (values as FreeSWITCH writes them: URL-encoded). */
const cdr = (vars: Record<string, string>, extra = '') =>
  parseCdr(
    `<cdr><variables><uuid>6c4c7c1a-0000-4000-8000-000000000001</uuid>${Object.entries(vars)
      .map(([k, v]) => `<${k}>${v}</${k}>`)
      .join('')}</variables>${extra}</cdr>`,
  );

describe('toFusionPbxRow', () => {
  it('maps an answered a-leg like FusionPBX', () => {
    const row = rowOf('ccm-aleg-outbound-gateway-bridge-answered');
    expect(row).toMatchObject({
      xml_cdr_uuid: 'fff6895c-de04-4a59-b1c5-458835891c73',
      leg: 'a',
      direction: 'inbound',
      status: 'answered',
      missed_call: false,
      hangup_cause: 'NORMAL_CLEARING',
      billsec: 17,
      duration: 17, // FusionPBX stores billsec in duration since 2023
      destination_number: '6282349406513',
      context: 'bts',
      bridge_uuid: '3ee13b4f-435e-4728-904a-6851055d37d7',
    });
    expect(row.start_stamp?.toISOString()).toBe('2014-12-12T21:22:23.000Z');
    expect(row.answer_stamp?.toISOString()).toBe('2014-12-12T21:22:43.000Z');
  });

  it('status and missed-call rules: failed, no_answer, cancelled, busy, missed, voicemail', () => {
    expect(rowOf('ccm-aleg-call-rejected').status).toBe('failed');
    expect(rowOf('ccm-aleg-unanswered-send-refuse').status).toBe('no_answer');
    expect(rowOf('tinycdr-2009').status).toBe('cancelled');
    expect(rowOf('urlencoded__transfer-chain').status).toBe('busy');
    const missed = toFusionPbxRow(
      cdr({ call_direction: 'inbound', hangup_cause: 'ORIGINATOR_CANCEL', billsec: '0' }),
    );
    expect([missed.missed_call, missed.status]).toEqual([true, 'missed']);
    const bridged = toFusionPbxRow(
      cdr({ call_direction: 'inbound', hangup_cause: 'ORIGINATOR_CANCEL', bridge_uuid: 'x' }),
    );
    expect(bridged.missed_call).toBe(false);
    const agent = toFusionPbxRow(cdr({ cc_side: 'agent', call_direction: 'outbound', billsec: '0' }));
    expect([agent.direction, agent.status]).toEqual(['inbound', 'no_answer']);
    const vm = toFusionPbxRow(
      cdr({ voicemail_answer_stamp: '2026-01-01', voicemail_message_seconds: '12', billsec: '15' }),
    );
    expect([vm.status, vm.voicemail_message, vm.missed_call]).toEqual(['voicemail', true, true]);
    const lastBridge = toFusionPbxRow(
      cdr({ last_bridge_hangup_cause: 'NO_ROUTE_DESTINATION', hangup_cause: 'NORMAL_CLEARING' }),
    );
    expect(lastBridge.status).toBe('failed');
  });

  it('an unanswered call has answer_stamp null (FusionPBX writes 1970-01-01)', () => {
    const row = rowOf('ccm-aleg-unanswered-send-refuse');
    expect(row.answer_epoch).toBe(0);
    expect(row.answer_stamp).toBeNull();
  });

  it('caller id precedence, keeping non-ASCII letters and the + of E.164 (FusionPBX strips both)', () => {
    const row = toFusionPbxRow(
      cdr(
        {
          caller_id_name: 'ignored',
          effective_caller_id_name: 'Jos%C3%A9%20%22Pep%C3%A9%22',
          effective_caller_id_number: '%2B34911234567',
          domain_name: 'pbx.example.com',
          sip_from_domain: 'pbx.example.com',
          sip_from_display: 'not%20used',
        },
        '<callflow><caller_profile><caller_id_name>cf0</caller_id_name><destination_number>0099123</destination_number></caller_profile></callflow>',
      ),
    );
    expect(row.caller_id_name).toBe('José Pepé');
    expect(row.caller_id_number).toBe('+34911234567');
    expect(row.source_number).toBe('+34911234567');
    const foreign = toFusionPbxRow(
      cdr({
        domain_name: 'a.example',
        sip_from_domain: 'carrier.example',
        sip_from_display: 'Carrier',
        sip_from_user: '555',
      }),
    );
    expect([foreign.caller_id_name, foreign.caller_id_number]).toEqual(['Carrier', '555']);
    const prefixed = toFusionPbxRow(
      cdr(
        { provider_prefix: '00' },
        '<callflow><caller_profile><destination_number>0099123</destination_number></caller_profile></callflow>',
      ),
    );
    expect(prefixed.destination_number).toBe('99123');
  });

  it('domain_name precedence, including the presence_id fallback FusionPBX never reaches', () => {
    expect(toFusionPbxRow(cdr({ dialed_domain: 'd.example', sip_req_host: 'h.example' })).domain_name).toBe(
      'd.example',
    );
    expect(toFusionPbxRow(cdr({ sip_req_host: 'h.example' })).domain_name).toBe('h.example');
    expect(toFusionPbxRow(cdr({ presence_id: '1000%40p.example' })).domain_name).toBe('p.example');
  });

  it('bridge_uuid falls back to the last bridge_uuids element; pdd sums progress times', () => {
    expect(toFusionPbxRow(cdr({ bridge_uuids: 'first' })).bridge_uuid).toBe('first');
    const many = parseCdr(
      '<cdr><variables><uuid>6c4c7c1a-0000-4000-8000-000000000001</uuid><bridge_uuids>one</bridge_uuids><bridge_uuids>two</bridge_uuids><progressmsec>120</progressmsec><progress_mediamsec>30</progress_mediamsec></variables></cdr>',
    );
    expect(toFusionPbxRow(many).bridge_uuid).toBe('two');
    expect(toFusionPbxRow(many).pdd_ms).toBe(150);
  });

  it('refuses a CDR whose uuid is not a UUID (the primary key is of type uuid)', () => {
    expect(() =>
      toFusionPbxRow(parseCdr('<cdr><variables><uuid>not-a-uuid</uuid></variables></cdr>')),
    ).toThrow(CdrParseError);
  });
});

describe('findRecording', () => {
  it('record_path + record_name is the normal FusionPBX case', () => {
    const ref = findRecording(
      cdr({
        record_path: '/var/lib/freeswitch/recordings/d/archive/2026/Nov/23',
        record_name: 'x.wav',
        record_seconds: '42',
      }),
    );
    expect(ref).toMatchObject({
      path: '/var/lib/freeswitch/recordings/d/archive/2026/Nov/23',
      name: 'x.wav',
      lengthSeconds: 42,
    });
  });

  it('follows the chain: record_path alone, cc_record_filename, last_app record_session, api_on_answer uuid_record', () => {
    expect(findRecording(cdr({ record_path: '/r', record_ext: 'mp3' }))?.name).toBe(
      '6c4c7c1a-0000-4000-8000-000000000001.mp3',
    );
    expect(findRecording(cdr({ cc_record_filename: '%2Fcc%2Fq%2Fa.wav' }))).toMatchObject({
      path: '/cc/q',
      name: 'a.wav',
    });
    expect(findRecording(cdr({ last_app: 'record_session', last_arg: '%2Frec%2Fb.wav' }))?.name).toBe(
      'b.wav',
    );
    expect(findRecording(cdr({ api_on_answer: 'uuid_record%20abc%20start%20%2Fr%2Fc.wav' }))?.name).toBe(
      'c.wav',
    );
    expect(findRecording(cdr({ conference_recording: '%2Fconf%2Fd.wav' }))?.path).toBe('/conf');
  });

  it('finds a record_session anywhere in app_log, which FusionPBX misses (captured b-leg)', () => {
    const record = parseCdr(doc('urlencoded__basic-7100__loopback-7100-b'));
    expect(record.variables.last_app).not.toBe('record_session');
    const ref = findRecording(record);
    expect(ref).toMatchObject({
      path: '/tmp/fs-real/recordings',
      name: '20261123-072908_b9290e43-c07c-4c6d-8df4-0a94a5a4c044.wav',
      lengthSeconds: 4,
      source: 'app_log record_session',
    });
    expect(toFusionPbxRow(record).record_name).toBe(ref?.name);
  });

  it('no clue → no recording', () => {
    expect(findRecording(cdr({ last_app: 'hangup' }))).toBeUndefined();
  });
});

describe('toFusionPbxJson', () => {
  it('has the shape PHP json_encode gives a SimpleXML CDR: @attributes, objects, arrays, {} and encoded values', () => {
    const json = toFusionPbxJson(parseCdr(doc('urlencoded__transfer-chain')));
    expect(json['@attributes']).toEqual({
      'core-uuid': '83b1f345-f998-4d09-9195-11a65ee84487',
      switchname: 'vm',
    });
    expect((json.variables as Record<string, unknown>).origination_caller_id_name).toBe('PBXKit%20CDR');
    expect(json['call-stats']).toEqual({});
    const apps = (json.app_log as { application: Array<{ '@attributes': Record<string, string> }> })
      .application;
    expect(apps.at(-1)?.['@attributes']).toEqual({
      app_name: 'hangup',
      app_data: 'USER_BUSY',
      app_stamp: '1795418958498200',
    });
    expect(Array.isArray(json.callflow)).toBe(true);
  });
});
