import { randomUUID } from 'node:crypto';

/** Options describing the call a fake outbound connection presents. */
export interface FakeCallOptions {
  uuid?: string;
  callerIdName?: string;
  callerIdNumber?: string;
  destinationNumber?: string;
  context?: string;
  channelName?: string;
  /** Extra channel variables (`variable_<name>` headers). */
  variables?: Record<string, string>;
}

let sequence = 1000;

/** The headers FreeSWITCH puts on every event (`switch_event_prep_for_delivery`), in its order. */
export function standardEventHeaders(
  name: string,
  coreUuid: string,
  hostname: string,
): Array<[string, string]> {
  const now = new Date();
  const micros = BigInt(now.getTime()) * 1000n;
  const pad = (n: number) => String(n).padStart(2, '0');
  const local = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
  return [
    ['Event-Name', name],
    ['Core-UUID', coreUuid],
    ['FreeSWITCH-Hostname', hostname],
    ['FreeSWITCH-Switchname', hostname],
    ['FreeSWITCH-IPv4', '127.0.0.1'],
    ['FreeSWITCH-IPv6', '::1'],
    ['Event-Date-Local', local],
    ['Event-Date-GMT', now.toUTCString()],
    ['Event-Date-Timestamp', micros.toString()],
    ['Event-Calling-File', 'fake_freeswitch.c'],
    ['Event-Calling-Function', 'fake_event'],
    ['Event-Calling-Line-Number', '1'],
    ['Event-Sequence', String(++sequence)],
  ];
}

/**
 * The channel headers of a call, shaped like FreeSWITCH 1.10's CHANNEL_DATA (`Channel-*`, `Unique-ID`,
 * `Caller-*`, `variable_*`), as sent in the outbound `connect` reply and on channel events.
 */
export function channelHeaders(call: FakeCallOptions): Array<[string, string]> {
  const uuid = call.uuid ?? randomUUID();
  const name = call.channelName ?? `sofia/internal/${call.callerIdNumber ?? '1000'}@127.0.0.1`;
  const cidName = call.callerIdName ?? 'pbxkit';
  const cidNumber = call.callerIdNumber ?? '1000';
  const destination = call.destinationNumber ?? '9999';
  const context = call.context ?? 'default';
  const headers: Array<[string, string]> = [
    ['Channel-State', 'CS_EXECUTE'],
    ['Channel-Call-State', 'RINGING'],
    ['Channel-State-Number', '4'],
    ['Channel-Name', name],
    ['Unique-ID', uuid],
    ['Call-Direction', 'inbound'],
    ['Presence-Call-Direction', 'inbound'],
    ['Channel-HIT-Dialplan', 'true'],
    ['Channel-Call-UUID', uuid],
    ['Answer-State', 'ringing'],
    ['Caller-Direction', 'inbound'],
    ['Caller-Logical-Direction', 'inbound'],
    ['Caller-Dialplan', 'XML'],
    ['Caller-Caller-ID-Name', cidName],
    ['Caller-Caller-ID-Number', cidNumber],
    ['Caller-Orig-Caller-ID-Name', cidName],
    ['Caller-Orig-Caller-ID-Number', cidNumber],
    ['Caller-ANI', cidNumber],
    ['Caller-Destination-Number', destination],
    ['Caller-Unique-ID', uuid],
    ['Caller-Source', 'mod_sofia'],
    ['Caller-Context', context],
    ['Caller-Channel-Name', name],
    ['variable_uuid', uuid],
    ['variable_call_uuid', uuid],
    ['variable_direction', 'inbound'],
    ['variable_caller_id_name', cidName],
    ['variable_caller_id_number', cidNumber],
    ['variable_destination_number', destination],
  ];
  for (const [key, value] of Object.entries(call.variables ?? {})) headers.push([`variable_${key}`, value]);
  // FreeSWITCH adds Channel-Presence-ID to channel events when the channel has a presence_id (user@domain).
  const presence = call.variables?.presence_id;
  if (presence) headers.splice(9, 0, ['Channel-Presence-ID', presence]);
  return headers;
}

/** `status` text in FreeSWITCH 1.10's layout, for an uptime and session counts. */
export function statusText(uptimeMs: number, sessions: number, peak: number): string {
  const s = Math.floor(uptimeMs / 1000);
  return [
    `UP 0 years, ${Math.floor(s / 86400)} days, ${Math.floor(s / 3600) % 24} hours, ${Math.floor(s / 60) % 60} minutes, ${s % 60} seconds, ${uptimeMs % 1000} milliseconds, 0 microseconds`,
    'FreeSWITCH (Version 1.10.12-release fake 64bit) is ready',
    `${peak} session(s) since startup`,
    `${sessions} session(s) - peak ${peak}, last 5min ${peak} `,
    `0 session(s) per Sec out of max 30, peak ${peak}, last 5min ${peak} `,
    '1000 session(s) max',
    'min idle cpu 0.00/99.00',
    'Current Stack Size/Max 240K/8192K',
    '',
  ].join('\n');
}
