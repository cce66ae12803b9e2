import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkDaemons, parseDaemonTargets } from '../src/console/daemons.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A daemon's /health on loopback, answering `status` with `body`; records the Authorization it got. */
async function daemon(status: number, body: unknown, seen: string[] = []): Promise<string> {
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('console: daemons on the pipeline page', () => {
  it('shows branch-failover failed over, config-sync ok, and one that does not answer', async () => {
    const seen: string[] = [];
    const branch = await daemon(503, {
      timestamp: '2026-12-02T14:00:00.000Z',
      monitor: 'Failed',
      sync: 'Synced',
      service: 'Failover',
      healthy: false,
    });
    const sync = await daemon(200, { status: 'ok', esl: 'connected' }, seen);
    const silent = createServer(() => {}); // accepts, never answers
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const targets = parseDaemonTargets(
      `branch-a=http://${branch}/health, fs1-sync=http://ops:s3cret@${sync}/health,` +
        `dead=http://127.0.0.1:${(silent.address() as AddressInfo).port}/health`,
    );
    const [a, b, c] = await checkDaemons(targets, 1000);
    expect(a).toMatchObject({
      name: 'branch-a',
      ok: false,
      httpStatus: 503,
      status: 'service Failover, monitor Failed, sync Synced',
    });
    expect(b).toMatchObject({ name: 'fs1-sync', ok: true, status: 'ok', url: `http://${sync}/health` });
    expect(seen).toEqual([`Basic ${Buffer.from('ops:s3cret').toString('base64')}`]);
    expect(c).toMatchObject({ name: 'dead', ok: false, detail: 'unreachable: no answer within 1000 ms' });
  });

  it('refuses a malformed PBXKIT_CONSOLE_DAEMONS naming the variable, without the password', () => {
    expect(parseDaemonTargets(undefined)).toEqual([]);
    expect(() => parseDaemonTargets('branch-a=ftp://u:pw@host/health')).toThrow(
      /^PBXKIT_CONSOLE_DAEMONS: "branch-a=ftp:\/\/…@host\/health" is not name=http/,
    );
    expect(() => parseDaemonTargets('a=http://h/health,a=http://i/health')).toThrow(/listed twice/);
  });
});
