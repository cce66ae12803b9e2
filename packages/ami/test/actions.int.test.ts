import {
  AmiActionError,
  AmiConnectionError,
  AmiInvalidActionError,
  type AmiMessage,
  AmiParser,
  AmiProtocolError,
  AmiTimeoutError,
} from '@pbxkit/ami';
import { describe, expect, it } from 'vitest';
import { rx } from './fixtures.js';
import { connected, rejectionOf, startFake } from './helpers.js';

/** The bytes of the capture's messages whose ActionID is `id`, re-addressed to `newId`. */
function capturedExchange(capture: string, id: string, newId: string): string {
  const text = rx(capture).toString('utf8');
  return text
    .split('\r\n\r\n')
    .filter((block) => block.includes(`\r\nActionID: ${id}\r\n`) || block.endsWith(`\r\nActionID: ${id}`))
    .map((block) => `${block.replace(`ActionID: ${id}`, `ActionID: ${newId}`)}\r\n\r\n`)
    .join('');
}

describe('AmiClient.action', () => {
  it('resolves with the response correlated by a unique ActionID', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const [a, b] = await Promise.all([client.action({ Action: 'Ping' }), client.action({ Action: 'Ping' })]);
    expect(a.get('Ping')).toBe('Pong');
    expect(a.actionId).not.toBe(b.actionId);
    expect(a.actionId?.startsWith(`${client.clientId}-1-`)).toBe(true);
  });

  it('delivers 100 concurrent actions answered out of order each to its own caller', async () => {
    const fake = await startFake();
    const held: Array<() => void> = [];
    fake.onAction('Echo', (action, session) => {
      held.push(() => session.respond(action, { Echo: action.get('Token') ?? '' }));
      if (held.length === 100) for (const reply of held.reverse()) reply();
    });
    const client = await connected(fake);
    const tokens = Array.from({ length: 100 }, (_, i) => `t${i}`);
    const responses = await Promise.all(tokens.map((Token) => client.action({ Action: 'Echo', Token })));
    expect(responses.map((r) => r.get('Echo'))).toEqual(tokens);
    expect(new Set(responses.map((r) => r.actionId)).size).toBe(100);
  });

  it('sends arrays and objects as repeated headers in order', async () => {
    const fake = await startFake();
    fake.onAction('Setvars', () => ({}));
    const client = await connected(fake);
    await client.action({
      Action: 'Setvars',
      Variable: { A: 1, B: 'x=y' },
      Codec: ['ulaw', 'alaw'],
      Skip: undefined,
    });
    const sent = fake.actions.at(-1) as AmiMessage;
    expect(sent.getAll('Variable')).toEqual(['A=1', 'B=x=y']);
    expect(sent.getAll('Codec')).toEqual(['ulaw', 'alaw']);
    expect(sent.has('Skip')).toBe(false);
  });

  it('rejects Response: Error with AmiActionError carrying Asterisk’s message', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const err = await rejectionOf(client.action({ Action: 'NoSuchThing' }));
    expect(err).toBeInstanceOf(AmiActionError);
    expect((err as AmiActionError).code).toBe('AMI_ACTION');
    expect(err.message).toContain('Invalid/unknown command: NoSuchThing');
    expect((err as AmiActionError).response.get('Response')).toBe('Error');
  });

  it('ignores responses nobody waits for (foreign or unknown ActionIDs)', async () => {
    const fake = await startFake();
    fake.onAction('Noisy', (action, session) => {
      session.write('Response: Success\r\nActionID: someone-else-1\r\nMessage: not yours\r\n\r\n');
      session.write('Response: Success\r\nMessage: no ActionID at all\r\n\r\n');
      session.respond(action, { Mine: 'yes' });
    });
    const client = await connected(fake);
    expect((await client.action({ Action: 'Noisy' })).get('Mine')).toBe('yes');
  });

  it('refuses CR/LF in a field before writing anything (no header injection)', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const before = fake.actions.length;
    const err = await rejectionOf(
      client.action({ Action: 'Setvar', Variable: 'X', Value: '1\r\n\r\nAction: Originate' }),
    );
    expect(err).toBeInstanceOf(AmiInvalidActionError);
    await client.action({ Action: 'Ping' });
    expect(fake.actions.slice(before).map((a) => a.name)).toEqual(['Ping']);
  });

  it('times out with AmiTimeoutError, ignores the late answer and keeps working', async () => {
    const fake = await startFake();
    let late: (() => void) | undefined;
    fake.onAction('Slow', (action, session) => {
      late = () => session.respond(action, { Late: 'yes' });
    });
    const client = await connected(fake);
    const err = await rejectionOf(client.action({ Action: 'Slow' }, { timeoutMs: 30 }));
    expect(err).toBeInstanceOf(AmiTimeoutError);
    expect(client.inFlight).toBe(0);
    late?.();
    const pong = await client.action({ Action: 'Ping' });
    expect(pong.get('Ping')).toBe('Pong');
  });

  it('times out a short action sent after a long one, leaving the long one waiting', async () => {
    const fake = await startFake();
    fake.onAction('Slow', () => undefined);
    const client = await connected(fake);
    const long = client.action({ Action: 'Slow' }, { timeoutMs: 60_000 });
    const err = await rejectionOf(client.action({ Action: 'Slow' }, { timeoutMs: 30 }));
    expect(err).toBeInstanceOf(AmiTimeoutError);
    expect((err as AmiTimeoutError).timeoutMs).toBe(30);
    expect(client.inFlight).toBe(1);
    await client.close();
    expect(await rejectionOf(long)).toBeInstanceOf(AmiConnectionError);
  });

  it('rejects pending actions with AmiConnectionError when the connection drops', async () => {
    const fake = await startFake();
    fake.onAction('Never', () => {
      fake.dropConnections();
    });
    const client = await connected(fake, { reconnect: false });
    const err = await rejectionOf(client.action({ Action: 'Never' }));
    expect(err).toBeInstanceOf(AmiConnectionError);
    expect(client.state).toBe('idle');
  });
});

