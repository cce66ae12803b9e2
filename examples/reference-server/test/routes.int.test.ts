import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, silentLogger } from '@pbxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { configFromEnv } from '../src/config/load.js';
import type { HealthReport } from '../src/health.js';
import { createRoutes, type Routes } from '../src/routes.js';
import { operatorGate } from '../src/wiring/auth.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function serve(overrides: Partial<Routes>): Promise<string> {
  const registry = new Registry();
  const routes: Routes = {
    receiver: (_req, _res, next) => next?.(),
    recordings: async () => true,
    peer: undefined,
    gate: operatorGate(configFromEnv({}), { logger: silentLogger, registry }),
    registry,
    health: async () => ({ status: 'ok' }) as HealthReport,
    log: silentLogger,
    ...overrides,
  };
  const server = createServer(createRoutes(routes));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('reference server routes: no request can end the process', () => {
  it('a handler that throws, rejects (even with no Error) or fails after its headers is answered 500 or cut, and the next request is served', async () => {
    const rejections: unknown[] = [];
    const onRejection = (err: unknown) => rejections.push(err);
    process.on('unhandledRejection', onRejection);
    try {
      const url = await serve({
        receiver: () => {
          throw new TypeError('receiver bug');
        },
        recordings: (async (req: IncomingMessage, res: ServerResponse) => {
          if (req.url?.endsWith('/late')) {
            res.writeHead(200, { 'content-length': 10 });
            res.write('12345');
          }
          throw null; // a rejection that is not even an Error
        }) as Routes['recordings'],
        health: () => Promise.reject(new Error('health bug')),
      });
      const cdr = await fetch(`${url}/cdr`, { method: 'POST', body: 'x' });
      expect([cdr.status, await cdr.json()]).toEqual([500, { error: 'internal', reason: 'internal error' }]);
      expect((await fetch(`${url}/recordings/abc`)).status).toBe(500);
      await expect(fetch(`${url}/recordings/late`).then((r) => r.arrayBuffer())).rejects.toThrow();
      expect((await fetch(`${url}/health`)).status).toBe(500);
      expect((await fetch(`${url}/recordings/abc`)).status).toBe(500); // still serving
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('health answers 503 only when a part operators depend on is down, and HEAD has no body', async () => {
    let status: HealthReport['status'] = 'degraded';
    const url = await serve({ health: async () => ({ status, problems: ['x'] }) as unknown as HealthReport });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    status = 'down';
    const head = await fetch(`${url}/health`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([503, '']);
  });
});

describe('operator gate without authentication configured', () => {
  const fakeRequest = (remoteAddress: string) =>
    ({ socket: { remoteAddress } }) as unknown as IncomingMessage;

  it('serves clients on this machine only, unless PBXKIT_AUTH_OPEN', () => {
    const registry = new Registry();
    const gate = operatorGate(configFromEnv({}), { logger: silentLogger, registry });
    expect(gate.mode).toBe('loopback');
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1'])
      expect(gate.authorize(fakeRequest(address))).toBe(true);
    expect(gate.authorize(fakeRequest('10.0.0.9'))).toMatchObject({ status: 403 });
    expect(gate.authorize(fakeRequest('::ffff:10.0.0.9'))).toMatchObject({ status: 403 });
    const open = operatorGate(configFromEnv({ PBXKIT_HOST: '0.0.0.0', PBXKIT_AUTH_OPEN: '1' }), {
      logger: silentLogger,
      registry,
    });
    expect([open.mode, open.authorize(fakeRequest('10.0.0.9'))]).toEqual(['open', true]);
  });
});
