import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createStatusHttpHandler, type FailoverStatus, type StatusHttpHandlerOptions } from '../src/index.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

const NOW = new Date(Date.UTC(2026, 0, 15, 9, 30, 5));

async function serve(options: Partial<StatusHttpHandlerOptions> & { current?: () => FailoverStatus } = {}) {
  const handler = createStatusHttpHandler({
    status: options.current ?? (() => ({ monitor: 'Stable', sync: 'Synced', service: 'Normal' })),
    now: () => NOW,
    ...options,
  });
  const server = createServer((req, res) => {
    void handler(req, res, () => {
      res.writeHead(418).end('not mine');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('createStatusHttpHandler', () => {
  it('/status gives the three states, an ISO timestamp and healthy', async () => {
    const url = await serve();
    const res = await fetch(`${url}/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({
      timestamp: '2026-01-15T09:30:05.000Z',
      monitor: 'Stable',
      sync: 'Synced',
      service: 'Normal',
      healthy: true,
    });
  });

  it('/health is 503 while failed over or unsynced, 200 otherwise, and the rule can be changed', async () => {
    let status: FailoverStatus = { monitor: 'Failed', sync: 'Synced', service: 'Failover' };
    const url = await serve({ current: () => status });
    expect((await fetch(`${url}/health`)).status).toBe(503);
    status = { monitor: 'Stable', sync: 'Unsynced', service: 'Normal' };
    expect((await fetch(`${url}/health`)).status).toBe(503);
    status = { monitor: 'Unstable', sync: 'Init', service: 'Init' };
    expect((await fetch(`${url}/health`)).status).toBe(200);

    const strict = await serve({ current: () => status, unhealthy: (s) => s.monitor !== 'Stable' });
    expect((await fetch(`${strict}/health`)).status).toBe(503);
    const head = await fetch(`${strict}/health`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([503, '']);
  });

  it('/health is 503 when the status cannot be read', async () => {
    const url = await serve({
      current: () => {
        throw new Error('gone');
      },
    });
    const res = await fetch(`${url}/health`);
    expect([res.status, await res.json()]).toEqual([503, { healthy: false, error: 'status unavailable' }]);
  });

  it('/metrics serves the registry it was given, with its own request counts', async () => {
    const registry = new Registry();
    const url = await serve({ registry, metricsNamespace: 'branch' });
    await fetch(`${url}/status`);
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    // The /status before, and this /metrics itself.
    expect(await res.text()).toContain('pbxkit_branch_status_requests_total{protocol="http",result="ok"} 2');
  });

  it('with a token, /status needs the Bearer token and /health stays open', async () => {
    const url = await serve({ token: 'token1' });
    expect((await fetch(`${url}/status`)).status).toBe(401);
    expect((await fetch(`${url}/status`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await fetch(`${url}/status`, { headers: { authorization: 'Bearer token1' } })).status).toBe(200);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('other paths go to next(), other methods get 405', async () => {
    const url = await serve();
    expect((await fetch(`${url}/recordings/x`)).status).toBe(418);
    const post = await fetch(`${url}/status`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect((await fetch(`${url}/status?verbose=1`)).status).toBe(200);
  });
});
