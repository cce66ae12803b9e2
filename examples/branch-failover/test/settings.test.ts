import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../../../scripts/test-env.js';
import { loadSettings, parseSettings } from '../src/config/settings.js';

const example = join(FIXTURES_DIR, 'synch', 'appsettings.readme.json');

function withFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'branch-settings-')), name);
  writeFileSync(path, text);
  return path;
}

const minimal = {
  amiremote: { hostname: '10.0.0.254', username: 'synch', password: 'pw' },
  amilocal: { username: 'synch', password: 'pw' },
  dnsservice: { domain: 'example.local', targetnormal: '10.0.0.254', targetfailover: '192.168.0.254' },
  servicecontrol: { token: 'token1' },
};

describe('branch-failover settings', () => {
  it("reads the appsettings.json of Synch's README as written, comments included", () => {
    const { settings, unknownKeys } = loadSettings(example);
    expect(unknownKeys).toEqual([]);
    expect(settings.logLevel).toBe('info');
    expect(settings.probe).toMatchObject({
      type: 'ami',
      policy: 'synch',
      failureTolerance: 5,
      aliveThreshold: 5,
      errorPenaltyPoints: 1,
      intervalMs: 5000,
      timeoutMs: 4000,
    });
    expect(settings.remote).toEqual({
      host: '10.0.0.254',
      port: 5038,
      username: 'synch',
      password: 'SomePasswordHere',
    });
    expect(settings.local.host).toBe('127.0.0.1');
    expect(settings.sync).toMatchObject({
      enabled: true,
      remoteFiles: ['sip_additional.conf'],
      localFile: 'sip_synch.conf',
      intervalMs: 300_000,
      filter: { key: 'accountcode', value: '^HeadOffice$' },
      localConfigsPath: '/etc/asterisk/',
      versionsDir: '/etc/asterisk/synch/versions',
    });
    expect(settings.dns).toMatchObject({
      listenAddress: '192.168.0.254',
      port: 53,
      zone: 'example.local',
      record: 'sip',
      recordTtl: 300,
      targets: { normal: ['10.0.0.254'], failover: ['192.168.0.254'] },
      forwarder: '1.1.1.1',
      soa: { refresh: 300, retry: 300, expire: 300, minimum: 300 },
      defaultState: 'Failover',
    });
    expect(settings.status).toEqual({
      token: 'token1',
      listenAddress: '127.0.0.1',
      port: 65038,
      httpPort: undefined,
    });
  });

  it("reads Synch's shipped appsettings.json (BOM, no comments)", () => {
    const { settings, unknownKeys } = loadSettings(join(FIXTURES_DIR, 'synch', 'appsettings.json'));
    expect(unknownKeys).toEqual([]);
    expect(settings.dns.recordTtl).toBe(150);
  });

  it('matches keys in any case, as .NET does, and takes a BOM and trailing commas', () => {
    const path = withFile(
      'appsettings.json',
      '\uFEFF{"ProbeMonitor": {"Interval": "1", "FailureTolerance": 3,}, "AmiRemote": {"HostName": "10.0.0.1", "UserName": "u", "Password": "p"}, "amilocal": {"username": "u", "password": "p"}, "DnsService": {"Domain": "example.local", "TargetNormal": "10.0.0.1", "TargetFailover": "10.0.0.2", "DefaultState": "normal"}, "ServiceControl": {"Token": "t"},}',
    );
    const { settings } = loadSettings(path);
    expect(settings.probe).toMatchObject({ intervalMs: 1000, failureTolerance: 3 });
    expect(settings.dns.defaultState).toBe('Normal');
    expect(settings.sync.enabled).toBe(false);
  });

  it('reads our YAML with its extensions: DNS port, SRV, PJSIP, probe type', () => {
    const path = withFile(
      'branch.yaml',
      `
probemonitor: { interval: 1, type: tcp, policy: gdnsd }
amiremote: { hostname: 10.0.0.254, username: synch, password: pw }
amilocal: { username: synch, password: pw }
syncmanager: { technology: pjsip, filterkey: accountcode, filtervalue: ^HeadOffice$, applymode: ami, versionsdir: /var/lib/x }
dnsservice:
  domain: example.local
  port: 5353
  targetnormal: [10.0.0.254, "2001:db8::1"]
  targetfailover: 192.168.0.254
  srv: { owner: "@", transports: "udp,tcp" }
servicecontrol: { token: t, httpport: 8080 }
`,
    );
    const { settings } = loadSettings(path);
    expect(settings.probe).toMatchObject({ type: 'tcp', policy: 'gdnsd' });
    expect(settings.sync).toMatchObject({
      technology: 'pjsip',
      remoteFiles: ['pjsip.endpoint.conf', 'pjsip.aor.conf', 'pjsip.auth.conf'],
      localFile: 'pjsip_synch.conf',
      localConfigsPath: undefined,
    });
    expect(settings.dns).toMatchObject({
      port: 5353,
      targets: { normal: ['10.0.0.254', '2001:db8::1'] },
      srv: { owner: '@', transports: ['udp', 'tcp'] },
    });
    expect(settings.status.httpPort).toBe(8080);
  });

  it.each([
    [{ amiremote: { hostname: 'x', username: 'u' } }, 'amiremote.password: missing (required)'],
    [{ probemonitor: { interval: 'five' } }, 'probemonitor.interval: expected a number, got "five"'],
    [{ probemonitor: { failureTolerance: 0 } }, 'probemonitor.failureTolerance: must be >= 1, got 0'],
    [
      { probemonitor: { interval: 1, timeout: 2 } },
      'probemonitor.timeout: must be below probemonitor.interval (1 s)',
    ],
    [
      { dnsservice: { ...minimal.dnsservice, targetnormal: 'pbx.example.com' } },
      'dnsservice.targetnormal: "pbx.example.com" is not an IP address',
    ],
    [
      { dnsservice: { ...minimal.dnsservice, defaultstate: 'Init' } },
      'dnsservice.defaultstate: expected one of Normal, Failover, got "Init"',
    ],
    [
      { syncmanager: { filterkey: 'accountcode', filtervalue: '^(Head' } },
      'syncmanager.filtervalue: filter value "^(Head" is not a valid regular expression',
    ],
    [{ servicecontrol: { token: ' ' } }, 'servicecontrol.token: must not be empty'],
    [
      { loglevel: { default: 'Verbose' } },
      'loglevel.default: expected Trace, Debug, Information, Warning, Error or Critical, got "Verbose"',
    ],
  ])('names the key and the problem: %j', (change, message) => {
    expect(() => parseSettings({ ...minimal, ...change })).toThrow(message);
  });

  it('reports keys nothing reads, and says where a JSON file is broken', () => {
    expect(
      parseSettings({ ...minimal, dnsservice: { ...minimal.dnsservice, recordtll: 30 } }).unknownKeys,
    ).toEqual(['dnsservice.recordtll']);
    const path = withFile(
      'appsettings.json',
      '{\n  "probemonitor": {\n    "interval": 5\n    "failureTolerance": 5\n  }\n}',
    );
    expect(() => loadSettings(path)).toThrow(/is not valid JSON: .* at line 4, column 5/);
  });
});
