/**
 * The process the voicemail crash test kills with SIGKILL: one agent over VM_ROOT (the node's voicemail tree)
 * and the bucket VM_BUCKET on the test radosgw, index on VM_DB_URL. Runs one reconcile and prints
 * `{ "done": report }`; with VM_SLOW=1 its uploads are slowed down and announced (`{ "writing": key }`), so that
 * a kill lands mid-upload.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pgClient } from '@pbxkit/core';
import pg from 'pg';
import {
  LocalFsBackend,
  ModVoicemailIndex,
  type ObjectInfo,
  S3Backend,
  VoicemailAgent,
  type WriteBody,
  type WriteOptions,
} from '../src/index.js';

const { VM_ROOT, VM_DB_URL, VM_BUCKET, VM_SLOW } = process.env;
const { PBXKIT_TEST_S3_ENDPOINT, PBXKIT_TEST_S3_ACCESS_KEY, PBXKIT_TEST_S3_SECRET_KEY } = process.env;
if (!VM_ROOT || !VM_DB_URL || !VM_BUCKET) throw new Error('VM_ROOT, VM_DB_URL, VM_BUCKET required');

const send = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

class SlowS3 extends S3Backend {
  override async write(key: string, body: WriteBody, options?: WriteOptions): Promise<ObjectInfo> {
    if (VM_SLOW !== '1') return super.write(key, body, options);
    send({ writing: key });
    async function* slow() {
      for await (const chunk of body as Readable) {
        await sleep(20);
        yield chunk as Buffer;
      }
    }
    return super.write(key, Readable.from(slow()), options);
  }
}

const pool = new pg.Pool({ connectionString: VM_DB_URL });
const agent = new VoicemailAgent({
  local: new LocalFsBackend({ root: VM_ROOT, readChunkBytes: 16 * 1024 }),
  shared: new SlowS3({
    endpoint: PBXKIT_TEST_S3_ENDPOINT as string,
    bucket: VM_BUCKET,
    prefix: 'voicemail',
    forcePathStyle: true,
    credentials: {
      accessKeyId: PBXKIT_TEST_S3_ACCESS_KEY as string,
      secretAccessKey: PBXKIT_TEST_S3_SECRET_KEY as string,
    },
  }),
  index: new ModVoicemailIndex(pgClient(pool), { root: VM_ROOT }),
  instanceId: 'a',
  concurrency: 2,
});
const report = await agent.reconcile();
send({ done: report });
await pool.end();
