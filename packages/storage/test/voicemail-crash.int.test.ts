import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Of } from '../src/index.js';
import { s3Backend } from './s3-helpers.js';
import { MOD_VOICEMAIL_DDL, ownDatabase, wavBytes } from './vm-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('voicemail agent killed with SIGKILL mid-upload', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  let dir: string;
  const bucket = `pbxkit-vmcrash-${process.pid}-${Date.now().toString(36)}`;
  const shared = s3Backend(bucket, { prefix: 'voicemail' });
  const files = new Map<string, Buffer>();

  beforeAll(async () => {
    db = await ownDatabase('pbxkit_vm_crash');
    await db.pool.query(MOD_VOICEMAIL_DDL);
    await shared.ensureBucket();
    dir = await mkdtemp(join(tmpdir(), 'vm-crash-'));
    for (let i = 0; i < 4; i++) {
      const key = `default/pbx.example.com/100${i}/msg_${randomUUID()}.wav`;
      const bytes = wavBytes(700_000);
      await mkdir(dirname(join(dir, key)), { recursive: true });
      await writeFile(join(dir, key), bytes);
      await db.pool.query(
        `insert into voicemail_msgs values ($1, 0, $2, 'pbx.example.com', $3, 'Bob', '5551002', 'inbox', $4, 12, '', 'B_NORMAL', '')`,
        [Math.floor(Date.now() / 1000), `100${i}`, randomUUID(), join(dir, key)],
      );
      files.set(key, bytes);
    }
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function run(
    slow: boolean,
    killOnWrite: boolean,
  ): Promise<{ done?: { uploaded: number; failed: unknown[] }; killed: boolean }> {
    // node itself with tsx as a loader, so that SIGKILL reaches the agent and not a wrapper.
    const proc = spawn(process.execPath, ['--import', 'tsx', join(here, 'voicemail-agent-child.ts')], {
      cwd: resolve(here, '..'),
      env: {
        ...process.env,
        TSX_TSCONFIG_PATH: join(root, 'tsconfig.json'),
        VM_ROOT: dir,
        VM_DB_URL: db.url,
        VM_BUCKET: bucket,
        VM_SLOW: slow ? '1' : '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return new Promise((resolve, reject) => {
      let done: { uploaded: number; failed: unknown[] } | undefined;
      createInterface({ input: proc.stdout }).on('line', (line) => {
        if (!line.startsWith('{')) return;
        const message = JSON.parse(line) as {
          writing?: string;
          done?: { uploaded: number; failed: unknown[] };
        };
        if (message.writing && killOnWrite) proc.kill('SIGKILL');
        if (message.done) done = message.done;
      });
      proc.on('error', reject);
      proc.on('exit', (_code, signal) =>
        resolve({ ...(done ? { done } : {}), killed: signal === 'SIGKILL' }),
      );
    });
  }

  // Three child processes, each starting tsx: a minute or more on a loaded machine.
  it('keeps every local file, and the next reconcile uploads them all, proved', {
    timeout: 300_000,
  }, async () => {
    const first = await run(true, true);
    expect(first.killed).toBe(true);
    expect(first.done).toBeUndefined();
    // Nothing was deleted or damaged on the node.
    for (const [key, bytes] of files) expect(sha(await readFile(join(dir, key)))).toBe(sha(bytes));
    // Whatever reached the bucket is whole (a PUT cut short stores nothing).
    for (const [key, bytes] of files) {
      const info = await shared.stat(key).catch(() => undefined);
      if (info) expect(info.size).toBe(bytes.length);
    }

    const second = await run(false, false);
    expect(second.done?.failed).toEqual([]);
    expect(second.done?.uploaded).toBeGreaterThanOrEqual(1);
    for (const [key, bytes] of files) {
      expect(await sha256Of(shared, key)).toBe(sha(bytes));
      expect((await shared.stat(key)).metadata?.sha256).toBe(sha(bytes));
      expect(sha(await readFile(join(dir, key)))).toBe(sha(bytes));
    }
    // A third pass has nothing left to do.
    const third = await run(false, false);
    expect(third.done).toMatchObject({ uploaded: 0, failed: [] });
  });
});
