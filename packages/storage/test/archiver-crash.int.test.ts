import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function fileOrUndefined(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch {
    return undefined;
  }
}

/** Starts the archiver child; kills it with SIGKILL after `killAfterSteps` progress lines (or lets it finish). */
function runChild(
  env: Record<string, string>,
  killAfterSteps?: number,
): Promise<{ steps: number; done: boolean; killed: boolean; stderr: string }> {
  return new Promise((resolvePromise) => {
    // node itself with tsx as a loader (not the tsx CLI, which runs node as a grandchild SIGKILL would miss).
    const proc = spawn(process.execPath, ['--import', 'tsx', join(here, 'archiver-child.ts')], {
      cwd: resolve(here, '..'),
      env: { ...process.env, ...env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let steps = 0;
    let done = false;
    let killed = false;
    let stderr = '';
    proc.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = JSON.parse(line) as { step?: string; done?: unknown };
      if (m.done) {
        done = true;
        stderr += JSON.stringify(m.done);
      }
      if (m.step) steps++;
      if (killAfterSteps !== undefined && steps >= killAfterSteps && !killed) {
        killed = true;
        proc.kill('SIGKILL');
      }
    });
    proc.on('exit', () => resolvePromise({ steps, done, killed, stderr }));
  });
}

describe('Archiver crash safety', () => {
  it('SIGKILLed mid-run three times: every file is always in the source or verified in the target; the last run finishes', async () => {
    const t = await tempDir();
    try {
      const src = join(t.dir, 'local');
      const dst = join(t.dir, 's3');
      await mkdir(src);
      await mkdir(dst);
      const originals = new Map<string, string>();
      for (let i = 0; i < 24; i++) {
        const key = `d/${String(i).padStart(8, '0')}-1111-4222-8333-444455556666.wav`;
        const body = randomBytes(128 * 1024 + i * 16 * 1024);
        await mkdir(join(src, 'd'), { recursive: true });
        const { writeFile } = await import('node:fs/promises');
        await writeFile(join(src, key), body);
        originals.set(key, sha(body));
      }
      const env = { ARCH_SOURCE: src, ARCH_TARGET: dst, ARCH_JOURNAL: join(t.dir, 'journal') };

      const checkNothingLost = async () => {
        for (const [key, digest] of originals) {
          const local = await fileOrUndefined(join(src, key));
          if (local) {
            expect(sha(local)).toBe(digest); // never altered
            continue;
          }
          const archived = await fileOrUndefined(join(dst, key));
          expect(archived, `${key} deleted locally but not in the target`).toBeDefined();
          expect(sha(archived as Buffer), `${key} deleted locally, target copy differs`).toBe(digest);
        }
      };

      for (const killAt of [3, 10, 17]) {
        const r = await runChild(env, killAt);
        expect(r.killed, `${JSON.stringify(r)}`).toBe(true);
        expect(r.done).toBe(false);
        await checkNothingLost();
      }
      const last = await runChild(env);
      expect(last.done, last.stderr).toBe(true);
      await checkNothingLost();
      expect(await readdir(join(src, 'd'))).toEqual([]);
      for (const [key, digest] of originals) expect(sha(await readFile(join(dst, key)))).toBe(digest);
    } finally {
      await t.cleanup();
    }
  }, 120_000);
});
