import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfFile } from '@pbxkit/ami';
import { FakeAsterisk, sipAdditionalConf } from '@pbxkit/ami/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  command,
  type DaemonProcess,
  digA,
  freePort,
  getStatus,
  startDaemonProcess,
  until,
} from './e2e-helpers.js';

const MAIN_IP = '10.0.0.254';
const BRANCH_IP = '192.168.0.254';
const TOKEN = 'token1';
const users = { synch: { secret: 'SomePasswordHere', read: 'all', write: 'system,config' } };
// Probe every second; 4 failure points fail over; 2 successes fall back. Sync every 2 s.
const PROBE = { failureTolerance: 4, aliveThreshold: 2, errorPenaltyPoints: 1, interval: 1 };
const PROBE_TIMEOUT_S = 0.8; // the daemon's default, 80% of the interval
// The machine is shared and loaded (10x slower than quiet): deadlines for the daemon to act have room.
const SLOW = 60_000;

async function startMain(port = 0): Promise<FakeAsterisk> {
  const main = new FakeAsterisk({ users, port, loginFailureDelayMs: 10 });
  main.setConfig('sip_additional.conf', sipAdditionalConf(30));
  return main.start();
}

/** Waits until GetStatus(token) shows `expected` (a probe that times out under load makes Stable Unstable for a while). */
async function statusIs(port: number, expected: Record<string, string>): Promise<void> {
  await until(
    `GetStatus to show ${JSON.stringify(expected)}`,
    async () => {
      const status = await getStatus(port, TOKEN);
      expect(status.Timestamp).toMatch(/^\d{14}$/);
      return Object.entries(expected).every(([k, v]) => status[k] === v);
    },
    SLOW,
  );
}

const localUsers = (text: string) => ConfFile.parse(text).categories.filter((c) => !c.isTemplate);

