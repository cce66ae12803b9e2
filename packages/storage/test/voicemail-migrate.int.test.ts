import { randomUUID } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pgClient } from '@pbxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, testS3 } from '../../../scripts/test-env.js';
import { runVoicemailCli } from '../src/cli/voicemail.js';
import { createVoicemailHandler, ModVoicemailIndex, sha256Of } from '../src/index.js';
import { get, listen, tempDir } from './helpers.js';
import { s3Backend } from './s3-helpers.js';
import { FUSIONPBX_DDL, MOD_VOICEMAIL_DDL, ownDatabase, sha, wavBytes } from './vm-helpers.js';

const SWITCH_ROOT = '/srv/fs-cap/storage/voicemail';

/** Every file under `dir` with its size and mtime: what FreeSWITCH sees. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const st = await stat(path);
    out.push(`${path} ${st.size} ${st.mtimeMs}`);
  }
  return out.sort();
}

describe('pbxkit-voicemail import: a GlusterFS-style tree and FusionPBX base64 rows into the shared tier', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  let tree: { dir: string; cleanup: () => Promise<void> };
  const bucket = `pbxkit-vmimport-${process.pid}-${Date.now().toString(36)}`;
  const shared = s3Backend(bucket, { prefix: 'voicemail' });
  const files = new Map<string, Buffer>();
  const { endpoint, accessKeyId, secretAccessKey } = testS3();
  const env = {
    PBXKIT_STORAGE_S3_BUCKET: bucket,
    PBXKIT_STORAGE_S3_ENDPOINT: endpoint,
    PBXKIT_STORAGE_S3_FORCE_PATH_STYLE: 'true',
    PBXKIT_STORAGE_S3_ACCESS_KEY_ID: accessKeyId,
    PBXKIT_STORAGE_S3_SECRET_ACCESS_KEY: secretAccessKey,
  };
  const cli = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await runVoicemailCli(args, {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
      env,
    });
    return { code, out, err };
  };

  beforeAll(async () => {
    db = await ownDatabase('pbxkit_vm_import');
    await db.pool.query(MOD_VOICEMAIL_DDL);
    await db.pool.query(FUSIONPBX_DDL);
    await shared.ensureBucket();
    tree = await tempDir('vm-gluster-');
    // The real capture's tree (paths and sizes), its rows, a greeting and a file without a row.
    for (const line of fixture('fs-modules', 'voicemail', 'storage-voicemail-tree.txt')
      .toString()
      .split('\n')) {
      const m = /^f\s+(\d+) \S+ \S+ voicemail\/(.+)$/.exec(line);
      if (m) files.set(m[2] as string, wavBytes(Number(m[1])));
    }
    files.set('default/127.0.0.1/1001/greeting_1.wav', wavBytes(30_000));
    files.set('default/127.0.0.1/1001/msg_00000000-1111-4222-8333-444444444444.wav', wavBytes(1000));
    for (const [key, bytes] of files) {
      await mkdir(dirname(join(tree.dir, key)), { recursive: true });
      await writeFile(join(tree.dir, key), bytes);
    }
    const [, ...rows] = fixture('fs-modules', 'voicemail', 'voicemail_msgs.csv')
      .toString()
      .trim()
      .split('\n');
    for (const line of rows) {
      const row = [...line.matchAll(/("([^"]*)"|[^,]*)(,|$)/g)].slice(0, 13).map((x) => x[2] ?? x[1] ?? '');
      await db.pool.query(
        `insert into voicemail_msgs values (${row.map((_, i) => `$${i + 1}`).join(', ')})`,
        row,
      );
    }
  });
  afterAll(async () => {
    await tree?.cleanup();
    await db?.drop();
  });

  it('imports every message with a row and the greeting, proved, leaves the tree as it was, and is idempotent', async () => {
    const before = await snapshot(tree.dir);
    const args = ['import', '--tree', tree.dir, '--database', db.url, '--switch-root', SWITCH_ROOT];
    const dry = await cli([...args, '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.out)).toMatchObject({
      imported: 0,
      orphans: ['default/127.0.0.1/1001/msg_00000000-1111-4222-8333-444444444444.wav'],
    });
    await expect(
      shared.stat('default/127.0.0.1/1000/msg_f39c75fe-2773-4e97-842f-96c36a09ceca.wav'),
    ).rejects.toThrow();

    const first = await cli(args);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^scanned 6, imported 5, already there 0, orphans 1, failed 0\n/);
    expect(first.out).toContain(
      'orphan (no database row, not imported): default/127.0.0.1/1001/msg_00000000',
    );
    for (const [key, bytes] of files) {
      if (key.includes('msg_00000000')) continue;
      expect(await sha256Of(shared, key)).toBe(sha(bytes));
    }
    expect(
      (await shared.stat('default/127.0.0.1/1000/msg_f39c75fe-2773-4e97-842f-96c36a09ceca.wav')).metadata?.[
        'vm-uuid'
      ],
    ).toBe('7ce03731-996d-43fa-99b4-86e8070025e5');
    expect(await snapshot(tree.dir)).toEqual(before);

    const again = await cli([...args, '--json']);
    expect(JSON.parse(again.out)).toMatchObject({ imported: 0, present: 5, failed: [] });

    // The portal serves an imported message by its row's uuid, from S3 alone.
    const portal = createVoicemailHandler({
      index: new ModVoicemailIndex(pgClient(db.pool), { root: SWITCH_ROOT }),
      shared,
    });
    const s = await listen((req, res) => void portal(req, res));
    try {
      const r = await get(`${s.url}/voicemail/127.0.0.1/1000/7ce03731-996d-43fa-99b4-86e8070025e5`);
      expect([r.status, sha(r.body)]).toEqual([
        200,
        sha(files.get('default/127.0.0.1/1000/msg_f39c75fe-2773-4e97-842f-96c36a09ceca.wav') as Buffer),
      ]);
    } finally {
      await s.close();
    }
  });

  it("imports FusionPBX messages kept base64 in v_voicemail_messages at the key FusionPBX's scripts would write", async () => {
    const domain = randomUUID();
    const box = randomUUID();
    const id = randomUUID();
    const audio = wavBytes(12_345);
    await db.pool.query(`insert into v_domains (domain_uuid, domain_name) values ($1, 'pbx.example.com')`, [
      domain,
    ]);
    await db.pool.query(
      `insert into v_voicemails (domain_uuid, voicemail_uuid, voicemail_id) values ($1, $2, '201')`,
      [domain, box],
    );
    await db.pool.query(
      `insert into v_voicemail_messages (domain_uuid, voicemail_message_uuid, voicemail_uuid, created_epoch, read_epoch, message_status, message_base64)
       values ($1, $2, $3, 1796194100, 0, '', $4)`,
      [domain, id, box, audio.toString('base64')],
    );
    const run = await cli(['import', '--base64', '--schema', 'fusionpbx', '--database', db.url, '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ imported: 1, failed: [] });
    expect(await sha256Of(shared, `default/pbx.example.com/201/msg_${id}.wav`)).toBe(sha(audio));
  });

  it('refuses bad usage with exit code 2 and one line', async () => {
    const r = await cli(['import', '--tree', tree.dir]);
    expect([r.code, r.err]).toEqual([
      2,
      "pbxkit-voicemail: --database is required (see 'pbxkit-voicemail --help')\n",
    ]);
    expect((await cli(['import', '--base64', '--database', db.url])).code).toBe(2);
  });
});
