import type { FakeChannel } from './fake-freeswitch.js';

/** `show channels|calls|registrations as json` in the fake, as FreeSWITCH 1.10 answers them. */
export function showAnswer(
  args: string,
  channels: Iterable<FakeChannel>,
  registrations: Array<Record<string, string>>,
): string {
  const [what, ...rest] = args.split(' ');
  const json = rest.join(' ') === 'as json';
  if (!json) return `-ERR show ${what} without 'as json' is not faked\n`;
  const rows = (): Array<Record<string, string>> => {
    const all = [...channels].map((c) => channelRow(c));
    if (what === 'channels') return all;
    // `show calls` lists each a-leg once, with the leg bridged to it under `b_` columns.
    const byCall = new Map(
      all.filter((r) => r.call_uuid && r.call_uuid !== r.uuid).map((r) => [r.call_uuid, r]),
    );
    return all
      .filter((r) => !r.call_uuid || r.call_uuid === r.uuid)
      .map((a) => {
        const b = byCall.get(a.uuid);
        const row: Record<string, string> = { ...a, call_created_epoch: a.created_epoch ?? '' };
        for (const [k, v] of Object.entries(b ?? {})) row[`b_${k}`] = v;
        return row;
      });
  };
  if (what === 'registrations') return asJson(registrations);
  if (what === 'channels' || what === 'calls') return asJson(rows());
  return `-ERR show ${what} is not faked\n`;
}

/** FreeSWITCH answers `{"row_count": 0}` (no `rows`) when there are none. */
function asJson(rows: Array<Record<string, string>>): string {
  return rows.length ? JSON.stringify({ row_count: rows.length, rows }) : '{"row_count": 0}\n';
}

function channelRow(channel: FakeChannel): Record<string, string> {
  const h = Object.fromEntries(channel.headers);
  const created = Number(h['Caller-Channel-Created-Time']);
  return {
    uuid: channel.uuid,
    direction: h['Call-Direction'] ?? 'inbound',
    created: '',
    created_epoch: created > 0 ? String(Math.floor(created / 1e6)) : '',
    name: h['Channel-Name'] ?? '',
    state: h['Channel-State'] ?? '',
    cid_name: h['Caller-Caller-ID-Name'] ?? '',
    cid_num: h['Caller-Caller-ID-Number'] ?? '',
    ip_addr: '',
    dest: h['Caller-Destination-Number'] ?? '',
    application: '',
    application_data: '',
    dialplan: 'XML',
    context: h['Caller-Context'] ?? '',
    presence_id: h['Channel-Presence-ID'] ?? '',
    callstate: h['Channel-Call-State'] ?? 'ACTIVE',
    call_uuid: h['Channel-Call-UUID'] ?? channel.uuid,
  };
}
