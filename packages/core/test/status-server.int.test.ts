import { connect, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type FailoverStatus, StatusServer, type StatusServerOptions } from '../src/index.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const NOW = new Date(Date.UTC(2026, 0, 15, 9, 30, 5));
const STABLE: FailoverStatus = { monitor: 'Stable', sync: 'Synced', service: 'Normal' };

async function serve(
  options: Partial<StatusServerOptions> = {},
): Promise<{ server: StatusServer; port: number }> {
  const server = new StatusServer({
    token: 'token1',
    status: () => STABLE,
    port: 0,
    now: () => NOW,
    timeZone: 'utc',
    ...options,
  });
  const { port } = await server.listen();
  cleanups.push(() => server.close());
  return { server, port };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
    cleanups.push(() => socket.destroy());
  });
}

/** Everything the server sends until it ends (or drops) the connection. */
function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const done = () => {
      socket.destroy();
      resolve(text);
    };
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('end', done);
    socket.on('close', done);
  });
}

/** Sends `bytes` on a new connection (then half-closes if asked) and returns what came back before the close. */
async function exchange(port: number, bytes: string | Buffer, halfClose = false): Promise<string> {
  const socket = await open(port);
  const answer = readAll(socket);
  socket.write(bytes);
  if (halfClose) socket.end();
  return answer;
}

/** Resolves once the server-side state the test waits for is reached (sockets close asynchronously). */
function until(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (condition() ? resolve() : setImmediate(check));
    check();
  });
}

/** The next `count` lines the server sends on `socket`. */
function lines(socket: Socket, count: number): Promise<string[]> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (c: Buffer) => {
      text += c.toString();
      const got = text.split('\n').slice(0, -1);
      if (got.length >= count) {
        socket.off('data', onData);
        resolve(got);
      }
    };
    socket.on('data', onData);
  });
}

