import { afterEach, describe, expect, it } from 'vitest';
import { EslCommandError, type EslEvent, EslServer, type EslSession } from '../src/index.js';
import { FakeFreeSwitch } from '../src/testing/index.js';
import { eslFixture } from './fixtures.js';
import { StreamReplayer } from './replay.js';

describe('EslServer (outbound mode)', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function serve(handler: (session: EslSession) => Promise<void>) {
    const server = new EslServer({ port: 0 }, handler);
    const { port } = await server.listen();
    cleanup.push(() => server.close(100));
    return { server, port };
  }

  it('replays the captured FreeSWITCH 1.10.12 session: channel data, execute with event-lock, api, linger, hang-up', async () => {
    const seen: {
      session?: EslSession;
      played?: EslEvent;
      variable?: string;
      notice?: Record<string, string>;
    } = {};
    const afterNotice: string[] = [];
    const { port } = await serve(async (call) => {
      seen.session = call;
      call.on('disconnectNotice', (headers) => {
        seen.notice = headers;
        call.on('event', (e) => afterNotice.push(e.name));
      });
      await call.myevents();
      await call.linger();
      await call.execute('answer', undefined, { wait: false });
      seen.played = await call.execute('playback', 'tone_stream://%(1000,0,440);loops=2', {
        uuid: call.uuid,
        eventLock: true,
        eventUuid: 'pbxkit-playback-1',
      });
      seen.variable = await call.api(`uuid_getvar ${call.uuid} pbxkit_test`);
      await call.execute('set', 'pbxkit_outbound=done', { wait: false });
      await call.hangup('NORMAL_CLEARING');
      await call.ended;
    });
    const replayer = new StreamReplayer(eslFixture('30-outbound-async-full-linger.txt'));
    await replayer.dialOutbound(port);
    await seen.session?.ended;

    const session = seen.session as EslSession;
    expect(session.uuid).toBe('64ce262a-bd63-49a6-bf7c-c39021694cbc');
    expect(session.channelData.headers['Channel-Callee-ID-Name']).toBe('Outbound Call');
    expect(session.channelData.headers['Socket-Mode']).toBe('async');
    expect(session.variable('socket_host')).toBe('127.0.0.1');
    expect(seen.played?.headers['Application-Response']).toBe('FILE PLAYED');
    expect(seen.played?.headers['Application-Data']).toBe('tone_stream://%(1000,0,440);loops=2');
    expect(seen.variable).toBe('outbound-socket');
    expect(seen.notice?.['Content-Disposition']).toBe('linger');
    expect(afterNotice).toEqual(['CHANNEL_HANGUP_COMPLETE']);
    // The commands sent are the ones the real client sent in the capture.
    const sentLines = eslFixture('30-outbound-async-full-linger.sent')
      .toString()
      .split('\n\n')
      .filter(Boolean)
      .map((block) => block.split('\n')[0]);
    expect(replayer.commands.map((c) => c.headerText.split('\n')[0])).toEqual(sentLines);
    const playback = replayer.commands[4];
    expect(playback?.header('execute-app-arg')).toBe('tone_stream://%(1000,0,440);loops=2');
    expect(playback?.header('event-lock')).toBe('true');
  });

  it('drives a call from FakeFreeSwitch: events, execute, hang-up, and session end', async () => {
    const fake = await FakeFreeSwitch.start();
    cleanup.push(() => fake.stop());
    fake.onApp('read', (arg) => `digits for ${arg}`);
    const results: string[] = [];
    const ended: Promise<void>[] = [];
    const { server, port } = await serve(async (call) => {
      ended.push(call.ended);
      await call.myevents();
      await call.linger();
      results.push(call.channelData.headers['Caller-Caller-ID-Number'] ?? '');
      const read = await call.execute('read', '1 4 prompt.wav', { eventLock: true });
      results.push(read?.headers['Application-Response'] ?? '');
      await expect(call.myevents()).rejects.toBeInstanceOf(EslCommandError);
      await call.hangup('USER_BUSY');
    });
    const call = await fake.callOutbound({ port }, { callerIdNumber: '5551234' });
    await call.closed;
    await Promise.all(ended);
    expect(results).toEqual(['5551234', 'digits for 1 4 prompt.wav']);
    expect(server.activeSessions).toBe(0);
    expect(fake.received.filter((r) => r.peer === call.peer).map((r) => r.command)).toEqual([
      'connect',
      'myevents',
      'linger',
      'sendmsg',
      'myevents',
      'sendmsg',
    ]);
  });

  it('closes a lingering call when its handler returns, as FreeSWITCH keeps the socket and the channel until then', async () => {
    // Real FreeSWITCH 1.10.12: after `linger` without seconds (Linger-Time: -1) the b-leg stayed in
    // `show channels` and the session stayed open until the client closed the socket.
    const fake = await FakeFreeSwitch.start();
    cleanup.push(() => fake.stop());
    const notices: Array<Record<string, string>> = [];
    const ended: Array<Promise<void>> = [];
    const { server, port } = await serve(async (call) => {
      ended.push(call.ended);
      call.on('disconnectNotice', (headers) => notices.push(headers));
      await call.myevents();
      await call.linger();
      await call.execute('answer');
      const complete = new Promise<EslEvent>((resolve) => call.onEvent('CHANNEL_HANGUP_COMPLETE', resolve));
      await call.hangup();
      await complete;
    });
    const call = await fake.callOutbound({ port });
    await call.closed;
    await Promise.all(ended);
    expect(notices[0]?.['Linger-Time']).toBe('-1');
    expect(server.activeSessions).toBe(0);
    expect(fake.channels.has(call.uuid)).toBe(false);
  });

  it('FakeFreeSwitch keeps a lingering socket and its channel after the hang-up, until the client closes it', async () => {
    const fake = await FakeFreeSwitch.start();
    cleanup.push(() => fake.stop());
    const server = new EslServer({ port: 0 });
    const { port } = await server.listen();
    cleanup.push(() => server.close(100));
    const sessions = new Promise<EslSession>((resolve) => server.once('session', resolve));
    const call = await fake.callOutbound({ port });
    const session = await sessions;
    await session.myevents();
    await session.linger();
    const complete = new Promise<EslEvent>((resolve) => session.onEvent('CHANNEL_HANGUP_COMPLETE', resolve));
    await session.hangup();
    await complete;
    // Replies come in order after the events written before them: the socket is still usable.
    expect(await session.api('uptime')).toMatch(/^\d+\n$/);
    expect(call.peer.isOpen).toBe(true);
    expect(fake.channels.has(call.uuid)).toBe(true);
    expect(server.activeSessions).toBe(1);
    await session.close();
    await Promise.all([call.closed, session.ended]);
    expect(fake.channels.has(call.uuid)).toBe(false);
    expect(server.activeSessions).toBe(0);
  });

  it('a handler error closes that call and is reported; the server keeps serving', async () => {
    const fake = await FakeFreeSwitch.start();
    cleanup.push(() => fake.stop());
    let calls = 0;
    const { server, port } = await serve(async () => {
      calls++;
      if (calls === 1) throw new Error('handler bug');
    });
    const errors: Error[] = [];
    server.on('error', (err) => errors.push(err));
    const first = await fake.callOutbound({ port });
    await first.closed;
    expect(errors.map((e) => e.message)).toEqual(['handler bug']);
    const secondSession = new Promise<EslSession>((resolve) => server.once('session', resolve));
    const second = await fake.callOutbound({ port }, { callerIdNumber: '2000' });
    expect((await secondSession).channelData.headers['Caller-Caller-ID-Number']).toBe('2000');
    expect(second.peer.isOpen).toBe(true);
  });
});
