import type { SqlClient } from '@pbxkit/core';

/**
 * Fills `v_xml_cdr` with `count` CDRs spread over the last 30 days, in SQL (generate_series: a million rows in
 * a minute or two, not hours of inserts): 40 domains, caller numbers from a few hundred prefixes, extensions and
 * external destinations, FusionPBX's status mix (answered 60 %, missed 15 %, no answer 10 %, busy 5 %, failed
 * 5 %, voicemail 5 %), durations skewed short, every second row the B leg of the row before it (linked by
 * `bridge_uuid` / `originating_leg_uuid`), a recording on answered A legs.
 */
export async function seedCdrs(db: SqlClient, count: number, batch = 100_000): Promise<void> {
  for (let start = 0; start < count; start += batch) {
    const end = Math.min(count, start + batch) - 1;
    await db.query(
      `insert into v_xml_cdr (xml_cdr_uuid, domain_name, direction, caller_id_name, caller_id_number,
          destination_number, start_stamp, start_epoch, duration, billsec, status, hangup_cause, leg,
          bridge_uuid, originating_leg_uuid, record_name, missed_call, voicemail_message, sip_hangup_disposition)
       select md5('cdr' || i)::uuid,
              'tenant' || (a % 40) || '.example.com',
              case when i % 2 = 1 then 'local' when a % 3 = 0 then 'outbound' else 'inbound' end,
              'Caller ' || a,
              '1' || lpad((200 + a % 700)::text, 3, '0') || lpad((a * 7919 % 10000000)::text, 7, '0'),
              case when a % 4 = 0 then '1' || lpad((a * 104729 % 1000000000)::text, 10, '0') else (100 + a % 900)::text end,
              now() - make_interval(secs => (a::bigint * 2654435761 % 2592000)::double precision),
              extract(epoch from now()) - (a::bigint * 2654435761 % 2592000),
              d, d,
              s, case s when 'failed' then 'NO_ROUTE_DESTINATION' when 'busy' then 'USER_BUSY' when 'missed' then 'ORIGINATOR_CANCEL' else 'NORMAL_CLEARING' end,
              case when i % 2 = 0 then 'a' else 'b' end,
              case when i % 2 = 0 then md5('cdr' || (i + 1))::uuid::text end,
              case when i % 2 = 1 then md5('cdr' || (i - 1))::uuid end,
              case when i % 2 = 0 and s = 'answered' then md5('cdr' || i)::uuid::text || '.wav' end,
              s = 'missed', s = 'voicemail',
              case when a % 2 = 0 then 'recv_bye' else 'send_bye' end
         from generate_series($1::int, $2::int) as i,
              lateral (select (i / 2)::bigint as a) as call,
              lateral (select case when (a * 31) % 100 < 60 then 'answered' when (a * 31) % 100 < 75 then 'missed'
                                   when (a * 31) % 100 < 85 then 'no_answer' when (a * 31) % 100 < 90 then 'busy'
                                   when (a * 31) % 100 < 95 then 'failed' else 'voicemail' end as s) as st,
              lateral (select case when s in ('answered', 'voicemail') then (a * 48271 % 1000) * (a * 16807 % 1000) / 1500 + 1 else 0 end as d) as dur`,
      [start, end],
    );
  }
}
