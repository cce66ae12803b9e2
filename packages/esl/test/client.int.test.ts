import { createServer } from 'node:net';
import { Registry, TimeoutError } from '@pbxkit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EslAccessDeniedError,
  EslAuthError,
  EslClient,
  type EslClientEvents,
  type EslClientOptions,
  EslCommandError,
  EslConnectionError,
  type EslEvent,
  EslInvalidCommandError,
  EslProtocolError,
  EslTimeoutError,
} from '../src/index.js';
import { FakeFreeSwitch } from '../src/testing/index.js';

function once<K extends keyof EslClientEvents>(
  client: EslClient,
  event: K,
): Promise<Parameters<EslClientEvents[K]>> {
  return new Promise((resolve) => {
    const listener = (...args: Parameters<EslClientEvents[K]>) => resolve(args);
    client.once(event, listener as never);
  });
}

describe('EslClient against FakeFreeSwitch over loopback TCP', () => {
  let fake: FakeFreeSwitch;
  const clients: EslClient[] = [];
  const client = (options: Partial<EslClientOptions> = {}) => {
    const c = new EslClient({ port: fake.port, password: 'ClueCon', ...options });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    fake = await FakeFreeSwitch.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await fake.stop();
  });

  it('connects, authenticates and runs api commands', async () => {
    const c = client();
    await c.connect();
    expect(c.state).toBe('connected');
    expect(await c.api('version')).toMatch(/^FreeSWITCH Version 1\.10/);
    const status = await c.status();
    expect(status.ready).toBe(true);
    expect(status.maxSessions).toBe(1000);
    expect(fake.received.map((r) => r.command)).toEqual(['auth ClueCon', 'api version', 'api status']);
  });

  it('userauth with user@domain', async () => {
    await fake.stop();
    fake = await FakeFreeSwitch.start({ users: { '1000@example.com': 'pw' } });
    const c = client({ user: '1000@example.com', password: 'pw' });
    await c.connect();
    expect(fake.received[0]?.command).toBe('userauth 1000@example.com:pw');
  });

  it('a wrong password rejects with EslAuthError at once, and is not retried', async () => {
    const c = client({ password: 'WrongPassword' });
    const err = await c.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EslAuthError);
    expect((err as EslAuthError).code).toBe('ESL_AUTH');
    expect(fake.received.filter((r) => r.command.startsWith('auth'))).toHaveLength(1);
  });

  it('an ACL refusal (text/rude-rejection) rejects with EslAccessDeniedError', async () => {
    await fake.stop();
    fake = await FakeFreeSwitch.start({ rejectAll: true });
    await expect(client().connect()).rejects.toBeInstanceOf(EslAccessDeniedError);
  });

  it('an unreachable server rejects with EslConnectionError', async () => {
    const port = fake.port;
    await fake.stop();
    const c = new EslClient({ port, password: 'x' });
    const err = await c.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EslConnectionError);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
  });

  it('a server that never asks for auth makes connect time out with EslTimeoutError', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const c = new EslClient({ port, password: 'x', connectTimeoutMs: 100 });
    await expect(c.connect()).rejects.toBeInstanceOf(EslTimeoutError);
    silent.close();
  });

  it('api errors reject with EslCommandError carrying FreeSWITCH text', async () => {
    const c = client();
    await c.connect();
    const err = (await c.api('bogus_command').catch((e: unknown) => e)) as EslCommandError;
    expect(err).toBeInstanceOf(EslCommandError);
    expect(err.reply).toBe('bogus_command Command not found!');
    expect(err.code).toBe('ESL_COMMAND');
    // the connection is still usable
    expect(await c.api('uptime')).toMatch(/^\d+\n$/);
  });

  it('pipelines 100 api calls in flight and routes every reply to its caller', async () => {
    fake.onApi('echo', (args) => `${args}\n`);
    const c = client();
    await c.connect();
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => c.api(`echo ${i}`)));
    expect(answers).toEqual(Array.from({ length: 100 }, (_, i) => `${i}\n`));
  });

  it('bgapi resolves each job with its own BACKGROUND_JOB, even when jobs finish out of order', async () => {
    const release: Array<() => void> = [];
    fake.onApi('slow', (args) => new Promise((resolve) => release.push(() => resolve(`+OK ${args}\n`))));
    const c = client();
    await c.connect();
    const first = c.bgapi('slow one');
    const second = c.bgapi('slow two');
    await fake.waitForCommand(/^bgapi slow two/);
    // the jobs run in the background: other commands still answer
    expect(await c.api('uptime')).toMatch(/^\d+/);
    release[1]?.();
    expect(await second).toBe('+OK two\n');
    release[0]?.();
    expect(await first).toBe('+OK one\n');
    expect(fake.received.some((r) => r.command === 'event plain BACKGROUND_JOB')).toBe(true);
  });

  it('bgapi of a failing command rejects with EslCommandError', async () => {
    const c = client();
    await c.connect();
    await expect(c.bgapi('bogus_command')).rejects.toBeInstanceOf(EslCommandError);
  });

  for (const format of ['plain', 'json', 'xml'] as const) {
    it(`delivers subscribed events in ${format}, to listeners, per-name listeners and iterators`, async () => {
      const c = client();
      await c.connect();
      await c.subscribe(['CHANNEL_ANSWER', 'CUSTOM', 'sofia::register'], { format });
      const iterator = c.events({ capacity: 10 });
      const byName: EslEvent[] = [];
      c.onEvent('sofia::register', (e) => byName.push(e));
      const received = once(c, 'event');
      fake.emitEvent('CHANNEL_ANSWER', { 'Unique-ID': 'u-1', 'Caller-Caller-ID-Name': 'José %d ☎' });
      const [event] = await received;
      expect(event.name).toBe('CHANNEL_ANSWER');
      expect(event.headers['Unique-ID']).toBe('u-1');
      expect(event.headers['Caller-Caller-ID-Name']).toBe('José %d ☎');
      fake.emitEvent('CHANNEL_HANGUP', { 'Unique-ID': 'u-1' }); // not subscribed: never delivered
      fake.emitEvent('CUSTOM', { 'Event-Subclass': 'sofia::register', from_user: '1000' });
      const first = await iterator.next();
      const second = await iterator.next();
      expect([first.value?.name, second.value?.name]).toEqual(['CHANNEL_ANSWER', 'CUSTOM']);
      expect(byName.map((e) => e.headers.from_user)).toEqual(['1000']);
    });
  }

  it('filters narrow the events delivered', async () => {
    const c = client();
    await c.connect();
    await c.subscribe('CHANNEL_ANSWER');
    await c.filter('Unique-ID', 'wanted');
    const seen: string[] = [];
    c.on('event', (e) => seen.push(e.headers['Unique-ID'] as string));
    fake.emitEvent('CHANNEL_ANSWER', { 'Unique-ID': 'other' });
    fake.emitEvent('CHANNEL_ANSWER', { 'Unique-ID': 'wanted' });
    await c.api('uptime'); // replies are ordered after the events written before them
    expect(seen).toEqual(['wanted']);
  });

  it('reconnects after a drop: rejects what was pending, re-authenticates and re-applies subscriptions and filters', async () => {
    const registry = new Registry();
    const c = client({ reconnect: { minMs: 1, maxMs: 5 }, registry });
    await c.connect();
    await c.subscribe(['CHANNEL_ANSWER'], { format: 'json' });
    await c.filter('Unique-ID', 'keep');
    const never = new Promise<string>(() => {});
    fake.onApi('hang', () => never);
    const pending = c.api('hang');
    const disconnected = once(c, 'disconnected');
    const reconnected = once(c, 'connected');
    await fake.waitForCommand('api hang');
    fake.dropConnections();
    await expect(pending).rejects.toBeInstanceOf(EslConnectionError);
    await disconnected;
    await expect(c.api('uptime')).rejects.toBeInstanceOf(EslConnectionError);
    await reconnected;
    const commands = fake.received.map((r) => r.command);
    expect(commands.slice(-3)).toEqual([
      'auth ClueCon',
      'event json CHANNEL_ANSWER',
      'filter Unique-ID keep',
    ]);
    const event = once(c, 'event');
    fake.emitEvent('CHANNEL_ANSWER', { 'Unique-ID': 'keep' });
    expect((await event)[0].headers['Unique-ID']).toBe('keep');
    expect(await registry.metrics()).toContain('pbxkit_esl_reconnects_total 1');
  });

  it('a command that times out rejects with EslTimeoutError and its late reply is not given to the next command', async () => {
    let release: (() => void) | undefined;
    fake.onApi('late', () => new Promise((resolve) => (release = () => resolve('LATE\n'))));
    fake.onApi('echo', (args) => `${args}\n`);
    const c = client();
    await c.connect();
    await expect(c.api('late', { timeoutMs: 20 })).rejects.toBeInstanceOf(EslTimeoutError);
    const next = c.api('echo next');
    release?.();
    expect(await next).toBe('next\n');
  });

  it('the keepalive drops a connection whose FreeSWITCH stopped answering, and reconnects', async () => {
    let hang = false;
    fake.onApi('status', () => (hang ? new Promise<string>(() => {}) : 'UP\n'));
    const c = client({ keepalive: { intervalMs: 10, timeoutMs: 30 }, reconnect: { minMs: 1, maxMs: 5 } });
    await c.connect();
    hang = true;
    const [err] = await once(c, 'disconnected');
    hang = false;
    expect(err).toBeInstanceOf(EslTimeoutError);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err?.message).toContain('keepalive');
    await once(c, 'connected');
    expect(c.state).toBe('connected');
  });

  it('the keepalive leaves alone a healthy connection whose FreeSWITCH is busy with a slow command', async () => {
    // FreeSWITCH answers one connection's commands in order: a probe sent during `api msleep` would wait
    // behind it. Real server: `api msleep 6000` with a 2000/1000 ms watchdog was dropped at ~3 s.
    const c = client({ keepalive: { intervalMs: 100, timeoutMs: 50 }, reconnect: { minMs: 1, maxMs: 5 } });
    await c.connect();
    const drops: unknown[] = [];
    c.on('disconnected', (err) => drops.push(err));
    expect(await c.api('msleep 1000')).toBe('+OK');
    expect(drops).toEqual([]);
    expect(c.state).toBe('connected');
    // And once idle again, the probe still runs.
    await fake.waitForCommand('api status');
  });

  it('the deprecated watchdog option still sets the keepalive', async () => {
    const c = client({ watchdog: { intervalMs: 10, timeoutMs: 1000 } });
    await c.connect();
    await fake.waitForCommand('api status');
  });

  it('a frame over maxFrameBytes is a typed protocol error that closes the connection', async () => {
    fake.onApi('big', () => 'x'.repeat(100_000));
    const c = client({ maxFrameBytes: 10_000, reconnect: false });
    await c.connect();
    const disconnected = once(c, 'disconnected');
    const err = (await c.api('big').catch((e: unknown) => e)) as EslProtocolError;
    expect(err).toBeInstanceOf(EslProtocolError);
    expect(err.code).toBe('ESL_FRAME_TOO_LARGE');
    await disconnected;
    // Without reconnection a lost connection leaves the client idle: connect() may be called again.
    expect(c.state).toBe('idle');
  });

  it('refuses commands with line breaks before anything is sent (no command smuggling)', async () => {
    const c = client();
    await c.connect();
    await expect(c.api('status\n\nexit')).rejects.toBeInstanceOf(EslInvalidCommandError);
    expect(fake.received.map((r) => r.command)).toEqual(['auth ClueCon']);
  });

  it('execute waits for the CHANNEL_EXECUTE_COMPLETE of the application it started', async () => {
    const uuid = fake.addChannel({ callerIdNumber: '5551000' });
    fake.onApp('playback', (arg) => `played ${arg}`);
    const c = client();
    await c.connect();
    await c.subscribe(['CHANNEL_EXECUTE_COMPLETE']);
    const done = await c.execute('playback', 'tone_stream://%(100,0,440)', { uuid, eventLock: true });
    expect(done?.headers['Application-Response']).toBe('played tone_stream://%(100,0,440)');
    const sent = fake.received.at(-1)?.frame;
    expect(sent?.header('event-lock')).toBe('true');
    await expect(
      c.execute('answer', undefined, { uuid: 'no-such-uuid', wait: false }),
    ).rejects.toBeInstanceOf(EslCommandError);
  });

  it('realtime helpers: show channels (empty is []), reloadxml, reload module', async () => {
    const c = client();
    await c.connect();
    expect(await c.showChannels()).toEqual([]);
    expect(await c.showRegistrations()).toEqual([]);
    const uuid = fake.addChannel({ callerIdName: 'Alice' });
    const rows = await c.showChannels();
    expect(rows.map((r) => [r.uuid, r.cid_name])).toEqual([[uuid, 'Alice']]);
    expect(await c.reloadXml()).toBe('+OK [Success]');
    expect(await c.reloadModule('mod_sofia')).toContain('+OK module loaded');
    fake.onApi('reloadxml', () => '-ERR file parse error\n');
    await expect(c.reloadXml()).rejects.toThrow('file parse error');
  });

  it('log lines arrive as typed log events', async () => {
    const c = client();
    await c.connect();
    await c.log(6);
    const line = once(c, 'log');
    fake.emitLog(4, 'something happened\n');
    const [got] = await line;
    expect(got.level).toBe(4);
    expect(got.text).toBe('something happened\n');
  });

  it('close() says exit, ends iterators, rejects later commands and records metrics', async () => {
    const registry = new Registry();
    const c = client({ registry });
    await c.connect();
    await c.api('uptime');
    const iterator = c.events();
    const ended = iterator.next();
    await c.close();
    expect((await ended).done).toBe(true);
    expect(fake.received.at(-1)?.command).toBe('exit');
    expect(c.state).toBe('closed');
    await expect(c.api('uptime')).rejects.toBeInstanceOf(EslConnectionError);
    const metrics = await registry.metrics();
    expect(metrics).toContain('pbxkit_esl_commands_total{command="api",result="ok"} 1');
    expect(metrics).toContain('pbxkit_esl_commands_total{command="api",result="disconnected"} 1');
    expect(metrics).toContain('pbxkit_esl_command_duration_seconds_count{command="api"} 2');
  });
});
