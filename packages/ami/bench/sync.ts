/**
 * `pnpm --filter @pbxkit/ami bench:sync`: one AsteriskConfigSync run end to end (GetConfig of a 300-user
 * sip_additional.conf on one FakeAsterisk, filter keeping 100, render, apply, Reload, read back, ConfigStore
 * version), against a second FakeAsterisk as the branch, over loopback TCP; both write modes (a file under
 * localconfigspath; staging through UpdateConfig), beside a Synch-style run (GetConfig, one dictionary per
 * category, candidate file, one UpdateConfig copy with a full reload), which loses repeated keys and checks
 * nothing. Fresh servers and store per run; the median of BENCH_RUNS (default 5) runs, wall and CPU time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AmiClient, AsteriskConfigSync } from '@pbxkit/ami';
import { FakeAsterisk, sipAdditionalConf } from '@pbxkit/ami/testing';
import { ConfigStore } from '@pbxkit/core';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const USERS = 300;
type Side = 'pbxkit-file' | 'pbxkit-ami' | 'synch-style';

function client(fake: FakeAsterisk): AmiClient {
  return new AmiClient({
    host: fake.host,
    port: fake.port,
    username: 'admin',
    secret: 'secret',
    keepalive: false,
  });
}

/** Synch's SyncManager, as its code does it: last value of each key wins, no templates, reload everything. */
async function synchStyle(remote: AmiClient, local: AmiClient, dir: string): Promise<number> {
  const reply = await remote.action({ Action: 'GetConfig', Filename: 'sip_additional.conf' });
  const cats = new Map<string, Map<string, string>>();
  const names = new Map<string, string>();
  reply.keys.forEach((key, i) => {
    const value = reply.values[i] as string;
    if (key.startsWith('Category-')) {
      names.set(key.slice(9), value);
      cats.set(value, new Map([['categoryname', value]]));
    } else if (key.startsWith('Line-')) {
      const [k, v] = value.split('=');
      cats.get(names.get(key.slice(5, 11)) as string)?.set((k as string).trim(), (v ?? '').trim());
    }
  });
  const kept = [...cats.values()].filter((c) => /^HeadOffice$/.test(c.get('accountcode') ?? ''));
  const lines = kept.flatMap((c) => [
    `[${c.get('categoryname')}]`,
    ...[...c].map(([k, v]) => `${k}=${v}`),
    '',
  ]);
  writeFileSync(join(dir, 'candidate.conf'), lines.join('\n'));
  await local.action({
    Action: 'UpdateConfig',
    SrcFilename: 'candidate.conf',
    DstFilename: 'sip_synch.conf',
    Reload: 'yes',
  });
  return kept.length;
}

async function once(side: Side): Promise<{ wallMs: number; cpuMs: number; users: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'pbxkit-bench-etc-'));
  const storeDir = mkdtempSync(join(tmpdir(), 'pbxkit-bench-store-'));
  const main = await FakeAsterisk.start({ recordActions: false });
  main.setConfig('sip_additional.conf', sipAdditionalConf(USERS));
  const branch = await FakeAsterisk.start({ recordActions: false, modules: ['chan_sip.so'], configDir: dir });
  writeFileSync(join(dir, 'sip_synch.conf'), '');
  const remote = client(main);
  const local = client(branch);
  await Promise.all([remote.connect(), local.connect()]);
  const store = await ConfigStore.open({ dir: storeDir });
  const started = performance.now();
  const cpu = process.cpuUsage();
  let users: number;
  if (side === 'synch-style') {
    users = await synchStyle(remote, local, dir);
  } else {
    const sync = new AsteriskConfigSync({
      remote,
      local,
      store,
      filter: { key: 'accountcode', value: '^HeadOffice$' },
      localConfigsPath: side === 'pbxkit-file' ? dir : undefined,
    });
    const result = await sync.sync();
    if (result.outcome !== 'applied') throw new Error(`${side}: ${result.outcome} ${result.reason}`);
    users = result.users ?? 0;
  }
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  await Promise.all([remote.close(), local.close()]);
  await Promise.all([main.close(), branch.close()]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(storeDir, { recursive: true, force: true });
  return { wallMs, cpuMs: (used.user + used.system) / 1000, users };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const sides: Side[] = ['pbxkit-file', 'pbxkit-ami', 'synch-style'];
const results = Object.fromEntries(
  sides.map((s) => [s, [] as Array<{ wallMs: number; cpuMs: number; users: number }>]),
);
await once('pbxkit-file'); // warm-up: module loading and JIT
for (let i = 0; i < runs; i++) for (const side of sides) results[side]?.push(await once(side));

console.log(`sync of a ${USERS}-user sip_additional.conf (filter keeps 100), end to end over loopback AMI`);
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, median of ${runs} runs (wall and CPU time of this process, both fakes included)`,
);
for (const side of sides) {
  const r = results[side] ?? [];
  const wall = median(r.map((x) => x.wallMs));
  const cpuMs = median(r.map((x) => x.cpuMs));
  console.log(
    `${side.padEnd(12)} ${wall.toFixed(0).padStart(6)} ms wall  ${cpuMs.toFixed(0).padStart(6)} ms CPU  users ${r[0]?.users}${side.startsWith('pbxkit') ? (wall < 1000 ? '  (under 1 s)' : '  (OVER 1 s)') : ''}`,
  );
}
const ratio =
  median((results['pbxkit-file'] ?? []).map((x) => x.wallMs)) /
  median((results['synch-style'] ?? []).map((x) => x.wallMs));
console.log(`pbxkit-file / synch-style wall time: ${ratio.toFixed(2)}`);
process.exit(0);
