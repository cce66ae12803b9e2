import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EslAuthError, EslClient, EslCommandError, type EslEvent } from '../src/index.js';
import { eslFixture } from './fixtures.js';
import { StreamReplayer } from './replay.js';

describe('EslClient against the captured bytes of FreeSWITCH 1.10.12', () => {
  const servers: Server[] = [];
  const clients: EslClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const s of servers.splice(0)) s.close();
  });

  async function replay(name: string, password = 'ClueCon') {
    const replayer = new StreamReplayer(eslFixture(`${name}.txt`));
    const { port, server } = await replayer.serveInbound();
    servers.push(server);
    const client = new EslClient({ port, password, reconnect: false });
    clients.push(client);
    return { client, replayer };
  }

  it('04 api status: the body and its parsed figures', async () => {
    const { client } = await replay('04-api-status');
    await client.connect();
    const status = await client.status();
    expect(status.uptimeMs).toBe(26_385);
    expect(status.version).toBe('1.10.12-release git a88d069 2024-08-02 21:02:27Z 64bit');
    expect(status.sessionsSinceStartup).toBe(2);
    expect(status.sessions).toEqual({ current: 0, peak: 2, peakLast5Min: 2 });
    expect(status.sessionsPerSecond).toEqual({ current: 0, max: 30, peak: 2, peakLast5Min: 2 });
    expect(status.minIdleCpu).toEqual({ current: 0, allowed: 95.73 });
  });

  it('03 wrong password: EslAuthError', async () => {
    const { client } = await replay('03-auth-wrong-password', 'WrongPassword');
    await expect(client.connect()).rejects.toBeInstanceOf(EslAuthError);
  });

  it('10 api errors: EslCommandError with FreeSWITCH text', async () => {
    const { client } = await replay('10-api-bogus-command');
    await client.connect();
    await expect(client.api('bogus_command')).rejects.toThrow('bogus_command Command not found!');
    const err = await client.api('uuid_kill 00000000-0000-0000-0000-000000000000').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EslCommandError);
    expect((err as EslCommandError).reply).toBe('No such channel!');
  });

  it('05/06 show channels as json: [] when idle, typed rows during calls', async () => {
    const idle = await replay('05-api-show-channels-as-json-idle');
    await idle.client.connect();
    expect(await idle.client.showChannels()).toEqual([]);
    const active = await replay('06-api-show-channels-as-json-active');
    await active.client.connect();
    const rows = await active.client.showChannels();
    expect(rows).toHaveLength(4);
    expect(rows[0]?.application_data).toBe('tone_stream://%(1000,1000,440);loops=60');
    expect(rows.map((r) => r.direction)).toEqual(['inbound', 'outbound', 'outbound', 'inbound']);
  });

  it('12 event plain ALL: every event of a real call, in order', async () => {
    const { client } = await replay('12-event-plain-all-during-call');
    await client.connect();
    const names: string[] = [];
    const ended = new Promise<void>((resolve) => client.once('disconnected', () => resolve()));
    client.on('event', (e) => names.push(e.name));
    await client.subscribe('ALL');
    await ended;
    expect(names).toHaveLength(76);
    expect(names.slice(0, 3)).toEqual(['CODEC', 'CODEC', 'CHANNEL_UUID']);
    expect(names).toContain('CHANNEL_HANGUP_COMPLETE');
  });

  it('13 event json: JSON events decode, BACKGROUND_JOB body included', async () => {
    const { client } = await replay('13-event-json-during-call');
    await client.connect();
    const events: EslEvent[] = [];
    const ended = new Promise<void>((resolve) => client.once('disconnected', () => resolve()));
    client.on('event', (e) => events.push(e));
    await client.subscribe(
      [
        'CHANNEL_CREATE',
        'CHANNEL_ANSWER',
        'CHANNEL_HANGUP_COMPLETE',
        'BACKGROUND_JOB',
        'HEARTBEAT',
        'CUSTOM',
      ],
      { format: 'json' },
    );
    await client.sendRaw('bgapi status');
    await ended;
    const job = events.find((e) => e.headers['Job-Command'] === 'originate');
    expect(job?.body).toBe('+OK a1b2c3d4-0000-4000-8000-000000000713\n');
    expect(events.map((e) => e.name)).toContain('HEARTBEAT');
  });

  it('18 exit: +OK bye, the disconnect notice, then the socket closes', async () => {
    const { client } = await replay('18-exit-disconnect-notice');
    await client.connect();
    const notice = new Promise<Record<string, string>>((resolve) => client.once('disconnectNotice', resolve));
    const disconnected = new Promise<void>((resolve) => client.once('disconnected', () => resolve()));
    await client.exit();
    expect((await notice)['Content-Type']).toBe('text/disconnect-notice');
    await disconnected;
    expect(client.state).toBe('idle'); // the replay runs without reconnection
  });
});
