import { randomUUID } from 'node:crypto';
import { pgClient } from '@pbxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../scripts/test-env.js';
import { FusionPbxVoicemailIndex, ModVoicemailIndex } from '../src/index.js';
import { FUSIONPBX_DDL, MOD_VOICEMAIL_DDL, ownDatabase } from './vm-helpers.js';

const ROOT = '/srv/fs-cap/storage/voicemail';

/** The real voicemail_msgs rows of the capture (CSV as sqlite3 exported it: quotes only where needed). */
function capturedRows(): string[][] {
  const [, ...lines] = fixture('fs-modules', 'voicemail', 'voicemail_msgs.csv').toString().trim().split('\n');
  return lines.map((line) =>
    [...line.matchAll(/("([^"]*)"|[^,]*)(,|$)/g)].slice(0, 13).map((m) => m[2] ?? m[1] ?? ''),
  );
}

describe('voicemail index on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;

  beforeAll(async () => {
    db = await ownDatabase('pbxkit_vm_index');
    await db.pool.query(MOD_VOICEMAIL_DDL);
    await db.pool.query(FUSIONPBX_DDL);
    for (const row of capturedRows()) {
      await db.pool.query(
        `insert into voicemail_msgs values (${row.map((_, i) => `$${i + 1}`).join(', ')})`,
        row,
      );
    }
    await db.pool.query(`insert into voicemail_prefs values ('1001', '127.0.0.1', $1, $2, '9876')`, [
      `${ROOT}/default/127.0.0.1/1001/recorded_name.wav`,
      `${ROOT}/default/127.0.0.1/1001/greeting_1.wav`,
    ]);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("lists a mod_voicemail mailbox from the module's real rows, with the file's key and the read state", async () => {
    const index = new ModVoicemailIndex(pgClient(db.pool), { root: ROOT });
    const box = await index.list('127.0.0.1', '1000');
    expect(box.map((m) => [m.uuid, m.key, m.status, m.read, m.callerName, m.lengthSeconds])).toEqual([
      [
        '7ce03731-996d-43fa-99b4-86e8070025e5',
        'default/127.0.0.1/1000/msg_f39c75fe-2773-4e97-842f-96c36a09ceca.wav',
        'saved',
        true,
        'Alice Caller',
        9,
      ],
      [
        'cfce6adc-6eb3-4fea-a193-d7b26d457d27',
        'default/127.0.0.1/1000/msg_64b37fd1-db40-4fa3-88da-fe835f5e5615.wav',
        'new',
        false,
        'Carol',
        11,
      ],
    ]);
    const alice = await index.get('7ce03731-996d-43fa-99b4-86e8070025e5');
    expect(alice?.readAt?.toISOString()).toBe(new Date(1796194179 * 1000).toISOString());
    expect(alice?.filePath).toBe(
      `${ROOT}/default/127.0.0.1/1000/msg_f39c75fe-2773-4e97-842f-96c36a09ceca.wav`,
    );
    expect(await index.get('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    expect(await index.get("x' or 1=1 --")).toBeUndefined();
    expect(await index.prefs('127.0.0.1', '1001')).toEqual({
      domain: '127.0.0.1',
      user: '1001',
      greetingPath: `${ROOT}/default/127.0.0.1/1001/greeting_1.wav`,
      namePath: `${ROOT}/default/127.0.0.1/1001/recorded_name.wav`,
    });
  });

  it('follows a message marked deleted in the menu (flags delete) and one moved to another folder', async () => {
    const index = new ModVoicemailIndex(pgClient(db.pool), { root: ROOT });
    await db.pool.query(
      `update voicemail_msgs set flags = 'delete' where uuid = '0edd41e3-2298-477a-a199-bbac69d5bf05'`,
    );
    await db.pool.query(
      `update voicemail_msgs set in_folder = 'work' where uuid = '28343201-3024-43ea-9f42-b9b1d1eb21fa'`,
    );
    expect((await index.list('127.0.0.1', '1001')).map((m) => m.uuid)).toEqual([
      '28343201-3024-43ea-9f42-b9b1d1eb21fa',
    ]);
    expect(
      (await index.list('127.0.0.1', '1001', { folder: 'inbox', status: 'any' })).map((m) => m.status),
    ).toEqual(['deleted']);
    expect((await index.list('127.0.0.1', '1001', { folder: 'work' }))[0]?.folder).toBe('work');
    expect((await index.all()).length).toBe(4);
  });

  it("lists a FusionPBX mailbox from v_voicemail_messages, with FusionPBX's file layout and statuses, and its base64 rows", async () => {
    const domain = randomUUID();
    const box = randomUUID();
    await db.pool.query(
      `insert into v_domains (domain_uuid, domain_name, domain_enabled) values ($1, 'pbx.example.com', 'true')`,
      [domain],
    );
    await db.pool.query(
      `insert into v_voicemails (domain_uuid, voicemail_uuid, voicemail_id, greeting_id, voicemail_enabled) values ($1, $2, '101', 2, 'true')`,
      [domain, box],
    );
    const ids = [randomUUID(), randomUUID(), randomUUID()].sort();
    const audio = Buffer.from('RIFF base64 voicemail');
    const rows = [
      [ids[0], 1796194100, 0, '', null],
      [ids[1], 1796194200, 1796194300, 'saved', audio.toString('base64')],
      [ids[2], 1796194400, 0, 'deleted', null],
    ];
    for (const [id, created, read, status, b64] of rows) {
      await db.pool.query(
        `insert into v_voicemail_messages (domain_uuid, voicemail_message_uuid, voicemail_uuid, created_epoch, read_epoch,
           caller_id_name, caller_id_number, message_length, message_status, message_priority, message_base64)
         values ($1, $2, $3, $4, $5, 'Bob', '5551002', 7, $6, 'normal', $7)`,
        [domain, id, box, created, read, status, b64],
      );
    }
    const index = new FusionPbxVoicemailIndex(pgClient(db.pool), {
      root: '/var/lib/freeswitch/storage/voicemail',
    });
    const list = await index.list('pbx.example.com', '101');
    expect(list.map((m) => [m.uuid, m.status, m.read, m.key])).toEqual([
      [ids[0], 'new', false, `default/pbx.example.com/101/msg_${ids[0]}.wav`],
      [ids[1], 'saved', true, `default/pbx.example.com/101/msg_${ids[1]}.wav`],
    ]);
    expect((await index.get(ids[2] as string))?.status).toBe('deleted');
    expect((await index.get(ids[0] as string))?.filePath).toBe(
      `/var/lib/freeswitch/storage/voicemail/default/pbx.example.com/101/msg_${ids[0]}.wav`,
    );
    expect((await index.prefs('pbx.example.com', '101'))?.greetingPath).toBe(
      '/var/lib/freeswitch/storage/voicemail/default/pbx.example.com/101/greeting_2.wav',
    );
    const base64 = [];
    for await (const item of index.base64Messages(1)) base64.push(item);
    expect(base64.map((b) => [b.message.uuid, b.audio.toString()])).toEqual([[ids[1], audio.toString()]]);
  });
});
