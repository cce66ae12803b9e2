import { AmiConnectionError, type AmiMessage, AmiTimeoutError } from '@pbxkit/ami';
import { TimeoutError } from '@pbxkit/core';
import { describe, expect, it } from 'vitest';
import { rx } from './fixtures.js';
import { clientFor, connected, newRegistry, rejectionOf, startFake } from './helpers.js';

/** The events of a capture, as raw wire blocks (everything after the banner that starts with `Event:`). */
function capturedEvents(name: string): string {
  return rx(name)
    .toString('utf8')
    .split('\r\n\r\n')
    .filter((block) => block.startsWith('Event: ') && !block.includes('\r\nActionID: '))
    .map((block) => `${block}\r\n\r\n`)
    .join('');
}

describe('AmiClient events', () => {
  it('emits every broadcast event, per-name listeners match any case', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const all: string[] = [];
    const varsets: AmiMessage[] = [];
    client.on('event', (e) => all.push(e.name));
    const off = client.onEvent('varset', (e) => varsets.push(e));
    const session = [...fake.sessions][0];
    session?.write(capturedEvents('28-originate-async-success'));
    await client.action({ Action: 'Ping' });
    expect(all.length).toBeGreaterThan(30);
    expect(all).toContain('Newchannel');
    expect(varsets.map((e) => `${e.get('Variable')}=${e.get('Value')}`)).toContain('FOO=bar');
    off();
    session?.write(capturedEvents('28-originate-async-success'));
    const countBefore = varsets.length;
    await client.action({ Action: 'Ping' });
    expect(varsets.length).toBe(countBefore);
  });

  it('keeps delivering when a listener throws, reporting the throw as an error event', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const errors: Error[] = [];
    const seen: string[] = [];
    client.on('error', (err) => errors.push(err));
    client.onEvent('Bad', () => {
      throw new Error('listener bug');
    });
    // The login's FullyBooted and SuccessfulAuth may arrive after connect() resolved: leave them out.
    client.on('event', (e) => (e.name === 'Bad' || e.name === 'Good') && seen.push(e.name));
    fake.emitEvent('Bad');
    fake.emitEvent('Good');
    await client.action({ Action: 'Ping' });
    expect(seen).toEqual(['Bad', 'Good']);
    expect(errors.map((e) => e.message)).toEqual(['listener bug']);
  });

  it('streams events through an async iterator, filtered by name, ending on close', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const stream = client.events({ names: ['Hangup', 'Newchannel'] });
    fake.emitEvent('Newchannel', { Channel: 'PJSIP/100-1' });
    fake.emitEvent('VarSet', { Variable: 'X' });
    fake.emitEvent('Hangup', { Channel: 'PJSIP/100-1', Cause: 16 });
    const seen: string[] = [];
    for await (const e of stream) {
      seen.push(`${e.name}:${e.get('Channel')}`);
      if (e.name === 'Hangup') break;
    }
    expect(seen).toEqual(['Newchannel:PJSIP/100-1', 'Hangup:PJSIP/100-1']);

    const second = client.events();
    fake.emitEvent('PeerStatus', { Peer: 'PJSIP/100' });
    const first = await second.next();
    expect(first.value?.name).toBe('PeerStatus');
    await client.close();
    expect(await second.next()).toEqual({ value: undefined, done: true });
  });

  it('bounds a slow consumer’s queue with drop-oldest by default', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const stream = client.events({ capacity: 3 });
    for (let i = 0; i < 10; i++) fake.emitEvent('UserEvent', { UserEvent: `n${i}` });
    await client.action({ Action: 'Ping' });
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push((await stream.next()).value?.get('UserEvent') ?? '');
    expect(got).toEqual(['n7', 'n8', 'n9']);
  });

  it('counts actions, latency, events by name and reconnects in the registry', async () => {
    const registry = newRegistry();
    const fake = await startFake();
    const client = await connected(fake, { registry });
    fake.emitEvent('Newchannel', {});
    fake.emitEvent('Newchannel', {});
    await client.action({ Action: 'Ping' });
    await rejectionOf(client.action({ Action: 'Nope' }));
    const reconnected = new Promise((resolve) => client.once('connected', resolve));
    fake.dropConnections();
    await reconnected;
    const text = await registry.metrics();
    expect(text).toContain('pbxkit_ami_actions_total{action="Ping",result="success"} 1');
    expect(text).toContain('pbxkit_ami_actions_total{action="Nope",result="error"} 1');
    expect(text).toContain('pbxkit_ami_action_duration_seconds_count{action="Ping"} 1');
    expect(text).toContain('pbxkit_ami_events_total{event="Newchannel"} 2');
    expect(text).toContain('pbxkit_ami_reconnects_total 1');
  });
});

