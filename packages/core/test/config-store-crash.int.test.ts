import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigStore } from '../src/index.js';
import { checkWhole } from './config-store-check.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
// tsx as a loader of this node process (not the tsx CLI, whose grandchild a SIGKILL would miss).
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Runs the child: `commits` versions, then a SIGKILL before step `killAt` of the next. */
function commitThenKill(
  dir: string,
  commits: number,
  killAt: number,
): Promise<{ committed: number[]; killed: boolean }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, join(here, 'config-store-child.ts')], {
      cwd: root,
      env: {
        ...process.env,
        PBXKIT_STORE_DIR: dir,
        PBXKIT_COMMITS: String(commits),
        PBXKIT_KILL_AT: String(killAt),
        TSX_TSCONFIG_PATH: join(root, 'tsconfig.json'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const committed: number[] = [];
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      committed.push((JSON.parse(line) as { committed: number }).committed);
    });
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolvePromise({ committed, killed: signal === 'SIGKILL' });
      else reject(new Error(`child exited (${code}):\n${stderr}`));
    });
  });
}

// Steps of one write (two files, pruning included) are 36: these land in the temp files, their fsyncs, the
// directory fsyncs, just before and after the rename, and inside the pruning.
const KILL_AT = [1, 4, 9, 14, 19, 24, 27, 29, 31, 34];

describe('ConfigStore under kill -9', () => {
  it('a child SIGKILLed at steps across a write: every version is whole, acknowledged ones stay, numbers only grow', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pbxkit-config-kill-'));
    try {
      let highest = 0;
      for (const [round, killAt] of KILL_AT.entries()) {
        const { committed, killed } = await commitThenKill(dir, round % 3, killAt);
        expect(killed).toBe(true);
        if (committed.length > 0) expect(committed[0]).toBe(highest + 1); // numbered on from everything before
        const { versions } = await checkWhole(dir);
        const acknowledged = committed.at(-1) ?? highest;
        if (acknowledged > 0) expect(versions).toContain(acknowledged);
        expect((versions.at(-1) ?? 0) - acknowledged).toBeLessThanOrEqual(1); // the killed write: whole or absent
        highest = versions.at(-1) ?? 0;
        const store = await ConfigStore.open({ dir, retain: 3, fsync: false });
        expect((await readdir(dir)).every((n) => /^\d+$/.test(n))).toBe(true);
        for (const info of await store.list()) await store.get(info.version);
      }
      expect(highest).toBeGreaterThanOrEqual(KILL_AT.length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