describe('branch-failover daemon end to end (two FakeAsterisk, dig, GetStatus)', () => {
  let dir: string;
  let daemon: DaemonProcess | undefined;
  const servers: FakeAsterisk[] = [];
  afterAll(async () => {
    daemon?.child.kill('SIGKILL');
    for (const s of servers) await s.close().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('syncs, answers the main PBX, fails over when it stops, falls back, syncs a change, rolls back, stops on SIGTERM', async () => {
    dir = await mkdtemp(join(tmpdir(), 'branch-failover-e2e-'));
    const etc = join(dir, 'etc-asterisk');
    let main = await startMain();
    const mainPort = main.port;
    servers.push(main);
    const branch = await FakeAsterisk.start({ users, configDir: etc, modules: ['chan_sip.so'] });
    servers.push(branch);
    const dnsPort = await freePort();
    const statusPort = await freePort();
    // Synch's appsettings.json layout and key spelling; `port` of dnsservice is our one extension (53 is taken).
    const config = join(dir, 'appsettings.json');
    await writeFile(
      config,
      `\uFEFF{
  "loglevel": { "default": "Debug" }, // as Synch's README writes it, comments included
  "probemonitor": ${JSON.stringify(PROBE)},
  "amiremote": { "hostname": "127.0.0.1", "port": ${mainPort}, "username": "synch", "password": "SomePasswordHere" },
  "amilocal": { "port": ${branch.port}, "username": "synch", "password": "SomePasswordHere" },
  "syncmanager": { "remotefilename": "sip_additional.conf", "interval": 2, "filterkey": "accountcode", "filtervalue": "^HeadOffice$", "localconfigspath": "${etc}/" },
  "dnsservice": { "listenaddress": "127.0.0.1", "port": ${dnsPort}, "domain": "example.local", "record": "sip", "recordttl": 5,
    "targetnormal": "${MAIN_IP}", "targetfailover": "${BRANCH_IP}", "refreshinterval": 300, "retryinterval": 300,
    "expireinterval": 300, "minttl": 300, "ttl": 300, "defaultstate": "Failover" },
  "servicecontrol": { "token": "${TOKEN}", "listenaddress": "127.0.0.1", "port": ${statusPort} }
}`,
    );
    const d = startDaemonProcess(config);
    daemon = d;
    await d.waitLog('the daemon to start', (l) => l.msg === 'pbxkit-branch-failover started', SLOW);

    // The filtered users reach the branch's sip_synch.conf (written under localconfigspath, chan_sip reloaded).
    const synced = await until(
      'the first sync',
      async () => {
        const text = await readFile(join(etc, 'sip_synch.conf'), 'utf8').catch(() => '');
        return localUsers(text).length === 10 ? text : undefined;
      },
      SLOW,
    );
    expect(localUsers(synced).every((c) => c.get('accountcode') === 'HeadOffice')).toBe(true);
    expect(branch.reloads.every((m) => m === 'chan_sip.so')).toBe(true);

    // Once the main PBX is Stable the SIP record answers it.
    await until(
      'sip.example.local to answer the main PBX',
      async () => (await digA(dnsPort, 'sip.example.local'))[0] === MAIN_IP,
      SLOW,
    );
    expect(await getStatus(statusPort, TOKEN)).toMatchObject({
      Monitor: 'Stable',
      Sync: 'Synced',
      Service: 'Normal',
    });

    // The main PBX goes away: failover within failureTolerance × interval plus one probe timeout.
    const stoppedAt = Date.now();
    await main.close();
    const failover = await d.waitLog(
      'the failover',
      (l) => typeof l.msg === 'string' && l.msg.includes('(failover)'),
      SLOW,
    );
    const detectedMs = (failover.time as number) - stoppedAt;
    const boundMs = (PROBE.failureTolerance * PROBE.interval + PROBE_TIMEOUT_S) * 1000;
    console.log(`failover detected ${detectedMs} ms after the main stopped (bound ${boundMs} ms)`);
    // Scheduling on a loaded machine adds to the bound; the daemon's own clock says when it switched.
    expect(detectedMs).toBeLessThan(boundMs + 2_000);
    await until(
      'sip.example.local to answer the branch',
      async () => (await digA(dnsPort, 'sip.example.local'))[0] === BRANCH_IP,
      SLOW,
    );
    await statusIs(statusPort, { Monitor: 'Failed', Service: 'Failover' });

    // The main PBX comes back on its port: Normal after aliveThreshold successes.
    main = await startMain(mainPort);
    servers.push(main);
    await until(
      'sip.example.local to answer the main PBX again',
      async () => (await digA(dnsPort, 'sip.example.local'))[0] === MAIN_IP,
      SLOW,
    );
    await statusIs(statusPort, { Monitor: 'Stable', Service: 'Normal' });

    // A changed user on the main PBX reaches the branch at the next sync.
    main.config('sip_additional.conf')?.category('1001')?.set('callerid', 'Alice Changed <1001>');
    const callerid = async () =>
      ConfFile.parse(await readFile(join(etc, 'sip_synch.conf'), 'utf8'))
        .category('1001')
        ?.get('callerid');
    await until(
      'the changed user on the branch',
      async () => (await callerid()) === 'Alice Changed <1001>',
      SLOW,
    );

    // A rollback through the status socket restores the previous version, and the next syncs hold it.
    // The file is written before its version is recorded (a version is only recorded once applied).
    const versions = await until(
      'the version of the change',
      async () => {
        const list = (await command(statusPort, TOKEN, 'versions')) as Array<{
          version: number;
          message: string;
        }>;
        return list.length >= 2 ? list : undefined;
      },
      SLOW,
    );
    const latest = versions.at(-1)?.version as number;
    const rolled = await command(statusPort, TOKEN, 'rollback', { version: latest - 1 });
    expect(rolled).toMatchObject({ version: latest + 1, rollbackOf: latest - 1 });
    expect(await callerid()).toBe('User 1001 <1001>');
    const runsBefore = d.logs.length;
    await d.waitLog(
      'a sync run after the rollback',
      (l) => d.logs.indexOf(l) >= runsBefore && l.msg === 'sync run',
      SLOW,
    );
    expect(await callerid()).toBe('User 1001 <1001>');
    expect((await getStatus(statusPort, TOKEN)).Sync).toBe('Unsynced');

    // SIGTERM: a clean stop.
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(d.logs.some((l) => l.msg === 'stopped')).toBe(true);
    daemon = undefined;
  });
});
