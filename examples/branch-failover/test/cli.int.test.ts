import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeAsterisk, sipAdditionalConf } from '@pbxkit/ami/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { startDaemonProcess } from './e2e-helpers.js';

const users = { synch: { secret: 'pw', read: 'all', write: 'system,config' } };

describe('the command line, as the README shows it', () => {
  let dir: string;
  const servers: FakeAsterisk[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('--dry-run prints the probe, the DNS answers and the file it would write, and creates nothing', async () => {
    dir = await mkdtemp(join(tmpdir(), 'branch-cli-'));
    const main = await FakeAsterisk.start({ users });
    main.setConfig('sip_additional.conf', sipAdditionalConf(30));
    servers.push(main);
    const etc = join(dir, 'etc');
    const config = join(dir, 'appsettings.json');
    await writeFile(
      config,
      JSON.stringify({
        amiremote: { hostname: '127.0.0.1', port: main.port, username: 'synch', password: 'pw' },
        amilocal: { port: 1, username: 'synch', password: 'pw' },
        syncmanager: {
          remotefilename: 'sip_additional.conf',
          filterkey: 'accountcode',
          filtervalue: '^HeadOffice$',
          localconfigspath: etc,
        },
        dnsservice: {
          domain: 'example.local',
          targetnormal: '10.0.0.254',
          targetfailover: '192.168.0.254',
          defaultstate: 'Failover',
        },
        servicecontrol: { token: 'token1' },
      }),
    );
    const d = startDaemonProcess(config, ['--dry-run']);
    expect(await d.exited).toBe(0);
    const out = d.logs.map((l) => l.msg).join('\n');
    expect(out).toContain(
      'dns: sip.example.local on 0.0.0.0:53 answers 10.0.0.254 (normal) or 192.168.0.254 (failover)',
    );
    expect(out).toContain('starts Failover');
    expect(out).toContain('would write sip_synch.conf with 10 users:');
    expect(out).toContain('+[1001]');
    expect(existsSync(etc)).toBe(false);
  });

  it('a bad setting is one line naming the key, and exit code 2', async () => {
    const config = join(dir, 'bad.json');
    await writeFile(config, JSON.stringify({ dnsservice: { targetnormal: 'pbx.example.com' } }));
    const d = startDaemonProcess(config);
    expect(await d.exited).toBe(2);
    expect(d.stderr()).toMatch(
      /^pbxkit-branch-failover: .*bad\.json: amiremote\.hostname: missing \(required\)\n$/,
    );
  });
});
