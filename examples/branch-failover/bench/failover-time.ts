/**
 * `pnpm --filter @pbxkit/example-branch-failover measure`: seconds from the main PBX going silent to the DNS
 * answer changing (failover), and from it answering again to the answer changing back (fallback), with the
 * daemon wired as in production (AMI Ping monitor, DNS responder, sync) against two FakeAsterisk, read with
 * `dig`. "Silent" is a WAN black hole: the AMI connection stays open and `Ping`s get no answer, so each probe
 * ends at its timeout. Runs Synch's defaults (interval 5 s, failureTolerance 5, aliveThreshold 5,
 * errorPenaltyPoints 1) and a 1 s interval; MEASURE_ROUNDS (default 2) rounds each, every figure printed.
 *
 * Needs `dig` (PBXKIT_TEST_DIG, or on PATH: scripts/services/dns-tools.sh installs it).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FakeAsterisk, sipAdditionalConf } from '@pbxkit/ami/testing';
import { pino } from 'pino';
import { parseSettings } from '../src/config/settings.js';
import { startDaemon } from '../src/daemon.js';

const run = promisify(execFile);
const dig = process.env.PBXKIT_TEST_DIG ?? 'dig';
const rounds = Number(process.env.MEASURE_ROUNDS ?? 2);
const MAIN = '10.0.0.254';
const BRANCH = '192.168.0.254';
const users = { synch: { secret: 'pw', read: 'all', write: 'system,config' } };

async function answer(port: number): Promise<string> {
  const { stdout } = await run(dig, [
    '@127.0.0.1',
    '-p',
    String(port),
    '+short',
    '+time=1',
    '+tries=1',
    'sip.example.local',
    'A',
  ]);
  return stdout.trim();
}

/** Seconds until the SIP record answers `want`, polled every 50 ms. */
async function secondsUntil(port: number, want: string, since: number): Promise<number> {
  for (;;) {
    if ((await answer(port).catch(() => '')) === want) return (performance.now() - since) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function measure(probe: {
  interval: number;
  failureTolerance: number;
  aliveThreshold: number;
  errorPenaltyPoints: number;
}) {
  const main = await FakeAsterisk.start({ users, recordActions: false });
  main.setConfig('sip_additional.conf', sipAdditionalConf(30));
  const etc = mkdtempSync(join(tmpdir(), 'branch-measure-'));
  const branch = await FakeAsterisk.start({
    users,
    configDir: etc,
    modules: ['chan_sip.so'],
    recordActions: false,
  });
  const { settings } = parseSettings({
    loglevel: { default: 'Error' },
    probemonitor: probe,
    amiremote: { hostname: '127.0.0.1', port: main.port, username: 'synch', password: 'pw' },
    amilocal: { port: branch.port, username: 'synch', password: 'pw' },
    syncmanager: {
      remotefilename: 'sip_additional.conf',
      interval: 300,
      filterkey: 'accountcode',
      filtervalue: '^HeadOffice$',
      localconfigspath: etc,
    },
    dnsservice: {
      listenaddress: '127.0.0.1',
      port: 0,
      domain: 'example.local',
      targetnormal: MAIN,
      targetfailover: BRANCH,
      defaultstate: 'Normal',
    },
    servicecontrol: { token: 't', listenaddress: '127.0.0.1', port: 0 },
  });
  const daemon = await startDaemon(settings, pino({ level: 'silent' }));
  const port = daemon.addresses().dns?.port as number;
  const results: Array<{ failover: number; fallback: number }> = [];
  try {
    // Stable first, so that each round starts from Normal with the counters of a healthy main.
    await new Promise<void>((resolve) =>
      daemon.monitor.state === 'Stable' ? resolve() : daemon.monitor.once('fallback', () => resolve()),
    );
    for (let i = 0; i < rounds; i++) {
      let since = performance.now();
      main.onAction('Ping', () => undefined); // silent: no answer at all
      const failover = await secondsUntil(port, BRANCH, since);
      since = performance.now();
      main.onAction('Ping', () => ({ Ping: 'Pong', Timestamp: (Date.now() / 1000).toFixed(6) }));
      const fallback = await secondsUntil(port, MAIN, since);
      results.push({ failover, fallback });
    }
  } finally {
    await daemon.close();
    await Promise.all([main.close(), branch.close()]);
    rmSync(etc, { recursive: true, force: true });
  }
  return results;
}

console.log(
  `branch failover timing: main PBX silent (Pings unanswered) → DNS answer changes, and back; load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
for (const [name, probe] of [
  [
    "Synch's defaults (interval 5 s, tolerance 5, alive 5, penalty 1)",
    { interval: 5, failureTolerance: 5, aliveThreshold: 5, errorPenaltyPoints: 1 },
  ],
  [
    '1 s interval (tolerance 5, alive 5, penalty 1)',
    { interval: 1, failureTolerance: 5, aliveThreshold: 5, errorPenaltyPoints: 1 },
  ],
] as const) {
  const results = await measure(probe);
  for (const [i, r] of results.entries()) {
    console.log(
      `${name}, round ${i + 1}: failover ${r.failover.toFixed(1)} s, fallback ${r.fallback.toFixed(1)} s`,
    );
  }
}
process.exit(0);
