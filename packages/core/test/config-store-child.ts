// Commits PBXKIT_COMMITS versions to the store in PBXKIT_STORE_DIR, printing {"committed":n} after each, then
// starts one more and SIGKILLs itself right before its PBXKIT_KILL_AT-th disk-changing step (the same steps as
// config-store-crash.test.ts counts). Exits normally if that write has fewer steps.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { ConfigStore } from '../src/config-store/config-store.js';
import { type CrashPlan, crashingFs } from './crash-fs.js';

const plan: CrashPlan = {
  armed: false,
  killAt: Number(process.env.PBXKIT_KILL_AT),
  ops: 0,
  trace: [],
  crash() {
    process.kill(process.pid, 'SIGKILL');
    return new Promise<never>(() => {});
  },
};
// The store imports node:fs/promises; its bindings follow the patched functions after this sync.
Object.assign(fs.promises, crashingFs({ ...fs.promises }, plan));
syncBuiltinESMExports();

const store = await ConfigStore.open({ dir: process.env.PBXKIT_STORE_DIR as string, retain: 3 });
const commit = async (n: number) => {
  const v = await store.commit(
    { 'sip_synch.conf': `[100${n}]\ncallerid=${n}\n`, 'routing/r.conf': `n=${n}\n` },
    { source: 'crash-test', appliedBy: `child ${process.pid}` },
  );
  process.stdout.write(`${JSON.stringify({ committed: v.version })}\n`);
};
const commits = Number(process.env.PBXKIT_COMMITS);
for (let i = 0; i < commits; i++) await commit(i);
plan.armed = true;
await commit(commits);
