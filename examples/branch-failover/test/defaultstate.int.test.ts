import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSettings } from '../src/config/settings.js';
import { type BranchDaemon, startDaemon } from '../src/daemon.js';
import { digA, freePort, getStatus } from './e2e-helpers.js';

const running: BranchDaemon[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()?.close();
});

/** A daemon whose main PBX is unreachable (nothing listens on its port), probing every 30 s. */
async function daemonWith(defaultstate: string | undefined): Promise<BranchDaemon> {
  const { settings } = parseSettings({
    probemonitor: { interval: 30 },
    amiremote: { hostname: '127.0.0.1', port: await freePort(), username: 'synch', password: 'pw' },
    amilocal: { username: 'synch', password: 'pw' },
    dnsservice: {
      listenaddress: '127.0.0.1',
      port: 0,
      domain: 'example.local',
      targetnormal: '10.0.0.254',
      targetfailover: '192.168.0.254',
      ...(defaultstate ? { defaultstate } : {}),
    },
    servicecontrol: { token: 'token1', listenaddress: '127.0.0.1', port: 0 },
  });
  const daemon = await startDaemon(settings, pino({ level: 'silent' }));
  running.push(daemon);
  return daemon;
}

describe("Synch's defaultstate, before the monitor has decided", () => {
  it('Failover: the branch is answered at once, and GetStatus says Failover', async () => {
    const daemon = await daemonWith('Failover');
    const { dns, status } = daemon.addresses();
    expect(await digA(dns?.port as number, 'sip.example.local')).toEqual(['192.168.0.254']);
    expect(await getStatus(status?.port as number, 'token1')).toMatchObject({
      Service: 'Failover',
      Sync: 'Init',
    });
  });

  it('unset: the main PBX is answered and the service is Init, as in Synch', async () => {
    const daemon = await daemonWith(undefined);
    const { dns, status } = daemon.addresses();
    expect(await digA(dns?.port as number, 'sip.example.local')).toEqual(['10.0.0.254']);
    expect((await getStatus(status?.port as number, 'token1')).Service).toBe('Init');
  });
});