describe('AmiClient.actionList', () => {
  it('collects the items of the captured CoreShowChannels list and checks ListItems', async () => {
    const fake = await startFake();
    fake.onAction('CoreShowChannels', (action, session) => {
      session.write(capturedExchange('26-coreshowchannels-active', 'csc-live', action.get('ActionID') ?? ''));
    });
    const client = await connected(fake);
    const broadcast: string[] = [];
    client.on('event', (e) => broadcast.push(e.name));
    const list = await client.actionList({ Action: 'CoreShowChannels' });
    expect(list.response.get('EventList')).toBe('start');
    expect(list.events.map((e) => e.get('Channel'))).toEqual([
      'Local/500@test-context-00000000;1',
      'Local/500@test-context-00000000;2',
    ]);
    expect(list.complete?.name).toBe('CoreShowChannelsComplete');
    expect(list.complete?.get('ListItems')).toBe('2');
    // List items answer the caller; they are not broadcast events.
    await client.action({ Action: 'Ping' });
    expect(broadcast).not.toContain('CoreShowChannel');
  });

  it('handles the captured Status list whose items put ActionID last', async () => {
    const fake = await startFake();
    fake.onAction('Status', (action, session) => {
      session.write(
        capturedExchange('26-coreshowchannels-active', 'status-live', action.get('ActionID') ?? ''),
      );
    });
    const client = await connected(fake);
    const list = await client.actionList({ Action: 'Status' });
    expect(list.events).toHaveLength(2);
    expect(list.complete?.get('Items')).toBe('2');
  });

  it('resolves an empty list', async () => {
    const fake = await startFake();
    fake.onAction('CoreShowChannels', (action, session) => {
      session.write(capturedExchange('25-coreshowchannels-empty', 'csc-empty', action.get('ActionID') ?? ''));
    });
    const client = await connected(fake);
    const list = await client.actionList({ Action: 'CoreShowChannels' });
    expect(list.events).toEqual([]);
    expect(list.complete?.get('ListItems')).toBe('0');
  });

  it('rejects with AMI_LIST_MISMATCH when ListItems disagrees with the items received', async () => {
    const fake = await startFake();
    fake.onAction('PJSIPShowEndpoints', (action, session) => {
      session.sendList(action, 'EndpointList', [{ ObjectName: '100' }], { completeFields: {} });
      // A second, lying list: one item, ListItems 3.
    });
    fake.onAction('Lying', (action, session) => {
      const id = action.get('ActionID');
      session.write(`Response: Success\r\nActionID: ${id}\r\nEventList: start\r\n\r\n`);
      session.write(`Event: Item\r\nActionID: ${id}\r\n\r\n`);
      session.write(`Event: LyingComplete\r\nActionID: ${id}\r\nEventList: Complete\r\nListItems: 3\r\n\r\n`);
    });
    const client = await connected(fake);
    expect((await client.actionList({ Action: 'PJSIPShowEndpoints' })).events).toHaveLength(1);
    const err = await rejectionOf(client.actionList({ Action: 'Lying' }));
    expect(err).toBeInstanceOf(AmiProtocolError);
    expect((err as AmiProtocolError).code).toBe('AMI_LIST_MISMATCH');
  });

  it('times out a list that never completes, as a whole', async () => {
    const fake = await startFake();
    fake.onAction('Endless', (action, session) => {
      const id = action.get('ActionID');
      session.write(`Response: Success\r\nActionID: ${id}\r\nEventList: start\r\n\r\n`);
      session.write(`Event: Item\r\nActionID: ${id}\r\n\r\n`);
    });
    const client = await connected(fake);
    const err = await rejectionOf(client.actionList({ Action: 'Endless' }, { timeoutMs: 50 }));
    expect(err).toBeInstanceOf(AmiTimeoutError);
    expect((await client.action({ Action: 'Ping' })).get('Ping')).toBe('Pong');
  });

  it('rejects a cancelled list with AmiActionError', async () => {
    const fake = await startFake();
    fake.onAction('Cancelled', (action, session) => {
      const id = action.get('ActionID');
      session.write(`Response: Success\r\nActionID: ${id}\r\nEventList: start\r\n\r\n`);
      session.write(`Event: CancelledComplete\r\nActionID: ${id}\r\nEventList: Cancelled\r\n\r\n`);
    });
    const client = await connected(fake);
    const err = await rejectionOf(client.actionList({ Action: 'Cancelled' }));
    expect(err).toBeInstanceOf(AmiActionError);
    expect(err.message).toContain('cancelled');
  });

  it('resolves with no items when the action answers without a list', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const list = await client.actionList({ Action: 'Ping' });
    expect(list.events).toEqual([]);
    expect(list.complete).toBeUndefined();
  });
});

