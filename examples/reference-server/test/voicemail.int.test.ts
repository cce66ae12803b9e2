import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeFreeSwitch } from '@pbxkit/esl/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Backend } from '../../../packages/storage/test/s3-helpers.js';
import {
  eventually,
  leaveMessage,
  MOD_VOICEMAIL_DDL,
  ownDatabase,
  sha,
} from '../../../packages/storage/test/vm-helpers.js';
import { testDatabaseUrl, testS3 } from '../../../scripts/test-env.js';
import { configFromEnv } from '../src/config/load.js';
import { type ReferenceServer, startReferenceServer } from '../src/server.js';
import { tempDir } from './helpers.js';

const TOKEN = 'operator-token-0123456789abcdefghijklmnop';
const LINK_SECRET = 'reference-link-secret-0123456789abcdef';
const BOX = { domain: 'pbx.example.com', user: '1000' };

describe('reference server with voicemail configured (PBXKIT_VOICEMAIL_*)', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  let t: Awaited<ReturnType<typeof tempDir>>;
  let fake: FakeFreeSwitch;
  let server: ReferenceServer;
  const bucket = `pbxkit-refvm-${process.pid}-${Date.now().toString(36)}`;
  const shared = s3Backend(bucket, { prefix: 'cluster-1/voicemail' });

  beforeAll(async () => {
    db = await ownDatabase('pbxkit_ref_vm');
    await db.pool.query(MOD_VOICEMAIL_DDL);
    await shared.ensureBucket();
    t = await tempDir('voicemail');
    fake = await FakeFreeSwitch.start({ hostname: 'pbx-a' });
    const subscribed = fake.waitForCommand('event plain CUSTOM vm::maintenance');
    const { endpoint, accessKeyId, secretAccessKey } = testS3();
    server = await startReferenceServer(
      configFromEnv({
        PBXKIT_PORT: '0',
        PBXKIT_DATA_DIR: join(t.dir, 'data'),
        // The CDR store on the run's database; the voicemail tables in a database of this test's own.
        PBXKIT_DATABASE_URL: testDatabaseUrl(),
        PBXKIT_VOICEMAIL_DATABASE_URL: db.url,
        PBXKIT_AUTH_TOKENS: TOKEN,
        PBXKIT_AUTH_LINK_SECRET: LINK_SECRET,
        PBXKIT_STORAGE_INSTANCE_ID: 'pbx-a',
        PBXKIT_STORAGE_S3_BUCKET: bucket,
        PBXKIT_STORAGE_S3_ENDPOINT: endpoint,
        PBXKIT_STORAGE_S3_FORCE_PATH_STYLE: 'true',
        PBXKIT_STORAGE_S3_ACCESS_KEY_ID: accessKeyId,
        PBXKIT_STORAGE_S3_SECRET_ACCESS_KEY: secretAccessKey,
        PBXKIT_STORAGE_S3_PREFIX: 'cluster-1',
        PBXKIT_VOICEMAIL_ROOT: join(t.dir, 'storage', 'voicemail'),
        PBXKIT_VOICEMAIL_ESL_HOST: '127.0.0.1',
        PBXKIT_VOICEMAIL_ESL_PORT: String(fake.port),
        PBXKIT_VOICEMAIL_ESL_PASSWORD: 'ClueCon',
      }),
    );
    await subscribed;
  });
  afterAll(async () => {
    await server?.close();
    await fake?.stop();
    await db?.drop();
    await t?.cleanup();
  });

  it('uploads a message the switch leaves and serves it at /voicemail behind the operator gate, Range included', async () => {
    const root = join(t.dir, 'storage', 'voicemail');
    const msg = await leaveMessage({ name: 'pbx-a', root, fake }, db.pool, BOX);
    await eventually('the upload to S3', () => shared.stat(msg.key));
    const url = `${server.url}/voicemail/${BOX.domain}/${BOX.user}/${msg.uuid}`;
    expect((await fetch(url)).status).toBe(401);
    const whole = await fetch(url, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(whole.status).toBe(200);
    expect(sha(Buffer.from(await whole.arrayBuffer()))).toBe(sha(await readFile(join(root, msg.key))));
    const link = await fetch(`${url}/link?expires_in=60`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    const { url: signed } = (await link.json()) as { url: string };
    const part = await fetch(`${server.url}${signed}`, { headers: { Range: 'bytes=0-3' } });
    expect([part.status, Buffer.from(await part.arrayBuffer()).toString()]).toEqual([206, 'RIFF']);
  });

  it('refuses a voicemail ESL host without the S3 bucket, naming the variables', () => {
    expect(() =>
      configFromEnv({
        PBXKIT_VOICEMAIL_DATABASE_URL: db.url,
        PBXKIT_VOICEMAIL_ROOT: t.dir,
        PBXKIT_VOICEMAIL_ESL_HOST: '127.0.0.1',
      }),
    ).toThrow(/PBXKIT_VOICEMAIL_ESL_HOST needs PBXKIT_STORAGE_S3_BUCKET/);
    expect(() => configFromEnv({ PBXKIT_VOICEMAIL_ROOT: t.dir })).toThrow(/PBXKIT_VOICEMAIL_DATABASE_URL/);
  });
});
