import { EslEvent, EslParser, isEventFrame } from '@pbxkit/esl';
import { describe, expect, it } from 'vitest';
import { fixture } from '../../../scripts/test-env.js';
import { parseVoicemailEvent, parseVoicemailKey, type VoicemailEvent, voicemailKeyOf } from '../src/index.js';

/** The vm::maintenance events a real FreeSWITCH sent in a capture, parsed as the agent gets them. */
function captured(name: string): VoicemailEvent[] {
  const parser = new EslParser();
  const out: VoicemailEvent[] = [];
  for (const frame of parser.feed(fixture('fs-modules', 'esl', name))) {
    if (!isEventFrame(frame)) continue;
    const parsed = parseVoicemailEvent(EslEvent.fromFrame(frame).headers);
    if (parsed) out.push(parsed);
  }
  return out;
}

const ROOT = '/srv/fs-cap/storage/voicemail';

describe('vm::maintenance events from a real FreeSWITCH 1.10.12', () => {
  it('reads leave-message with the file path and the message uuid, which is not the uuid of the file name', () => {
    const events = captured('40-event-custom-vm-maintenance-plain.txt');
    const left = events.filter((e) => e.action === 'leave-message');
    expect(left).toHaveLength(5);
    const alice = left[0] as Extract<VoicemailEvent, { action: 'leave-message' }>;
    expect(alice).toMatchObject({
      user: '1000',
      domain: '127.0.0.1',
      uuid: '7ce03731-996d-43fa-99b4-86e8070025e5',
      callerName: 'Alice Caller',
      callerNumber: '5551001',
      folder: 'inbox',
      lengthSeconds: 9,
    });
    expect(alice.createdAt.toISOString()).toBe(new Date(1796194129 * 1000).toISOString());
    const key = voicemailKeyOf(alice.filePath, ROOT) as string;
    expect(key).toBe('default/127.0.0.1/1000/msg_f39c75fe-2773-4e97-842f-96c36a09ceca.wav');
    expect(parseVoicemailKey(key)?.fileUuid).not.toBe(alice.uuid);
    // The caller name with a comma arrived cut at the comma, and a UTF-8 one decoded.
    expect(left.map((e) => (e as { callerName: string }).callerName)).toEqual([
      'Alice Caller',
      'Bob Caller',
      'Jürgen Müller',
      'Doe',
      'Carol',
    ]);
  });

  it('sees a deletion and a read only as mwi-update of the mailbox (no delete action exists)', () => {
    const events = captured('40-event-custom-vm-maintenance-plain.txt');
    const actions = new Set(events.map((e) => e.action));
    expect([...actions].sort()).toEqual(['leave-message', 'mwi-update']);
    expect(events.filter((e) => e.action === 'mwi-update').length).toBeGreaterThanOrEqual(7);
  });

  it('reads the json format alike, and ignores MESSAGE_WAITING', () => {
    const events = captured('42-event-json-message-waiting-and-vm-maintenance-vm_read.txt');
    expect(events).toEqual([
      { action: 'mwi-update', user: '1000', domain: '127.0.0.1' },
      { action: 'mwi-update', user: '1000', domain: '127.0.0.1' },
    ]);
  });

  it('reads greeting and name events as mod_voicemail fires them, and refuses incomplete ones', () => {
    const base = { 'Event-Subclass': 'vm::maintenance', 'VM-User': '1000', 'VM-Domain': 'example.com' };
    expect(
      parseVoicemailEvent({
        ...base,
        'VM-Action': 'record-greeting',
        'VM-Greeting-Path': `${ROOT}/default/example.com/1000/greeting_1.wav`,
      }),
    ).toMatchObject({
      action: 'record-greeting',
      filePath: `${ROOT}/default/example.com/1000/greeting_1.wav`,
    });
    expect(
      parseVoicemailEvent({
        ...base,
        'VM-Action': 'record-name',
        'VM-Name-Path': `${ROOT}/default/example.com/1000/recorded_name.wav`,
      }),
    ).toMatchObject({ action: 'record-name' });
    expect(parseVoicemailEvent({ ...base, 'VM-Action': 'leave-message' })).toBeUndefined();
    expect(
      parseVoicemailEvent({ ...base, 'Event-Subclass': 'sofia::register', 'VM-Action': 'mwi-update' }),
    ).toBeUndefined();
  });
});

describe('voicemail tree keys', () => {
  it('takes keys apart and skips temporary recordings', () => {
    expect(parseVoicemailKey('default/example.com/1000/greeting_2.wav')?.kind).toBe('greeting');
    expect(parseVoicemailKey('default/example.com/1000/recorded_name.wav')?.kind).toBe('name');
    expect(parseVoicemailKey('default/example.com/1000/greeting_2_TMP.wav')).toBeUndefined();
    expect(parseVoicemailKey('default/example.com/msg_x.wav')).toBeUndefined();
    expect(parseVoicemailKey('default/../1000/msg_5c7b0f0e-1111.wav')).toBeUndefined();
  });

  it('finds the key of a path from another storage directory by its last four segments', () => {
    expect(voicemailKeyOf('/other/storage/voicemail/default/d/1000/msg_5c7b0f0e-1111.wav', ROOT)).toBe(
      'default/d/1000/msg_5c7b0f0e-1111.wav',
    );
    expect(voicemailKeyOf('/etc/passwd', ROOT)).toBeUndefined();
  });
});