describe('StatusServer: Synch-compatible GetStatus', () => {
  it('answers GetStatus(<token>) with Synch’s exact bytes and closes', async () => {
    const { port } = await serve();
    expect(await exchange(port, 'GetStatus(token1)\n')).toBe(
      '[{"Timestamp":"20260115093005","Monitor":"Stable","Sync":"Synced","Service":"Normal"}]\n',
    );
  });

  it('prints the host’s local time by default, as Synch’s DateTime.Now', async () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata'; // UTC+05:30, no daylight saving
    try {
      const { port } = await serve({ timeZone: undefined });
      expect(await exchange(port, 'GetStatus(token1)\n')).toContain('"Timestamp":"20260115150005"');
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it('answers without a line end (as Synch reads whatever arrived), with CRLF, and after a half-close', async () => {
    const { port } = await serve();
    const expected = /^\[\{"Timestamp":"\d{14}","Monitor":"Stable","Sync":"Synced","Service":"Normal"\}\]\n$/;
    expect(await exchange(port, 'GetStatus(token1)')).toMatch(expected);
    expect(await exchange(port, 'GetStatus(token1)\r\n')).toMatch(expected);
    expect(await exchange(port, 'GetStatus(tok', true)).toBe(
      'Syntax error: send GetStatus(<token>). Bye bye!\n',
    );
  });

  it('a wrong token gets "Token error. Bye bye!" and the connection closes; the token is checked before the action', async () => {
    const { port } = await serve();
    expect(await exchange(port, 'GetStatus(token2)\n')).toBe('Token error. Bye bye!\n');
    expect(await exchange(port, 'GetStatus()\n')).toBe('Token error. Bye bye!\n');
    expect(await exchange(port, 'Reboot(nope)\n')).toBe('Token error. Bye bye!\n');
    expect(await exchange(port, 'Reboot(token1)\n')).toBe('Action error. Bye bye!\n');
  });

  it('accepts any printable token: spaces, parentheses and non-ASCII letters', async () => {
    const token = 'p@ss w(o)rd:ключ';
    const { port } = await serve({ token });
    expect(await exchange(port, `GetStatus(${token})\n`)).toMatch(/^\[\{"Timestamp"/);
    expect(await exchange(port, 'GetStatus(p@ss w(o)rd:ключ )\n')).toBe('Token error. Bye bye!\n');
    expect(() => new StatusServer({ token: 'a\nb', status: () => STABLE })).toThrow(
      expect.objectContaining({ code: 'STATUS_OPTIONS' }),
    );
  });

  it('a status provider that throws is answered with an error, and the server goes on', async () => {
    let fail = true;
    const { port } = await serve({
      status: () => {
        if (fail) throw new Error('sync manager gone');
        return STABLE;
      },
    });
    expect(await exchange(port, 'GetStatus(token1)\n')).toBe('Status error. Bye bye!\n');
    fail = false;
    expect(await exchange(port, 'GetStatus(token1)\n')).toMatch(/^\[\{"Timestamp"/);
  });
});

describe('StatusServer: newline-delimited JSON', () => {
  it('answers several commands on one connection, with their ids; errors that keep framing keep the connection', async () => {
    const { port } = await serve({
      status: () => ({ monitor: 'Failed', sync: 'Synced', service: 'Failover' }),
      commands: { versions: (req) => ({ asked: req.limit }) },
    });
    const socket = await open(port);
    const answers = lines(socket, 5);
    socket.write(
      [
        '{"id":1,"command":"status","token":"token1"}',
        '{"id":"h","command":"health","token":"token1"}',
        '{not json',
        '{"id":3,"command":"nope","token":"token1"}',
        '{"id":4,"command":"versions","token":"token1","limit":5}',
        '',
      ].join('\n'),
    );
    expect((await answers).map((l) => JSON.parse(l))).toEqual([
      {
        id: 1,
        ok: true,
        result: {
          timestamp: '2026-01-15T09:30:05.000Z',
          monitor: 'Failed',
          sync: 'Synced',
          service: 'Failover',
          healthy: false,
        },
      },
      { id: 'h', ok: true, result: { healthy: false } },
      { ok: false, error: { code: 'STATUS_BAD_REQUEST', message: 'not valid JSON' } },
      { id: 3, ok: false, error: { code: 'STATUS_UNKNOWN_COMMAND', message: 'unknown command "nope"' } },
      { id: 4, ok: true, result: { asked: 5 } },
    ]);
    const closed = readAll(socket);
    socket.write('{"id":5,"command":"status","token":"wrong"}\n');
    expect(JSON.parse(await closed)).toEqual({
      id: 5,
      ok: false,
      error: { code: 'STATUS_TOKEN', message: 'wrong token' },
    });
  });

  it('a command that throws (or returns what JSON cannot hold) is an error answer, not a closed server', async () => {
    const { port } = await serve({
      commands: {
        boom: () => {
          throw new Error('boom');
        },
        big: () => ({ n: 1n }),
      },
    });
    const socket = await open(port);
    const answers = lines(socket, 3);
    socket.write(
      '{"command":"boom","token":"token1"}\n{"command":"big","token":"token1"}\n{"command":"health","token":"token1"}\n',
    );
    const [boom, big, health] = (await answers).map((l) => JSON.parse(l));
    expect(boom.error).toEqual({ code: 'STATUS_COMMAND_FAILED', message: 'boom' });
    expect(big.error.code).toBe('STATUS_COMMAND_FAILED');
    expect(health).toEqual({ ok: true, result: { healthy: true } });
  });
});

describe('StatusServer: hostile input', () => {
  it('a line over maxLineBytes is refused and the connection closed, whatever follows', async () => {
    const registry = new Registry();
    const { server, port } = await serve({ maxLineBytes: 64, registry });
    const socket = await open(port);
    const answer = readAll(socket);
    // 8 MiB with no line end: the server answers once past 64 bytes and drops the rest.
    const chunk = Buffer.alloc(64 * 1024, 'A');
    for (let i = 0; i < 128 && !socket.destroyed; i++) socket.write(chunk);
    expect(await answer).toBe('Line too long (over 64 bytes). Bye bye!\n');
    expect(await exchange(port, `{"command":"status","token":"${'x'.repeat(100)}"}\n`)).toBe(
      '{"ok":false,"error":{"code":"STATUS_LINE_TOO_LONG","message":"Line too long (over 64 bytes)"}}\n',
    );
    await until(() => server.connectionCount === 0);
    expect(await registry.metrics()).toContain(
      'pbxkit_core_status_requests_total{protocol="synch",result="line_too_long"} 1',
    );
  });

  it('control bytes or invalid UTF-8 are refused as binary', async () => {
    const { port } = await serve();
    expect(await exchange(port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x0a]))).toBe(
      'Binary input. Bye bye!\n',
    );
    expect(await exchange(port, Buffer.from([0x47, 0xff, 0xfe, 0x0a]))).toBe('Binary input. Bye bye!\n');
    expect(await exchange(port, '{"command":"status",\u0000}\n')).toContain('"code":"STATUS_BINARY"');
  });

  it('cuts a connection that trickles bytes (slowloris) or says nothing within timeoutMs', async () => {
    const { port } = await serve({ timeoutMs: 300 });
    const slow = await open(port);
    const slowAnswer = readAll(slow);
    const started = Date.now();
    const trickle = setInterval(() => slow.writable && slow.write('G'), 20);
    cleanups.push(() => clearInterval(trickle));
    const idle = await open(port);
    expect(await readAll(idle)).toBe('Timeout. Bye bye!\n');
    expect(await slowAnswer).toBe('Timeout. Bye bye!\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('turns away connections past maxConnections, and serves again once they close', async () => {
    const { server, port } = await serve({ maxConnections: 2 });
    const held = [await open(port), await open(port)];
    await until(() => server.connectionCount === 2);
    expect(await exchange(port, 'GetStatus(token1)\n')).toBe('Busy. Bye bye!\n');
    const gone = Promise.all(held.map((s) => new Promise((resolve) => s.once('close', resolve))));
    for (const s of held) s.destroy();
    await gone;
    await until(() => server.connectionCount === 0);
    expect(await exchange(port, 'GetStatus(token1)\n')).toMatch(/^\[\{"Timestamp"/);
  });

  it('close() ends every open connection', async () => {
    const server = new StatusServer({ token: 't', status: () => STABLE, port: 0 });
    const { port } = await server.listen();
    const socket = await open(port);
    const closed = readAll(socket);
    await server.close();
    expect(await closed).toBe('');
    expect(server.address).toBeUndefined();
  });
});
