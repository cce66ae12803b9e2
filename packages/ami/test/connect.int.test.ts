import net from 'node:net';
import { AmiAuthError, AmiClient, AmiConnectionError, AmiProtocolError, AmiTimeoutError } from '@pbxkit/ami';
import { describe, expect, it } from 'vitest';
import { rx } from './fixtures.js';
import { clientFor, connected, onCleanup, rejectionOf, startFake } from './helpers.js';
import { TEST_CERT, TEST_KEY } from './tls-cert.js';

async function rawServer(onSocket: (socket: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

describe('AmiClient.connect', () => {
  it('reads the banner and logs in with Username, Secret and Events', async () => {
    const fake = await startFake();
    const client = clientFor(fake);
    const connects: unknown[] = [];
    client.on('connected', (info) => connects.push(info));
    await client.connect();
    expect(client.state).toBe('connected');
    expect(client.banner).toEqual({ raw: 'Asterisk Call Manager/11.0.0', version: '11.0.0' });
    expect(connects).toEqual([{ banner: client.banner, reconnected: false }]);
    const login = fake.actions[0];
    expect(login?.get('Action')).toBe('Login');
    expect(login?.get('Username')).toBe('admin');
    expect(login?.get('Secret')).toBe('secret');
    expect(login?.get('Events')).toBe('on');
    expect(login?.get('ActionID')).toMatch(new RegExp(`^${client.clientId}-1-\\d+$`));
  });

  it('sends an event mask or off as asked', async () => {
    const fake = await startFake();
    await connected(fake, { events: ['call', 'system'] });
    await connected(fake, { events: 'off' });
    expect(fake.actions.map((a) => a.get('Events'))).toEqual(['call,system', 'off']);
  });

  it('logs in with an MD5 challenge without sending the secret', async () => {
    const fake = await startFake();
    await connected(fake, { authType: 'md5' });
    expect(fake.actions.map((a) => a.get('Action'))).toEqual(['Challenge', 'Login']);
    const login = fake.actions[1];
    expect(login?.get('AuthType')).toBe('MD5');
    expect(login?.get('Key')).toMatch(/^[0-9a-f]{32}$/);
    expect(login?.has('Secret')).toBe(false);
  });

  it('rejects a refused login with AmiAuthError as soon as Asterisk answers, and does not retry', async () => {
    const fake = await startFake({ loginFailureDelayMs: 50 });
    const client = clientFor(fake, { secret: 'WrongPassword' });
    const err = await rejectionOf(client.connect());
    expect(err).toBeInstanceOf(AmiAuthError);
    expect((err as AmiAuthError).code).toBe('AMI_AUTH');
    expect(err.message).toContain('Authentication failed');
    expect(client.state).toBe('idle');
    expect(fake.actions.filter((a) => a.name === 'Login')).toHaveLength(1);
  });

  it('rejects a refused MD5 login with AmiAuthError', async () => {
    const fake = await startFake();
    const err = await rejectionOf(clientFor(fake, { authType: 'md5', secret: 'nope' }).connect());
    expect(err).toBeInstanceOf(AmiAuthError);
  });

  it('replays the captured failed login byte for byte and still rejects with AmiAuthError', async () => {
    const capture = rx('02-login-failure');
    const banner = capture.subarray(0, capture.indexOf('\r\n') + 2);
    const port = await rawServer((socket) => {
      socket.write(banner);
      socket.once('data', (action) => {
        const id = /ActionID: (.*)\r\n/.exec(action.toString())?.[1] ?? '';
        socket.end(capture.subarray(banner.length).toString().replace('login-bad', id));
      });
    });
    const client = new AmiClient({
      host: '127.0.0.1',
      port,
      username: 'synch',
      secret: 'WrongPassword',
      keepaliveMs: 0,
    });
    onCleanup(() => client.close());
    expect(await rejectionOf(client.connect())).toBeInstanceOf(AmiAuthError);
  });

  it('rejects with AmiConnectionError when the port is closed or the peer hangs up at once', async () => {
    const closing = await rawServer((s) => s.destroy());
    const hangsUp = new AmiClient({
      host: '127.0.0.1',
      port: closing,
      username: 'a',
      secret: 'b',
      keepaliveMs: 0,
    });
    onCleanup(() => hangsUp.close());
    expect(await rejectionOf(hangsUp.connect())).toBeInstanceOf(AmiConnectionError);
    const freePort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const refused = new AmiClient({ host: '127.0.0.1', port: freePort, username: 'a', secret: 'b' });
    const err = await rejectionOf(refused.connect());
    expect(err).toBeInstanceOf(AmiConnectionError);
    expect((err as AmiConnectionError).code).toBe('AMI_CONNECTION');
  });

  it('rejects a peer that is not AMI with AmiProtocolError AMI_NOT_AMI', async () => {
    const port = await rawServer((s) => s.write('SSH-2.0-OpenSSH_9.6\r\n'));
    const client = new AmiClient({ host: '127.0.0.1', port, username: 'a', secret: 'b', keepaliveMs: 0 });
    onCleanup(() => client.close());
    const err = await rejectionOf(client.connect());
    expect(err).toBeInstanceOf(AmiProtocolError);
    expect((err as AmiProtocolError).code).toBe('AMI_NOT_AMI');
  });

  it('rejects with AmiTimeoutError when no banner comes', async () => {
    const port = await rawServer(() => undefined);
    const client = new AmiClient({
      host: '127.0.0.1',
      port,
      username: 'a',
      secret: 'b',
      connectTimeoutMs: 100,
    });
    onCleanup(() => client.close());
    const err = await rejectionOf(client.connect());
    expect(err).toBeInstanceOf(AmiTimeoutError);
    expect((err as AmiTimeoutError).code).toBe('AMI_TIMEOUT');
  });

  it('rejects actions before connect with AmiConnectionError', async () => {
    const fake = await startFake();
    const client = clientFor(fake);
    expect(await rejectionOf(client.action({ Action: 'Ping' }))).toBeInstanceOf(AmiConnectionError);
  });

  it('stops a connect() in progress when close() is called', async () => {
    const fake = await startFake();
    const client = clientFor(fake);
    const connecting = client.connect();
    await client.close();
    expect(await rejectionOf(connecting)).toBeInstanceOf(AmiConnectionError);
    expect(client.state).toBe('closed');
  });

  it('shares one attempt between concurrent connect() calls', async () => {
    const fake = await startFake();
    const client = clientFor(fake);
    await Promise.all([client.connect(), client.connect()]);
    expect(fake.actions.filter((a) => a.name === 'Login')).toHaveLength(1);
  });
});

describe('AmiClient over TLS', () => {
  it('connects, logs in and runs actions when the certificate is trusted', async () => {
    const fake = await startFake({ tls: { key: TEST_KEY, cert: TEST_CERT } });
    const client = await connected(fake, { tls: { ca: TEST_CERT } });
    expect((await client.action({ Action: 'Ping' })).get('Ping')).toBe('Pong');
  });

  it('refuses an untrusted certificate with AmiConnectionError', async () => {
    const fake = await startFake({ tls: { key: TEST_KEY, cert: TEST_CERT } });
    const err = await rejectionOf(clientFor(fake, { tls: true }).connect());
    expect(err).toBeInstanceOf(AmiConnectionError);
    expect(err.message).toMatch(/self.signed/i);
  });
});
