import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from '@pbxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testS3 } from '../../../scripts/test-env.js';
import { sha256Of } from '../src/index.js';
import { s3Backend } from './s3-helpers.js';
import { type RunningNode, startNode } from './vm-cluster.js';
import { eventually, leaveMessage, MOD_VOICEMAIL_DDL, ownDatabase, tcpProxy } from './vm-helpers.js';

const BOX = { domain: 'pbx.example.com', user: '2000' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('voicemail while the shared tier (S3) is down', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  const bucket = `pbxkit-vmdown-${process.pid}-${Date.now().toString(36)}`;
  const direct = s3Backend(bucket, { prefix: 'voicemail' });
  const registry = new Registry();
  let a: RunningNode;
  let b: RunningNode;

  beforeAll(async () => {
    db = await ownDatabase('pbxkit_vm_down');
    await db.pool.query(MOD_VOICEMAIL_DDL);
    await direct.ensureBucket();
    proxy = await tcpProxy(new URL(testS3().endpoint));
    // Each node reaches S3 through the proxy; the test checks the bucket directly.
    const viaProxy = () => s3Backend(bucket, { prefix: 'voicemail', endpoint: proxy.url });
    a = await startNode('a', db, viaProxy(), { reconcileIntervalMs: 300, registry });
    b = await startNode('b', db, viaProxy(), { reconcileIntervalMs: 300 });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await proxy?.close();
    await db?.drop();
  });

  it('keeps the message on the node that took it, and uploads it (and B copies it) once S3 is back', async () => {
    await proxy.down();
    const msg = await leaveMessage(a, db.pool, BOX);
    const failedUploads = async () =>
      (await registry.getSingleMetric('pbxkit_storage_voicemail_copies_total')?.get())?.values.find(
        (v) => v.labels.op === 'upload' && v.labels.result === 'failed',
      )?.value ?? 0;
    await eventually('a failed upload', async () => (await failedUploads()) >= 1, 60_000);
    // mod_voicemail plays from A's disk: the file is there, whole.
    expect(sha(await readFile(join(a.root, msg.key)))).toBe(sha(msg.bytes));
    await expect(direct.stat(msg.key)).rejects.toThrow();

    await proxy.up();
    await eventually('the upload after S3 came back', () => direct.stat(msg.key), 60_000);
    expect(await sha256Of(direct, msg.key)).toBe(sha(msg.bytes));
    const copy = await eventually(
      'B to copy it',
      async () => {
        const bytes = await readFile(join(b.root, msg.key)).catch(() => undefined);
        return bytes?.length === msg.bytes.length ? bytes : undefined;
      },
      60_000,
    );
    expect(sha(copy)).toBe(sha(msg.bytes));
    expect(sha(await readFile(join(a.root, msg.key)))).toBe(sha(msg.bytes));
  });
});
