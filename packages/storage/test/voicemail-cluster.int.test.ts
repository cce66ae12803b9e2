import { createHash } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNotFound, sha256Of } from '../src/index.js';
import { s3Backend } from './s3-helpers.js';
import { type RunningNode, startNode } from './vm-cluster.js';
import {
  eventually,
  leaveMessage,
  MOD_VOICEMAIL_DDL,
  mwiUpdate,
  ownDatabase,
  wavBytes,
} from './vm-helpers.js';

const BOX = { domain: 'pbx.example.com', user: '1000' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('voicemail across three FreeSWITCH nodes (FakeFreeSwitch, PostgreSQL, Ceph RGW)', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  const shared = s3Backend(`pbxkit-vm-${process.pid}-${Date.now().toString(36)}`, { prefix: 'voicemail' });
  let nodes: RunningNode[] = [];
  let a: RunningNode;
  let b: RunningNode;
  let c: RunningNode;

  beforeAll(async () => {
    db = await ownDatabase('pbxkit_vm_cluster');
    await db.pool.query(MOD_VOICEMAIL_DDL);
    await shared.ensureBucket();
    nodes = await Promise.all(['a', 'b', 'c'].map((n) => startNode(n, db, shared)));
    [a, b, c] = nodes as [RunningNode, RunningNode, RunningNode];
  });
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await db?.drop();
  });

  const onDisk = async (node: RunningNode, key: string): Promise<Buffer | undefined> =>
    readFile(join(node.root, key)).catch(() => undefined);

  it('a message left on A is in the shared tier, proved, and on B and C disks byte for byte', async () => {
    const msg = await leaveMessage(a, db.pool, BOX);
    for (const node of [b, c]) {
      const copy = await eventually(`the message on ${node.name}`, async () => {
        const bytes = await onDisk(node, msg.key);
        return bytes?.length === msg.bytes.length ? bytes : undefined;
      });
      expect(sha(copy)).toBe(sha(msg.bytes));
    }
    const info = await shared.stat(msg.key);
    expect(info.size).toBe(msg.bytes.length);
    expect(info.metadata).toMatchObject({ sha256: sha(msg.bytes), 'vm-uuid': msg.uuid, origin: 'a' });
    expect(await sha256Of(shared, msg.key)).toBe(sha(msg.bytes));
  });

  it('deleted on B (row and file gone, mwi-update fired) is gone from the shared tier, A and C', async () => {
    const msg = await leaveMessage(a, db.pool, BOX);
    await eventually('the copy on B', () => onDisk(b, msg.key));
    await eventually('C to have it', () => onDisk(c, msg.key));
    // What vm_delete does on B, once the copy is older than the agents' grace time.
    await eventually('the shared copy to pass the grace time', async () => {
      const info = await shared.stat(msg.key);
      return Date.now() - info.lastModified.getTime() > 1500;
    });
    await db.pool.query('delete from voicemail_msgs where uuid = $1', [msg.uuid]);
    await rm(join(b.root, msg.key));
    mwiUpdate(b, BOX);
    await eventually('the shared copy to go', async () => {
      try {
        await shared.stat(msg.key);
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    });
    for (const node of [a, c]) {
      await eventually(`${node.name}'s copy to go`, async () => (await onDisk(node, msg.key)) === undefined);
    }
  });

  it('a message whose row still exists is never deleted by a reconcile, and one without a row only after the grace time', async () => {
    const msg = await leaveMessage(a, db.pool, BOX);
    await eventually('the copy on C', () => onDisk(c, msg.key));
    const report = await c.agent.reconcile();
    expect(report.deletedLocal + report.deletedShared).toBe(0);
    expect(await onDisk(c, msg.key)).toBeDefined();
    // A file the switch is about to index (no row yet) is young: kept.
    const young = 'default/pbx.example.com/1000/msg_11111111-2222-4333-8444-555555555555.wav';
    await writeFile(join(c.root, young), wavBytes(1000));
    expect((await c.agent.reconcile()).deletedLocal).toBe(0);
    expect(await onDisk(c, young)).toBeDefined();
  });

  it('a greeting recorded on A replaces the one on B and C; a recorded name follows too', async () => {
    const greeting = 'default/pbx.example.com/1000/greeting_1.wav';
    const name = 'default/pbx.example.com/1000/recorded_name.wav';
    const bytes = wavBytes(40_000);
    await writeFile(join(a.root, greeting), bytes);
    await writeFile(join(a.root, name), bytes.subarray(0, 9000));
    for (const [action, header, key] of [
      ['record-greeting', 'VM-Greeting-Path', greeting],
      ['record-name', 'VM-Name-Path', name],
    ] as const) {
      a.fake.emitEvent('CUSTOM', {
        'Event-Subclass': 'vm::maintenance',
        'VM-Action': action,
        [header]: join(a.root, key),
        'VM-User': BOX.user,
        'VM-Domain': BOX.domain,
      });
    }
    for (const node of [b, c]) {
      const copy = await eventually(`the greeting on ${node.name}`, async () => {
        const got = await onDisk(node, greeting);
        return got?.length === bytes.length ? got : undefined;
      });
      expect(sha(copy)).toBe(sha(bytes));
      await eventually(`the name on ${node.name}`, async () => (await onDisk(node, name))?.length === 9000);
    }
    // Re-recorded on B: the newer one wins everywhere.
    const newer = wavBytes(50_000);
    await writeFile(join(b.root, greeting), newer);
    b.fake.emitEvent('CUSTOM', {
      'Event-Subclass': 'vm::maintenance',
      'VM-Action': 'record-greeting',
      'VM-Greeting-Path': join(b.root, greeting),
      'VM-User': BOX.user,
      'VM-Domain': BOX.domain,
    });
    await eventually(
      'the newer greeting on A',
      async () => (await onDisk(a, greeting))?.length === newer.length,
    );
    await a.agent.reconcile();
    expect((await stat(join(a.root, greeting))).size).toBe(newer.length);
  });

  it('a node that missed everything (events and notifications) catches up in one reconcile', async () => {
    await c.agent.stop();
    const msgs = [await leaveMessage(a, db.pool, BOX), await leaveMessage(b, db.pool, BOX)];
    await eventually('both in the shared tier', async () => {
      for (const m of msgs) await shared.stat(m.key);
      return true;
    });
    for (const m of msgs) expect(await onDisk(c, m.key)).toBeUndefined();
    c.agent.start(); // reconciles at once; reconcile() joins that pass
    const report = await c.agent.reconcile();
    expect(report.failed).toEqual([]);
    for (const m of msgs) expect(sha((await onDisk(c, m.key)) as Buffer)).toBe(sha(m.bytes));
  });
});
