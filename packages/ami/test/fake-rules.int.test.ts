import type { AmiMessage } from '@pbxkit/ami';
import { describe, expect, it } from 'vitest';
import { connected, startFake } from './helpers.js';
import { messages, reply, session } from './wire.js';

describe('FakeAsterisk: manager.conf read= and write=', () => {
  const users = {
    admin: 'secret',
    monitor: { secret: 'm', read: 'system,call', write: 'system,reporting' },
    dialer: { secret: 'd', read: 'system', write: 'originate' },
  };

  it('runs an action only for a user whose write= shares one of its classes', async () => {
    const fake = await startFake({ users });
    const ask = (id: string, action: string, extra = '') =>
      `Action: ${action}\r\nActionID: ${id}\r\n${extra}\r\n`;
    const originate =
      'Channel: Local/100@test\r\nExten: 200\r\nContext: test\r\nPriority: 1\r\nAsync: true\r\n';
    const text = await session(
      fake,
      'monitor',
      'm',
      ask('o', 'Originate', originate) +
        ask('p', 'Ping') +
        ask('g', 'GetConfig', 'Filename: none.conf\r\n') +
        ask('u', 'UpdateConfig', 'SrcFilename: a.conf\r\nDstFilename: a.conf\r\n') +
        ask('c', 'Command', 'Command: core show version\r\n'),
      'off',
    );
    const answers = messages(text).filter((m) => m.type === 'response');
    expect(answers.map((m) => [m.actionId, m.name, m.get('Message')])).toEqual([
      ['login', 'Success', 'Authentication accepted'],
      ['o', 'Error', 'Permission denied'],
      ['p', 'Success', undefined],
      // GetConfig needs system or config: monitor has system.
      ['g', 'Error', 'Config file not found'],
      ['u', 'Error', 'Permission denied'],
      ['c', 'Error', 'Permission denied'],
      ['bye', 'Goodbye', 'Thanks for all the fish.'],
    ]);
    expect(reply(text, 'o')).toBe('Response: Error\r\nActionID: o\r\nMessage: Permission denied\r\n\r\n');
    const dialer = messages(await session(fake, 'dialer', 'd', ask('o', 'Originate', originate), 'off'));
    expect(dialer.find((m) => m.actionId === 'o')?.get('Message')).toBe('Originate successfully queued');
  });

  it('checks the classes a test gives its own actions', async () => {
    const fake = await startFake({ users });
    fake.onAction('QueuePause', () => ({ Message: 'paused' }));
    fake.onAction('DangerZone', () => ({}), { privilege: 'system,config' });
    fake.onAction('Harmless', () => ({}));
    const text = await session(
      fake,
      'dialer',
      'd',
      'Action: QueuePause\r\nActionID: q\r\n\r\nAction: DangerZone\r\nActionID: d\r\n\r\nAction: Harmless\r\nActionID: h\r\n\r\n',
      'off',
    );
    expect(messages(text).map((m) => [m.actionId, m.get('Message') ?? m.name])).toEqual([
      ['login', 'Authentication accepted'],
      ['q', 'Permission denied'],
      ['d', 'Permission denied'],
      ['h', 'Success'],
      ['bye', 'Thanks for all the fish.'],
    ]);
  });

  it('sends a session only the events of classes both in its read= and in its event mask', async () => {
    const fake = await startFake({ users });
    const admin = await connected(fake);
    const monitor = await connected(fake, { username: 'monitor', secret: 'm' });
    const dialer = await connected(fake, { username: 'dialer', secret: 'd' });
    const quiet = await connected(fake, { events: ['system'] });
    const seen = new Map<string, string[]>();
    for (const [name, client] of Object.entries({ admin, monitor, dialer, quiet })) {
      seen.set(name, []);
      client.on('event', (e) => seen.get(name)?.push(e.name));
    }
    fake.emitEvent('Newchannel', { Channel: 'PJSIP/100-00000001' });
    fake.emitEvent('VarSet', { Variable: 'X', Value: '1' });
    fake.emitEvent('PeerStatus', { Peer: 'PJSIP/100', PeerStatus: 'Reachable' });
    fake.emitEvent('Custom', { Privilege: 'agent,all', Queue: 'support' });
    await Promise.all([admin, monitor, dialer, quiet].map((c) => c.action({ Action: 'Ping' })));
    expect(Object.fromEntries(seen)).toEqual({
      admin: ['Newchannel', 'VarSet', 'PeerStatus', 'Custom'],
      monitor: ['Newchannel', 'PeerStatus'],
      dialer: ['PeerStatus'],
      quiet: ['PeerStatus'],
    });
  });

  it('writes the Privilege line Asterisk writes, and FullyBooted and SuccessfulAuth by class', async () => {
    const fake = await startFake({ users, systemName: 'pbxkit-lab' });
    const admin = await connected(fake);
    const got = new Promise<AmiMessage>((resolve) => admin.onEvent('Hangup', resolve));
    fake.emitEvent('Hangup', { Channel: 'PJSIP/100-00000001', Cause: 16 });
    expect((await got).keys).toEqual(['Event', 'Privilege', 'Channel', 'Cause']);
    expect((await got).get('Privilege')).toBe('call,all');
    // read=system,call: FullyBooted (system) but no SuccessfulAuth (security).
    const text = await session(fake, 'monitor', 'm', '');
    expect(messages(text).map((m) => m.name)).toEqual(['Success', 'FullyBooted', 'Goodbye']);
    const off = await session(fake, 'admin', 'secret', '', 'off');
    expect(messages(off).map((m) => m.name)).toEqual(['Success', 'Goodbye']);
  });

  it('answers Events with the mask asked for, and narrows it to read=', async () => {
    const fake = await startFake({ users });
    const text = await session(
      fake,
      'dialer',
      'd',
      'Action: Events\r\nActionID: e1\r\nEventMask: call\r\n\r\n' +
        'Action: Events\r\nActionID: e2\r\nEventMask: nonsense\r\n\r\n' +
        'Action: Events\r\nActionID: e3\r\nEventMask: \r\n\r\n',
      'off',
    );
    expect(reply(text, 'e1')).toBe('Response: Success\r\nActionID: e1\r\nEvents: On\r\n\r\n');
    expect(reply(text, 'e2')).toBe('Response: Success\r\nActionID: e2\r\nEvents: Off\r\n\r\n');
    expect(reply(text, 'e3')).toBe('Response: Error\r\nActionID: e3\r\nMessage: Invalid event mask\r\n\r\n');
    // Asked for call events, the dialer (read=system) gets none: neither call nor, now, system ones.
    const dialer = await connected(fake, { username: 'dialer', secret: 'd' });
    const seen: string[] = [];
    dialer.on('event', (e) => seen.push(e.name));
    await dialer.setEvents(['call']);
    fake.emitEvent('Newchannel', { Channel: 'PJSIP/100-00000001' });
    fake.emitEvent('PeerStatus', { Peer: 'PJSIP/100' });
    await dialer.setEvents(['system', 'call']);
    fake.emitEvent('PeerStatus', { Peer: 'PJSIP/200' });
    await dialer.action({ Action: 'Ping' });
    expect(seen).toEqual(['PeerStatus']);
  });
});

