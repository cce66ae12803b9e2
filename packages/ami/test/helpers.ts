import { AmiClient, type AmiClientOptions } from '@pbxkit/ami';
import { FakeAsterisk, type FakeAsteriskOptions } from '@pbxkit/ami/testing';
import { MetricsFactory } from '@pbxkit/core';
import { afterEach } from 'vitest';

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A started FakeAsterisk with user admin/secret, closed after the test. */
export async function startFake(options: FakeAsteriskOptions = {}): Promise<FakeAsterisk> {
  const fake = await new FakeAsterisk({ loginFailureDelayMs: 20, ...options }).start();
  cleanups.push(() => fake.close());
  return fake;
}

/** A client for `fake` (not connected), closed after the test; keepalive off unless asked. */
export function clientFor(fake: FakeAsterisk, options: Partial<AmiClientOptions> = {}): AmiClient {
  const client = new AmiClient({
    host: fake.host,
    port: fake.port,
    username: 'admin',
    secret: 'secret',
    keepalive: false,
    reconnect: { minMs: 5, maxMs: 20 },
    ...options,
  });
  cleanups.push(() => client.close());
  return client;
}

/** A connected client for `fake`. */
export async function connected(
  fake: FakeAsterisk,
  options: Partial<AmiClientOptions> = {},
): Promise<AmiClient> {
  const client = clientFor(fake, options);
  await client.connect();
  return client;
}

/** Runs `fn` on close: for servers a test creates itself. */
export function onCleanup(fn: () => Promise<unknown>): void {
  cleanups.push(fn);
}

/** A fresh metrics registry (prom-client's, through core). */
export function newRegistry() {
  return new MetricsFactory('ami').registry;
}

/** The rejection of `promise`, failing the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** The arguments of every `console.log` call made while `run` runs. */
export async function consoleLogOf(run: () => Promise<unknown>): Promise<unknown[][]> {
  const calls: unknown[][] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => {
    calls.push(args);
  };
  try {
    await run();
  } finally {
    console.log = original;
  }
  return calls;
}
