import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A bridged call as FreeSWITCH under FusionPBX reports it: the caller's A leg and the callee's B leg. */
export interface CallPair {
  a: { uuid: string; xml: string };
  b: { uuid: string; xml: string };
  start: Date;
  /** FusionPBX's `record_path` of the A leg's recording, and its file name. */
  recordPath: string;
  recordName: string;
}

/**
 * 16-bit mono PCM WAV of `seconds` of a tone that swells and fades (so the waveform has a shape), 8 kHz as
 * FreeSWITCH records narrowband calls.
 */
export function toneWav(seconds: number, rate = 8000): Buffer {
  const samples = Math.round(seconds * rate);
  const out = Buffer.alloc(44 + samples * 2);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + samples * 2, 4);
  out.write('WAVEfmt ', 8, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(rate, 24);
  out.writeUInt32LE(rate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) {
    const envelope = Math.abs(Math.sin((Math.PI * i) / samples)) * (0.3 + 0.7 * Math.abs(Math.sin(i / rate)));
    out.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * envelope * 30_000), 44 + i * 2);
  }
  return out;
}

interface LegFacts {
  uuid: string;
  direction: string;
  caller: string;
  destination: string;
  domain: string;
  start: Date;
  answerAfterS: number | undefined;
  durationS: number;
  cause: string;
  disposition: string;
  extra: Record<string, string>;
  apps: Array<[string, string]>;
  chan: string;
}

function legXml(f: LegFacts): string {
  const epoch = (d: number) => String(Math.floor(d / 1000));
  const us = (ms: number) => String(Math.round(ms * 1000));
  const start = f.start.getTime();
  const answer = f.answerAfterS === undefined ? undefined : start + f.answerAfterS * 1000;
  const end = start + f.durationS * 1000;
  const billsec = answer === undefined ? 0 : Math.round((end - answer) / 1000);
  const variables: Record<string, string> = {
    uuid: f.uuid,
    call_direction: f.direction,
    domain_name: f.domain,
    caller_id_number: f.caller,
    destination_number: f.destination,
    start_epoch: epoch(start),
    ...(answer === undefined ? {} : { answer_epoch: epoch(answer) }),
    end_epoch: epoch(end),
    duration: String(f.durationS),
    billsec: String(billsec),
    billmsec: String(billsec * 1000),
    hangup_cause: f.cause,
    hangup_cause_q850: f.cause === 'NORMAL_CLEARING' ? '16' : '19',
    sip_hangup_disposition: f.disposition,
    ...f.extra,
  };
  const vars = Object.entries(variables)
    .map(([k, v]) => `<${k}>${encodeURIComponent(v)}</${k}>`)
    .join('');
  const apps = f.apps
    .map(
      ([name, data], i) =>
        `<application app_name="${name}" app_data="${data}" app_stamp="${us(start + 100 + i * 200)}"></application>`,
    )
    .join('');
  return `<?xml version="1.0"?>
<cdr core-uuid="83b1f345-f998-4d09-9195-11a65ee84487" switchname="pbx1">
<channel_data><state>CS_REPORTING</state><direction>${f.direction === 'inbound' ? 'inbound' : 'outbound'}</direction></channel_data>
<variables>${vars}</variables>
<app_log>${apps}</app_log>
<callflow dialplan="XML" unique-id="${f.uuid}" profile_index="1">
<extension name="call" number="${f.destination}">${f.apps.map(([n, d]) => `<application app_name="${n}" app_data="${d}"></application>`).join('')}</extension>
<caller_profile><dialplan>XML</dialplan><caller_id_name>Caller ${f.caller}</caller_id_name><caller_id_number>${f.caller}</caller_id_number>
<destination_number>${f.destination}</destination_number><uuid>${f.uuid}</uuid><context>${f.domain}</context><chan_name>${f.chan}</chan_name></caller_profile>
<times><created_time>${us(start)}</created_time><profile_created_time>${us(start)}</profile_created_time>
<progress_time>${us(start + 500)}</progress_time><progress_media_time>0</progress_media_time>
<answered_time>${answer === undefined ? '0' : us(answer)}</answered_time><bridged_time>${answer === undefined ? '0' : us(answer + 20)}</bridged_time>
<last_hold_time>0</last_hold_time><hold_accum_time>0</hold_accum_time><hangup_time>${us(end)}</hangup_time>
<resurrect_time>0</resurrect_time><transfer_time>0</transfer_time></times>
</callflow>
</cdr>`;
}

/**
 * An inbound call from `caller` to extension `destination`, answered after 3 s and recorded (when `recordRoot`
 * is given), or unanswered (`missed`): the A leg names the B leg in `bridge_uuid`, the B leg the A leg in
 * `originating_leg_uuid`, as FreeSWITCH writes them. The caller hangs up (BYE received on the A leg).
 */
export function callPair(options: {
  caller: string;
  destination: string;
  start: Date;
  domain?: string;
  durationS?: number;
  missed?: boolean;
  recordRoot?: string;
}): CallPair {
  const domain = options.domain ?? 'pbx.example.com';
  const a = randomUUID();
  const b = randomUUID();
  const start = options.start;
  const pad = (n: number) => String(n).padStart(2, '0');
  const recordPath = join(
    options.recordRoot ?? '/var/lib/freeswitch/recordings',
    domain,
    'archive',
    String(start.getUTCFullYear()),
    MONTHS[start.getUTCMonth()] as string,
    pad(start.getUTCDate()),
  );
  const recordName = `${a}.wav`;
  const durationS = options.durationS ?? 20;
  const answered = !options.missed;
  const common = {
    domain,
    start,
    durationS,
    answerAfterS: answered ? 3 : undefined,
    cause: answered ? 'NORMAL_CLEARING' : 'ORIGINATOR_CANCEL',
    caller: options.caller,
    destination: options.destination,
  };
  const aLeg = legXml({
    ...common,
    uuid: a,
    direction: 'inbound',
    disposition: answered ? 'recv_bye' : 'recv_cancel',
    chan: `sofia/internal/${options.caller}@${domain}`,
    apps: [
      ['set', 'call_direction=inbound'],
      ...(options.recordRoot && answered
        ? ([['record_session', `${recordPath}/${recordName}`]] as Array<[string, string]>)
        : []),
      ['bridge', `user/${options.destination}@${domain}`],
    ],
    extra: {
      // FreeSWITCH sets bridge_uuid only once the legs were bridged
      ...(answered ? { bridge_uuid: b } : {}),
      ...(options.recordRoot && answered
        ? { record_path: recordPath, record_name: recordName, record_seconds: String(durationS - 3) }
        : {}),
      ...(options.missed ? { missed_call: 'true' } : {}),
    },
  });
  const bLeg = legXml({
    ...common,
    uuid: b,
    direction: 'local',
    disposition: answered ? 'send_bye' : 'send_cancel',
    chan: `sofia/internal/${options.destination}@${domain}`,
    apps: [],
    extra: { originating_leg_uuid: a },
  });
  return { a: { uuid: a, xml: aLeg }, b: { uuid: b, xml: bLeg }, start, recordPath, recordName };
}

/** Writes the A leg's recording where FreeSWITCH would have. */
export async function writeRecording(pair: CallPair, wav: Buffer): Promise<string> {
  await mkdir(pair.recordPath, { recursive: true });
  const file = join(pair.recordPath, pair.recordName);
  await writeFile(file, wav);
  return file;
}
