import type { CallRow, ChannelRow, RegistrationRow } from '../realtime.js';
import type {
  AgentEntry,
  ChannelEntry,
  MemberEntry,
  QueueEntry,
  RegistrationEntry,
  TierEntry,
} from './types.js';

// Rows (snapshots) and events (updates) describe the same things with different names: these turn both into
// one entry shape. Everything here is pure.

/** An event's headers, read one by one: an `EslEvent`'s `headerMap`, the cheapest form to decode. */
export type Headers = { get(name: string): string | undefined };

const int = (text: string | undefined): number => {
  const n = Number.parseInt(text ?? '', 10);
  return Number.isFinite(n) ? n : 0;
};

/** The named columns of a row, as strings (`''` when absent): `{ field: 'column' }`. */
function columns<F extends string>(row: Record<string, string>, spec: Record<F, string>): Record<F, string> {
  const out = {} as Record<F, string>;
  for (const field of Object.keys(spec) as F[]) out[field] = row[spec[field]] ?? '';
  return out;
}

/** Seconds since the epoch of an event (`Event-Date-Timestamp` is in microseconds). */
export function eventSeconds(headers: Headers, fallbackMs: number): number {
  const micros = Number(headers.get('Event-Date-Timestamp'));
  return Number.isFinite(micros) && micros > 0 ? Math.floor(micros / 1e6) : Math.floor(fallbackMs / 1000);
}

export function channelFromRow(node: string, row: ChannelRow): ChannelEntry {
  const text = columns(row, {
    direction: 'direction',
    name: 'name',
    state: 'state',
    callState: 'callstate',
    cidName: 'cid_name',
    cidNum: 'cid_num',
    dest: 'dest',
    context: 'context',
    presenceId: 'presence_id',
    callUuid: 'call_uuid',
    application: 'application',
    accountcode: 'accountcode',
  });
  return { node, uuid: row.uuid, ...text, created: int(row.created_epoch) };
}

/**
 * The b-legs `show calls` names (`b_uuid`) get the a-leg as their call uuid, in case `show channels` was taken
 * before the bridge.
 */
export function linkCallRows(channels: Map<string, ChannelEntry>, calls: CallRow[]): void {
  for (const call of calls) {
    const b = call.b_uuid ? channels.get(call.b_uuid) : undefined;
    if (b && !b.callUuid) b.callUuid = call.uuid;
  }
}

/** A channel from a CHANNEL_* event, over what was known of it (events carry every channel header). */
export function channelFromEvent(node: string, h: Headers, previous: ChannelEntry | undefined): ChannelEntry {
  const created = Number(h.get('Caller-Channel-Created-Time'));
  return {
    node,
    uuid: h.get('Unique-ID') ?? previous?.uuid ?? '',
    direction: h.get('Call-Direction') ?? previous?.direction ?? '',
    name: h.get('Channel-Name') ?? previous?.name ?? '',
    state: h.get('Channel-State') ?? previous?.state ?? '',
    callState: h.get('Channel-Call-State') ?? previous?.callState ?? '',
    cidName: h.get('Caller-Caller-ID-Name') ?? previous?.cidName ?? '',
    cidNum: h.get('Caller-Caller-ID-Number') ?? previous?.cidNum ?? '',
    dest: h.get('Caller-Destination-Number') ?? previous?.dest ?? '',
    context: h.get('Caller-Context') ?? previous?.context ?? '',
    presenceId: h.get('Channel-Presence-ID') ?? previous?.presenceId ?? '',
    callUuid: h.get('Channel-Call-UUID') ?? previous?.callUuid ?? '',
    created: created > 0 ? Math.floor(created / 1e6) : (previous?.created ?? 0),
    application: h.get('variable_current_application') ?? h.get('Application') ?? previous?.application ?? '',
    accountcode: h.get('variable_accountcode') ?? previous?.accountcode ?? '',
  };
}

export function registrationFromRow(node: string, row: RegistrationRow): RegistrationEntry {
  const text = columns(row, {
    user: 'reg_user',
    realm: 'realm',
    callId: 'token',
    contact: 'url',
    networkIp: 'network_ip',
    networkPort: 'network_port',
    networkProto: 'network_proto',
  });
  return { node, ...text, expires: int(row.expires), profile: /^sofia\/([^/]+)\//.exec(row.url ?? '')?.[1] };
}

/** `sofia::register`: `expires` is relative there (seconds from the event), absolute in the snapshot. */
export function registrationFromEvent(node: string, h: Headers, atMs: number): RegistrationEntry {
  const contact = h.get('contact') ?? '';
  const relative = int(h.get('expires'));
  return {
    node,
    user: h.get('from-user') ?? '',
    realm: h.get('from-host') ?? '',
    callId: h.get('call-id') ?? '',
    contact,
    expires: relative > 0 ? eventSeconds(h, atMs) + relative : 0,
    networkIp: h.get('network-ip') ?? '',
    networkPort: h.get('network-port') ?? '',
    networkProto: (/;transport=(\w+)/i.exec(contact)?.[1] ?? 'udp').toLowerCase(),
    profile: h.get('profile-name'),
    userAgent: h.get('user-agent'),
  };
}

export function queueFromRow(node: string, row: Record<string, string>, members: number): QueueEntry {
  return { node, name: row.name ?? '', strategy: row.strategy ?? '', members, row };
}

export function agentFromRow(node: string, row: Record<string, string>): AgentEntry {
  const text = columns(row, {
    name: 'name',
    status: 'status',
    state: 'state',
    contact: 'contact',
    type: 'type',
  });
  return { node, ...text, row };
}

export function tierFromRow(node: string, row: Record<string, string>): TierEntry {
  const text = columns(row, { queue: 'queue', agent: 'agent', state: 'state' });
  return { node, ...text, level: int(row.level), position: int(row.position) };
}

export function memberFromRow(node: string, row: Record<string, string>): MemberEntry {
  const text = columns(row, {
    queue: 'queue',
    uuid: 'uuid',
    sessionUuid: 'session_uuid',
    cidNumber: 'cid_number',
    cidName: 'cid_name',
    state: 'state',
    servingAgent: 'serving_agent',
  });
  return { node, ...text, joined: int(row.joined_epoch) };
}

/** `member-queue-start` of `callcenter::info`. */
export function memberFromEvent(node: string, h: Headers, atMs: number): MemberEntry {
  return {
    node,
    queue: h.get('CC-Queue') ?? '',
    uuid: h.get('CC-Member-UUID') ?? '',
    sessionUuid: h.get('CC-Member-Session-UUID') ?? '',
    cidNumber: h.get('CC-Member-CID-Number') ?? '',
    cidName: h.get('CC-Member-CID-Name') ?? '',
    state: 'Waiting',
    servingAgent: '',
    joined: int(h.get('CC-Member-Joined-Time')) || eventSeconds(h, atMs),
  };
}
