import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigStore } from '../src/index.js';
import { checkWhole } from './config-store-check.js';
import { type CrashPlan, openHandles } from './crash-fs.js';

// A crash is simulated by an operation that never returns: no clean-up code of the store runs after it, as
// after a SIGKILL. Every step of a write is tried in turn.
const plan = vi.hoisted((): CrashPlan & { crashed: () => void } => ({
  armed: false,
  killAt: 0,
  ops: 0,
  trace: [],
  crashed: () => {},
  crash() {
    this.crashed();
    return new Promise<never>(() => {});
  },
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const { crashingFs } = await import('./crash-fs.js');
  return { ...real, ...crashingFs(real, plan) };
});

const dirs: string[] = [];
afterEach(async () => {
  plan.armed = false;
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const META = { source: 'crash-test', appliedBy: 'test' };
const files = (n: number) => ({
  'sip_synch.conf': `[100${n}]\ncallerid=${n}\n`,
  'routing/r.conf': `n=${n}\n`,
});

describe('ConfigStore: a crash at any step of a write', () => {
  it('leaves every version whole, loses nothing committed, and numbering goes on from the highest', async () => {
    let steps = 0;
    for (let killAt = 1; ; killAt++) {
      const dir = await mkdtemp(join(tmpdir(), 'pbxkit-config-step-'));
      dirs.push(dir);
      // Setting up and checking need no fsync (a process crash is simulated, not a power loss); the write
      // that crashes does every fsync, so that each one is a step.
      const setup = await ConfigStore.open({ dir, retain: 2, fsync: false });
      for (let n = 1; n <= 3; n++) await setup.commit(files(n), META); // versions 2 and 3 kept
      const store = await ConfigStore.open({ dir, retain: 2 });

      Object.assign(plan, { armed: true, killAt, ops: 0, trace: [] });
      const crashed = new Promise<'crashed'>((resolve) => {
        plan.crashed = () => resolve('crashed');
      });
      const outcome = await Promise.race([store.commit(files(4), META).then(() => 'done' as const), crashed]);
      plan.armed = false;
      if (outcome === 'done') break; // killAt is past the last step: every step was tried
      for (const h of openHandles) await h.close(); // as the kernel does for a dead process
      openHandles.clear();
      steps = killAt;

      const { versions } = await checkWhole(dir);
      // 3 was acknowledged; 4 is there whole or not at all; 2 is there unless its pruning had begun.
      expect(versions).toContain(3);
      expect(versions.every((v) => v >= 2 && v <= 4)).toBe(true);
      const reopened = await ConfigStore.open({ dir, retain: 2, fsync: false });
      expect((await readdir(dir)).every((n) => /^\d+$/.test(n))).toBe(true);
      for (const info of await reopened.list()) await reopened.get(info.version);
      const next = await reopened.commit(files(5), META);
      expect(next.version).toBe(Math.max(...versions) + 1);
      expect((await reopened.get(next.version)).contents).toEqual(files(5));
    }
    // Enough steps to cover temp files, fsyncs, the rename and the pruning that follows.
    expect(steps).toBeGreaterThanOrEqual(30);
  }, 60_000);
});
