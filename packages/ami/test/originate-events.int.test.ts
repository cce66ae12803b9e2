import type { AmiClientOptions, AmiMessage } from '@pbxkit/ami';
import { describe, expect, it } from 'vitest';
import { connected, startFake } from './helpers.js';

const CALL = { Channel: 'Local/100@test-context', Context: 'test-context', Exten: 200, Priority: 1 };

// Well under originate's own 40 s: without the fix these calls wait for an event that never comes.
const LIMIT = { timeoutMs: 5_000 };

/** Every event `client` receives from now on. */
function eventsOf(client: { on(e: 'event', fn: (m: AmiMessage) => void): unknown }): string[] {
  const names: string[] = [];
  client.on('event', (m) => names.push(m.name));
  return names;
}

describe('AmiClient.originate on a connection without call events', () => {
  const masks: Array<AmiClientOptions['events']> = ['off', ['system'], ['system', 'agent']];
  for (const events of masks) {
    it(`resolves on "Originate successfully queued" when logged in with events ${JSON.stringify(events)}`, async () => {
      const fake = await startFake();
      const client = await connected(fake, { events });
      const seen = eventsOf(client);
      const result = await client.originate(CALL, LIMIT);
      expect(result.response.get('Message')).toBe('Originate successfully queued');
      expect(result.event).toBeUndefined();
      // The call went out as an async originate all the same.
      expect(fake.actions.at(-1)?.get('Async')).toBe('true');
      await client.action({ Action: 'Ping' });
      expect(seen).not.toContain('OriginateResponse');
    });
  }

  it('still waits for OriginateResponse when the mask holds call events', async () => {
    const fake = await startFake();
    const client = await connected(fake, { events: ['system', 'call'] });
    const result = await client.originate(CALL, LIMIT);
    expect(result.event?.get('Response')).toBe('Success');
  });

  it('follows setEvents and raw Events actions', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    await client.setEvents(['system']);
    expect((await client.originate(CALL, LIMIT)).event).toBeUndefined();
    await client.action({ Action: 'Events', EventMask: 'call,system' });
    expect((await client.originate(CALL, LIMIT)).event?.name).toBe('OriginateResponse');
    await client.action({ Action: 'Events', EventMask: 'off' });
    expect((await client.originate(CALL, LIMIT)).event).toBeUndefined();
    // A reconnection logs in with the mask last asked for.
    const back = new Promise((resolve) => client.once('connect', resolve));
    fake.dropConnections();
    await back;
    expect(fake.actions.filter((a) => a.name === 'Login').map((a) => a.get('Events'))).toEqual(['on', 'off']);
    expect((await client.originate(CALL, LIMIT)).event).toBeUndefined();
  });

  it('releases an originate in flight when call events are turned off', async () => {
    const fake = await startFake();
    // A call still ringing: queued, no OriginateResponse yet.
    fake.onAction('Originate', (action, session) => {
      session.respond(action, undefined, 'Originate successfully queued');
    });
    const client = await connected(fake);
    const queued = fake.nextAction('Originate');
    const call = client.originate(CALL, LIMIT);
    await queued;
    await client.setEvents('off');
    const result = await call;
    expect(result.response.get('Message')).toBe('Originate successfully queued');
    expect(result.event).toBeUndefined();
  });

  it('does not wait with waitForEvent: false, for a user whose read= lacks call', async () => {
    const fake = await startFake({
      users: { dialer: { secret: 'pw', read: 'system', write: 'originate' } },
    });
    const client = await connected(fake, { username: 'dialer', secret: 'pw' });
    const result = await client.originate(CALL, { ...LIMIT, waitForEvent: false });
    expect(result.response.get('Message')).toBe('Originate successfully queued');
    expect(result.event).toBeUndefined();
  });
});