describe('AmiClient.setEvents', () => {
  it('turns events off and on, and logs in with the last choice after a reconnection', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const seen: string[] = [];
    client.onEvent('UserEvent', (e) => seen.push(e.get('N') ?? ''));
    await client.setEvents('off');
    fake.emitEvent('UserEvent', { N: 'while off' });
    await client.setEvents(['call', 'user']);
    fake.emitEvent('UserEvent', { N: 'while on' });
    await client.setEvents('off');
    const back = new Promise((resolve) => client.once('connected', resolve));
    fake.dropConnections();
    await back;
    fake.emitEvent('UserEvent', { N: 'after reconnect' });
    await client.action({ Action: 'Ping' });
    expect(seen).toEqual(['while on']);
    expect(fake.actions.filter((a) => a.name === 'Events').map((a) => a.get('EventMask'))).toEqual([
      'off',
      'call,user',
      'off',
    ]);
    expect(fake.actions.filter((a) => a.name === 'Login').map((a) => a.get('Events'))).toEqual(['on', 'off']);
  });
});

describe('AmiClient metrics shared by clients', () => {
  it('sums the event counts of clients sharing a registry, without counting twice across scrapes', async () => {
    const registry = newRegistry();
    const fake = await startFake();
    const a = await connected(fake, { registry });
    const b = await connected(fake, { registry });
    fake.emitEvent('PeerStatus', { Peer: 'PJSIP/100' });
    await Promise.all([a.action({ Action: 'Ping' }), b.action({ Action: 'Ping' })]);
    expect(await registry.metrics()).toContain('pbxkit_ami_events_total{event="PeerStatus"} 2');
    expect(await registry.metrics()).toContain('pbxkit_ami_events_total{event="PeerStatus"} 2');
    fake.emitEvent('PeerStatus', { Peer: 'PJSIP/100' });
    await Promise.all([a.action({ Action: 'Ping' }), b.action({ Action: 'Ping' })]);
    expect(await registry.metrics()).toContain('pbxkit_ami_events_total{event="PeerStatus"} 4');
  });
});