describe('AmiClient.command', () => {
  it('returns the captured core show version output', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const expected = new AmiParser()
      .feed(rx('09-command-core-show-version'))
      .find((m) => m.actionId === 'cmd-1')
      ?.get('Output');
    expect(await client.command('core show version')).toBe(expected);
  });

  it('joins multi-line output keeping empty lines and leading spaces', async () => {
    const fake = await startFake();
    fake.onAction('Command', (action, session) => {
      session.write(capturedExchange('10-command-multiline', 'cmd-dp', action.get('ActionID') ?? ''));
    });
    const client = await connected(fake);
    const out = await client.command('dialplan show test-context');
    const lines = out.split('\n');
    expect(lines).toHaveLength(17);
    expect(lines[0]).toBe("[ Context 'test-context' created by 'pbx_config' ]");
    expect(lines[2]?.startsWith('                    2. Answer()')).toBe(true);
    expect(lines[15]).toBe('');
  });

  it('accepts the pre-Asterisk-14 Response: Follows form', async () => {
    const fake = await startFake();
    fake.onAction('Command', (action, session) => {
      session.write(
        `Response: Follows\r\nPrivilege: Command\r\nActionID: ${action.get('ActionID')}\r\n` +
          'Channel              Location\n0 active channels\n\n--END COMMAND--\r\n\r\n',
      );
    });
    const client = await connected(fake);
    expect(await client.command('core show channels')).toBe(
      'Channel              Location\n0 active channels\n',
    );
  });

  it('rejects an unknown command with AmiActionError whose message is the CLI output', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const err = await rejectionOf(client.command('core show nonsense'));
    expect(err).toBeInstanceOf(AmiActionError);
    expect(err.message).toContain("No such command 'core show nonsense'");
  });
});

describe('AmiClient.originate', () => {
  it('resolves on the OriginateResponse event of its own ActionID', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const result = await client.originate({
      Channel: 'Local/100@test-context',
      Context: 'test-context',
      Exten: 200,
      Priority: 1,
      CallerID: 'PBXKit Test <5550100>',
      Variable: { PBXKIT_RUN: 'capture-28', FOO: 'bar' },
    });
    expect(result.response.get('Message')).toBe('Originate successfully queued');
    expect(result.event?.name).toBe('OriginateResponse');
    expect(result.event?.get('Response')).toBe('Success');
    expect(result.event?.get('CallerIDNum')).toBe('5550100');
    const sent = fake.actions.at(-1) as AmiMessage;
    expect(sent.get('Async')).toBe('true');
    expect(sent.getAll('Variable')).toEqual(['PBXKIT_RUN=capture-28', 'FOO=bar']);
  });

  it('still resolves when the OriginateResponse overtakes the response', async () => {
    const fake = await startFake();
    fake.onAction('Originate', (action, session) => {
      session.event('OriginateResponse', [
        ['ActionID', action.get('ActionID') ?? ''],
        ['Response', 'Success'],
        ['Uniqueid', '1700000000.7'],
      ]);
      session.respond(action, undefined, 'Originate successfully queued');
    });
    const client = await connected(fake);
    const result = await client.originate({ Channel: 'PJSIP/100', Application: 'Wait', Data: '1' });
    expect(result.event?.get('Uniqueid')).toBe('1700000000.7');
  });

  it('rejects a failed call with AmiActionError naming the reason', async () => {
    const fake = await startFake();
    fake.onAction('Originate', (action, session) => {
      session.respond(action, undefined, 'Originate successfully queued');
      session.event('OriginateResponse', [
        ['ActionID', action.get('ActionID') ?? ''],
        ['Response', 'Failure'],
        ['Channel', 'PJSIP/486'],
        ['Reason', '5'],
      ]);
    });
    const client = await connected(fake);
    const err = await rejectionOf(client.originate({ Channel: 'PJSIP/486', Application: 'Wait', Data: '1' }));
    expect(err).toBeInstanceOf(AmiActionError);
    expect(err.message).toContain('busy');
  });
});
