import pino from 'pino';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { AbortError, isPbxkitError, PbxkitError, TimeoutError } from '../src/errors.js';
import { TypedEmitter } from '../src/events.js';
import { type Logger, resolveLogger, silentLogger } from '../src/logger.js';

interface MonitorEvents {
  state: (state: 'up' | 'down', since: number) => void;
  error: (err: Error) => void;
}

class Monitor extends TypedEmitter<MonitorEvents> {}

describe('TypedEmitter', () => {
  it('delivers typed arguments to listeners', () => {
    const monitor = new Monitor();
    const seen: Array<[string, number]> = [];
    monitor.on('state', (state, since) => seen.push([state, since]));
    monitor.emit('state', 'down', 42);
    expect(seen).toEqual([['down', 42]]);
    expectTypeOf(monitor.on).parameter(0).toEqualTypeOf<'state' | 'error'>();
  });

  it('does not throw when an error event has no listener (unlike node:events)', () => {
    const monitor = new Monitor();
    expect(() => monitor.emit('error', new Error('boom'))).not.toThrow();
  });
});

class EslLikeError extends PbxkitError {
  constructor(message: string) {
    super('ESL_LIKE', message);
  }
}

describe('PbxkitError', () => {
  it('keeps a stable code and the subclass name', () => {
    const err = new EslLikeError('nope');
    expect(err).toBeInstanceOf(PbxkitError);
    expect(err.code).toBe('ESL_LIKE');
    expect(err.name).toBe('EslLikeError');
    expect(isPbxkitError(err, 'ESL_LIKE')).toBe(true);
    expect(isPbxkitError(err, 'OTHER')).toBe(false);
    expect(isPbxkitError(new Error('x'))).toBe(false);
  });

  it('carries a cause and timeouts carry their limit', () => {
    const cause = new Error('socket');
    expect(new AbortError('stopped', { cause }).cause).toBe(cause);
    const timeout = new TimeoutError('api status took too long', 5000);
    expect(timeout.code).toBe('TIMEOUT');
    expect(timeout.timeoutMs).toBe(5000);
  });
});

describe('Logger', () => {
  it('is silent by default and its child is silent too', () => {
    expect(resolveLogger(undefined)).toBe(silentLogger);
    expect(silentLogger.child({ a: 1 })).toBe(silentLogger);
  });

  it('accepts a pino logger as it is, and child bindings reach the output', () => {
    const lines: string[] = [];
    const destination = { write: (line: string) => lines.push(line) };
    const logger: Logger = pino({ level: 'debug' }, destination);
    const child = resolveLogger(logger, { component: 'esl' });
    child.info({ host: '127.0.0.1' }, 'connected');
    child.debug('plain message');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({ component: 'esl', host: '127.0.0.1', msg: 'connected', level: 30 });
    expect(parsed[1]).toMatchObject({ component: 'esl', msg: 'plain message', level: 20 });
  });
});
