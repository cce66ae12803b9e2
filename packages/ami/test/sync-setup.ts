import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsteriskConfigSync, type AsteriskConfigSyncOptions } from '@pbxkit/ami';
import { type FakeAsterisk, type FakeAsteriskOptions, sipAdditionalConf } from '@pbxkit/ami/testing';
import { ConfigStore } from '@pbxkit/core';
import { clientFor, newRegistry, onCleanup, startFake } from './helpers.js';

/** A temporary directory removed after the test. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A main PBX serving `sip_additional.conf` (300 users unless given) and a branch with chan_sip loaded. */
export async function mainAndBranch(
  options: { users?: number; branch?: FakeAsteriskOptions; main?: FakeAsteriskOptions } = {},
): Promise<{ main: FakeAsterisk; branch: FakeAsterisk }> {
  const main = await startFake(options.main);
  main.setConfig('sip_additional.conf', sipAdditionalConf(options.users ?? 300));
  const branch = await startFake({ modules: ['chan_sip.so', 'res_pjsip.so'], ...options.branch });
  return { main, branch };
}

/** A sync from `main` to `branch` with a fresh store, filtered to the HeadOffice users unless told. */
export async function syncFor(
  main: FakeAsterisk,
  branch: FakeAsterisk,
  options: Partial<AsteriskConfigSyncOptions> = {},
): Promise<{ sync: AsteriskConfigSync; store: ConfigStore; registry: ReturnType<typeof newRegistry> }> {
  const store = await ConfigStore.open({ dir: await tempDir('pbxkit-sync-store-'), fsync: false });
  const registry = newRegistry();
  const sync = new AsteriskConfigSync({
    remote: clientFor(main),
    local: clientFor(branch),
    store,
    filter: { key: 'accountcode', value: '^HeadOffice$' },
    registry,
    ...options,
  });
  onCleanup(async () => sync.stop());
  return { sync, store, registry };
}
