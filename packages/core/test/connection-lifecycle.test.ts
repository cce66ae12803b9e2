import { describe, expect, it } from 'vitest';
import {
  type ConnectionDriver,
  ConnectionLifecycle,
  type ConnectionState,
  ErrorReporter,
  PbxkitError,
  type ReconnectOptions,
  Registry,
  silentLogger,
} from '../src/index.js';

class FakeConnection {
  closed = false;
  constructor(readonly n: number) {}
}

/** A lifecycle over fake connections whose opening the test scripts: each entry of `opens` is one attempt. */
function setup(
  opens: Array<'ok' | 'fail' | 'fatal'>,
  reconnect: boolean | ReconnectOptions = { minMs: 1, maxMs: 2 },
) {
  const log: string[] = [];
  const states: ConnectionState[] = [];
  let attempt = 0;
  const driver: ConnectionDriver<FakeConnection, { reconnected: boolean }> = {
    open: async () => {
      const outcome = opens[attempt++] ?? 'fail';
      if (outcome === 'fatal') throw new PbxkitError('AUTH', 'refused');
      if (outcome === 'fail') throw new PbxkitError('CONN', 'unreachable');
      return new FakeConnection(attempt);
    },
    info: () => ({}),
    shutdown: async (c) => {
      c.closed = true;
      lifecycle.lost(c, undefined);
    },
    destroy: (c) => {
      c.closed = true;
    },
    isFatal: (err) => err instanceof PbxkitError && err.code === 'AUTH',
    busy: () => false,
    probe: () => undefined,
    silenceError: (ms) => new PbxkitError('TIMEOUT', `silent ${ms}`),
    closedError: (message) => new PbxkitError('CONN', message),
    emit: (event, ...args) => {
      if (event === 'state') states.push(args[0] as ConnectionState);
      else if (event === 'connected')
        log.push(`connected ${(args[0] as { reconnected: boolean }).reconnected}`);
      else log.push(String(event));
    },
    gaveUp: (err) => log.push(`gave up: ${err.message}`),
    ended: () => log.push('ended'),
  };
  const lifecycle = new ConnectionLifecycle(driver, {
    pkg: 'core',
    reconnect,
    keepalive: false,
    registry: new Registry(),
    logger: silentLogger,
    errors: new ErrorReporter('core', 'test'),
  });
  const settled = new Promise<void>((resolve) => {
    const emit = driver.emit;
    driver.emit = (event, ...args) => {
      emit(event, ...args);
      if (event === 'closed' || (event === 'connected' && (args[0] as { reconnected: boolean }).reconnected))
        resolve();
    };
  });
  return { lifecycle, log, states, settled };
}

describe('ConnectionLifecycle', () => {
  it('shares one attempt between concurrent connect() calls', async () => {
    const { lifecycle, log } = setup(['ok']);
    await Promise.all([lifecycle.connect(), lifecycle.connect()]);
    expect(log).toEqual(['connected false']);
    expect(lifecycle.state).toBe('connected');
  });

  it('a failed first connect() is final and leaves the client idle', async () => {
    const { lifecycle, states } = setup(['fail']);
    await expect(lifecycle.connect()).rejects.toThrow('unreachable');
    expect(states).toEqual(['connecting', 'idle']);
  });

  it('after a loss, retries until a connection opens, and connect() meanwhile waits for it', async () => {
    const { lifecycle, log, states, settled } = setup(['ok', 'fail', 'fail', 'ok']);
    await lifecycle.connect();
    lifecycle.lost(lifecycle.connection as FakeConnection, new Error('cut'));
    await lifecycle.connect();
    await settled;
    expect(log.filter((l) => l === 'reconnecting')).toHaveLength(3);
    expect(log.at(-1)).toBe('connected true');
    expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
  });

  it('gives up on refused credentials: closed, reported, ended', async () => {
    const { lifecycle, log, settled } = setup(['ok', 'fail', 'fatal']);
    await lifecycle.connect();
    lifecycle.lost(lifecycle.connection as FakeConnection, new Error('cut'));
    await settled;
    expect(lifecycle.state).toBe('closed');
    expect(log.slice(-3)).toEqual(['gave up: refused', 'ended', 'closed']);
    await expect(lifecycle.connect()).rejects.toThrow('closed');
  });

  it('gives up after maxAttempts', async () => {
    const { lifecycle, log, settled } = setup(['ok'], { minMs: 1, maxMs: 2, maxAttempts: 2 });
    await lifecycle.connect();
    lifecycle.lost(lifecycle.connection as FakeConnection, new Error('cut'));
    await settled;
    expect(lifecycle.state).toBe('closed');
    expect(log.filter((l) => l === 'reconnecting')).toHaveLength(2);
  });

  it('without reconnection a loss leaves the client idle, and close() ends it gracefully', async () => {
    const { lifecycle, log, states } = setup(['ok', 'ok'], false);
    await lifecycle.connect();
    lifecycle.lost(lifecycle.connection as FakeConnection, new Error('cut'));
    expect(lifecycle.state).toBe('idle');
    await lifecycle.connect();
    const connection = lifecycle.connection as FakeConnection;
    await lifecycle.close();
    expect(connection.closed).toBe(true);
    expect(states.slice(-2)).toEqual(['connected', 'closed']);
    expect(log.slice(-3)).toEqual(['disconnected', 'ended', 'closed']);
  });
});