describe('AmiClient connection life', () => {
  it('reconnects with backoff after a drop, logs in again and serves actions', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const reconnecting: number[] = [];
    client.on('reconnecting', (info) => reconnecting.push(info.attempt));
    const back = new Promise<{ reconnected: boolean }>((resolve) => client.once('connected', resolve));
    const disconnected = new Promise((resolve) => client.once('disconnected', resolve));
    fake.dropConnections();
    await disconnected;
    expect(client.state).toBe('reconnecting');
    expect(await rejectionOf(client.action({ Action: 'Ping' }))).toBeInstanceOf(AmiConnectionError);
    expect((await back).reconnected).toBe(true);
    expect(reconnecting[0]).toBe(1);
    expect(fake.actions.filter((a) => a.name === 'Login')).toHaveLength(2);
    const pong = await client.action({ Action: 'Ping' });
    expect(pong.actionId?.startsWith(`${client.clientId}-2-`)).toBe(true);
  });

  it('makes connect() during a reconnection wait for it instead of opening a second connection', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const disconnected = new Promise((resolve) => client.once('disconnected', resolve));
    fake.dropConnections();
    await disconnected;
    await client.connect();
    expect(client.state).toBe('connected');
    expect(fake.actions.filter((a) => a.name === 'Login')).toHaveLength(2);
    expect(fake.sessions.size).toBe(1);
  });

  it('keeps retrying while the server is away and reports each failure with the next attempt', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    const failures: unknown[] = [];
    let refuse = 2;
    fake.on('session', (session) => {
      if (refuse-- > 0) session.destroy();
    });
    client.on('reconnecting', (info) => {
      if (info.attempt > 1) failures.push(info.error);
    });
    const back = new Promise((resolve) => client.once('connected', resolve));
    fake.dropConnections();
    await back;
    expect(failures.length).toBe(2);
    expect(failures.every((e) => e instanceof AmiConnectionError)).toBe(true);
  });

  it('pings to keep alive and drops a connection whose ping goes unanswered', async () => {
    const fake = await startFake();
    let answer = true;
    fake.onAction('Ping', (action, session) => {
      if (answer) session.respond(action, { Ping: 'Pong' });
    });
    const client = await connected(fake, { keepalive: { intervalMs: 50, timeoutMs: 100 } });
    await fake.nextAction('Ping');
    answer = false;
    const dropped = new Promise<Error | undefined>((resolve) => client.once('disconnected', resolve));
    const err = await dropped;
    expect(err).toBeInstanceOf(AmiTimeoutError);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err?.message).toContain('keepalive');
    answer = true;
    await new Promise((resolve) => client.once('connected', resolve));
    expect(client.state).toBe('connected');
    expect(fake.actions.filter((a) => a.name === 'Login').length).toBeGreaterThanOrEqual(2);
  });

  it('keeps a healthy connection whose Asterisk is busy with a slow synchronous action', async () => {
    // Asterisk runs one session's actions one after the other: a Ping sent while a synchronous Originate
    // rings waits behind it. Real server: ringing 8 s with keepaliveMs 2000 was dropped at ~4 s.
    const fake = await startFake();
    fake.onAction('Originate', async (action, session) => {
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the phone rings for a second
      session.respond(action, undefined, 'Originate successfully queued');
    });
    const client = await connected(fake, { keepalive: { intervalMs: 100, timeoutMs: 50 } });
    const drops: unknown[] = [];
    client.on('disconnected', (err) => drops.push(err));
    const answer = await client.action(
      { Action: 'Originate', Channel: 'PJSIP/100', Application: 'Wait', Data: '1', Async: false },
      { timeoutMs: 10_000 },
    );
    expect(answer.get('Message')).toBe('Originate successfully queued');
    expect(drops).toEqual([]);
    expect(client.state).toBe('connected');
    await fake.nextAction('Ping'); // idle again: the keepalive still probes
  });

  it('still emits the deprecated connect and disconnect events', async () => {
    const fake = await startFake();
    const client = clientFor(fake);
    const seen: string[] = [];
    client.on('connect', (info) => seen.push(`connect ${info.reconnected}`));
    client.on('disconnect', () => seen.push('disconnect'));
    await client.connect();
    const back = new Promise((resolve) => client.once('connected', resolve));
    fake.dropConnections();
    await back;
    expect(seen).toEqual(['connect false', 'disconnect', 'connect true']);
  });

  it('logs off gracefully on close and then refuses actions', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    await client.close();
    expect(fake.actions.at(-1)?.name).toBe('Logoff');
    expect(client.state).toBe('closed');
    expect(await rejectionOf(client.action({ Action: 'Ping' }))).toBeInstanceOf(AmiConnectionError);
    await client.close();
  });

  it('drops the connection on a protocol violation instead of buffering without bound', async () => {
    const fake = await startFake();
    const client = await connected(fake, { maxMessageBytes: 4096, reconnect: false });
    const disconnected = new Promise<Error | undefined>((resolve) => client.once('disconnected', resolve));
    [...fake.sessions][0]?.write(`Event: Flood\r\nData: ${'x'.repeat(10_000)}`);
    const err = await disconnected;
    expect(err?.name).toBe('AmiProtocolError');
    expect(client.state).toBe('idle');
  });
});