describe('FakeAsterisk: OriginateResponse is a call event', () => {
  it('goes to every session receiving call events, and not to the one that asked without them', async () => {
    const fake = await startFake();
    const asker = await connected(fake, { events: 'off' });
    const watcher = await connected(fake, { events: ['call'] });
    const system = await connected(fake, { events: ['system'] });
    const got = new Map<string, AmiMessage[]>();
    for (const [name, client] of Object.entries({ asker, watcher, system })) {
      got.set(name, []);
      client.on('event', (e) => got.get(name)?.push(e));
    }
    const result = await asker.originate({ Channel: 'PJSIP/100', Application: 'Playback', Data: 'hello' });
    expect(result.event).toBeUndefined();
    await Promise.all([asker, watcher, system].map((c) => c.action({ Action: 'Ping' })));
    expect(got.get('asker')).toEqual([]);
    expect(got.get('system')).toEqual([]);
    const [event] = got.get('watcher') ?? [];
    expect(event?.name).toBe('OriginateResponse');
    expect(event?.actionId).toBe(result.response.actionId);
    expect(event?.keys).toEqual([
      'Event',
      'Privilege',
      'ActionID',
      'Response',
      'Channel',
      'Application',
      'Data',
      'Reason',
      'Uniqueid',
      'CallerIDNum',
      'CallerIDName',
    ]);
  });
});
