import { type CdrRecord, chronologicalCallflows } from '@pbxkit/cdr';

/** One moment of a call leg. */
export interface TimelineEvent {
  /** ISO time (millisecond precision; FreeSWITCH's microseconds are kept in `us`). */
  at: string;
  us: number;
  kind:
    | 'created'
    | 'ringing'
    | 'media'
    | 'answered'
    | 'bridged'
    | 'transfer'
    | 'app'
    | 'hold'
    | 'unhold'
    | 'hangup';
  label: string;
  detail?: string;
}

/** The callflow profiles' `times` and what they mean, in the order they happen. */
const TIMES: ReadonlyArray<readonly [string, TimelineEvent['kind'], string]> = [
  ['created_time', 'created', 'channel created'],
  ['progress_time', 'ringing', 'ringing (180)'],
  ['progress_media_time', 'media', 'early media (183)'],
  ['answered_time', 'answered', 'answered'],
  ['bridged_time', 'bridged', 'bridged'],
  ['transfer_time', 'transfer', 'transferred'],
  ['hangup_time', 'hangup', 'hung up'],
];

/**
 * The callflow of a leg as a timeline: each caller profile (a transfer starts a new one, with the dialplan and
 * destination it went to), its ringing, answer, bridge and hangup times, the applications it ran (`app_log`), and
 * hold periods; oldest first. Moments FreeSWITCH did not record (time 0) are left out.
 */
export function callTimeline(record: CdrRecord): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  const add = (us: number | undefined, kind: TimelineEvent['kind'], label: string, detail?: string) => {
    if (!us || !Number.isFinite(us) || us <= 0) return;
    const event: TimelineEvent = { at: new Date(Math.floor(us / 1000)).toISOString(), us, kind, label };
    if (detail) event.detail = detail;
    events.push(event);
  };
  const seen = new Set<string>();
  for (const [i, flow] of chronologicalCallflows(record).entries()) {
    const profile = flow.callerProfile;
    const to = [profile.destination_number, profile.context, flow.dialplan].filter(Boolean).join(' / ');
    const from = [profile.caller_id_name, profile.caller_id_number].filter(Boolean).join(' ');
    add(
      flow.times.profile_created_time ?? flow.times.created_time,
      i === 0 ? 'created' : 'transfer',
      i === 0 ? 'call from' : `transfer (profile ${flow.profileIndex ?? i + 1})`,
      `${from || 'unknown'} → ${to || 'unknown'}`,
    );
    for (const [name, kind, label] of TIMES) {
      if (name === 'created_time') continue;
      const us = flow.times[name];
      // the same moment is repeated in every profile of the leg: once is enough
      const key = `${name}:${us}`;
      if (!us || seen.has(key)) continue;
      seen.add(key);
      const peer = kind === 'bridged' ? flow.originatee[0] : undefined;
      add(
        us,
        kind,
        label,
        peer ? `to ${peer.destination_number ?? ''} ${peer.uuid ?? ''}`.trim() : undefined,
      );
    }
  }
  for (const app of record.appLog) add(app.stamp, 'app', app.name, app.data || undefined);
  for (const hold of record.holdRecord) {
    add(hold.on, 'hold', 'put on hold', hold.bridgedTo ? `bridged to ${hold.bridgedTo}` : undefined);
    add(hold.off, 'unhold', 'taken off hold');
  }
  return events.sort((a, b) => a.us - b.us);
}

/** Why and by whom a leg ended. */
export interface HangupSummary {
  cause: string | null;
  q850: number | null;
  /** FreeSWITCH's `sip_hangup_disposition` (`recv_bye`, `send_cancel`, ...). */
  disposition: string | null;
  /** Who ended the call, as far as the leg tells. */
  by: 'caller' | 'callee' | 'switch' | 'unknown';
  /** The same in a sentence for the page. */
  explanation: string;
}

/**
 * Who hung up, from the leg's SIP disposition: on the A leg (the caller's) a BYE or CANCEL received came from the
 * caller, one sent means the other side (or the switch) ended it; on a B leg the reverse. `send_refuse` is the
 * switch refusing the call (no route, busy, ...).
 */
export function hangupSummary(
  row: {
    hangup_cause?: unknown;
    hangup_cause_q850?: unknown;
    sip_hangup_disposition?: unknown;
    leg?: unknown;
  },
  variables: Record<string, string> = {},
): HangupSummary {
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const cause = text(row.hangup_cause) ?? text(variables.hangup_cause);
  const q850raw = row.hangup_cause_q850 ?? variables.hangup_cause_q850;
  const q850 = q850raw === null || q850raw === undefined || q850raw === '' ? null : Number(q850raw);
  const disposition = text(row.sip_hangup_disposition) ?? text(variables.sip_hangup_disposition);
  const aLeg = (text(row.leg) ?? 'a') === 'a';
  const remote = aLeg ? 'caller' : 'callee';
  const local = aLeg ? 'callee' : 'caller';
  let by: HangupSummary['by'] = 'unknown';
  let explanation = 'the leg does not say who ended it';
  switch (disposition) {
    case 'recv_bye':
      by = remote;
      explanation = `the ${remote} hung up (BYE received)`;
      break;
    case 'recv_cancel':
      by = remote;
      explanation = `the ${remote} gave up before the answer (CANCEL received)`;
      break;
    case 'recv_refuse':
      by = remote;
      explanation = `the ${remote} side refused the call (error response received)`;
      break;
    case 'send_bye':
      by = local;
      explanation = `the ${local} (or the switch) hung up (BYE sent)`;
      break;
    case 'send_cancel':
      by = local;
      explanation = `the ${local} side ended the attempt before the answer (CANCEL sent)`;
      break;
    case 'send_refuse':
      by = 'switch';
      explanation = 'the switch refused the call (error response sent)';
      break;
  }
  return { cause, q850: Number.isFinite(q850) ? q850 : null, disposition, by, explanation };
}
