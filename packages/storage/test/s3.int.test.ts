import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { DeleteBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testS3 } from '../../../scripts/test-env.js';
import {
  createRecordingsHandler,
  S3Backend,
  StorageBucketNotFoundError,
  StorageInvalidKeyError,
  StorageNotFoundError,
  StorageUnavailableError,
  TieredRecordingResolver,
} from '../src/index.js';
import { get, listen } from './helpers.js';
import { incompleteUploadKeys, leaveIncompleteUpload, s3Backend } from './s3-helpers.js';

const MiB = 1024 * 1024;

describe('S3Backend against Ceph RADOS Gateway', () => {
  const bucket = `pbxkit-s3-${process.pid}-${Date.now().toString(36)}`;
  let s3: S3Backend;
  const data = randomBytes(10_000);

  beforeAll(async () => {
    s3 = s3Backend(bucket, { prefix: 'recordings' });
    await s3.ensureBucket();
    await s3.ensureBucket(); // idempotent
  });
  afterAll(() => s3.close());

  it('writes, stats, reads, deletes; keys with + and spaces survive', async () => {
    const key = 'd.example/archive/2026/Nov/23/a+b c.wav';
    const info = await s3.write(key, data, { contentType: 'audio/wav', metadata: { sha256: 'x' } });
    expect(info).toMatchObject({ key, size: 10_000, contentType: 'audio/wav', metadata: { sha256: 'x' } });
    expect(info.etag).toMatch(/^"/);
    const back = Buffer.concat(await (await s3.read(key)).toArray());
    expect(back.equals(data)).toBe(true);
    expect(await s3.delete(key)).toBe(true);
    expect(await s3.delete(key)).toBe(false);
    await expect(s3.stat(key)).rejects.toThrow(StorageNotFoundError);
    await expect(s3.read(key)).rejects.toThrow(StorageNotFoundError);
    await expect(s3.read('../x')).rejects.toThrow(StorageInvalidKeyError);
  });

  it('aborts the stale incomplete multipart uploads under its prefix, and only those', async () => {
    const own = await leaveIncompleteUpload(s3, 'recordings/killed/mid-upload.wav');
    await leaveIncompleteUpload(s3, 'elsewhere/not-ours.wav');
    expect(await incompleteUploadKeys(s3)).toEqual([
      'elsewhere/not-ours.wav',
      'recordings/killed/mid-upload.wav',
    ]);
    // Younger than the threshold: another writer may still be sending it.
    expect(await s3.abortIncompleteUploads({ olderThanMs: 3_600_000 })).toEqual([]);
    const later = new Date(Date.now() + 2_000);
    const aborted = await s3.abortIncompleteUploads({ olderThanMs: 1_000, now: later });
    expect(aborted).toEqual([{ key: 'killed/mid-upload.wav', uploadId: own, initiated: expect.any(Date) }]);
    expect(await incompleteUploadKeys(s3)).toEqual(['elsewhere/not-ours.wav']);
    const whole = s3Backend(bucket);
    expect(
      (await whole.abortIncompleteUploads({ olderThanMs: 1_000, now: later })).map((u) => u.key),
    ).toEqual(['elsewhere/not-ours.wav']);
    expect(await incompleteUploadKeys(s3)).toEqual([]);
    whole.close();
  });

  it('reads byte ranges (end inclusive, end clamped)', async () => {
    await s3.write('r.bin', Buffer.from('0123456789'));
    expect(await text(await s3.read('r.bin', { range: { start: 2, end: 4 } }))).toBe('234');
    expect(await text(await s3.read('r.bin', { range: { start: 7, end: 100 } }))).toBe('789');
  });

  it('uploads a stream in multipart parts (5 MiB parts, 2 at a time) and reads back the same bytes', async () => {
    const multi = s3Backend(bucket, { partSizeBytes: 5 * MiB, queueSize: 2 });
    const hash = createHash('sha256');
    const chunks = Array.from({ length: 13 }, (_, i) => Buffer.alloc(MiB, i + 1));
    for (const c of chunks) hash.update(c);
    const info = await multi.write('multi.wav', Readable.from(chunks));
    expect(info.size).toBe(13 * MiB);
    expect(info.etag).toMatch(/-3"$/); // three parts
    const back = createHash('sha256');
    for await (const c of await multi.read('multi.wav')) back.update(c as Buffer);
    expect(back.digest('hex')).toBe(hash.digest('hex'));
    multi.close();
  }, 60_000);

  it('lists by prefix a page at a time, keys without the backend prefix', async () => {
    for (const k of ['l/1.wav', 'l/2.wav', 'l/3.wav', 'l/sub/4.wav']) await s3.write(k, k);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await s3.list('l/', { cursor, limit: 2 });
      seen.push(...page.items.map((i) => i.key));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual(['l/1.wav', 'l/2.wav', 'l/3.wav', 'l/sub/4.wav']);
  });

  it('presigns a GET URL that works, and that stops working when tampered with', async () => {
    await s3.write('p.wav', data);
    const url = await s3.presignGet('p.wav', { expiresInSeconds: 60, downloadName: 'call.wav' });
    const r = await get(url);
    expect(r.status).toBe(200);
    expect(r.body.equals(data)).toBe(true);
    expect(r.headers['content-disposition']).toBe('attachment; filename="call.wav"');
    const forged = url.replace(
      /X-Amz-Signature=([0-9a-f])/,
      (_m, c) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`,
    );
    expect((await get(forged)).status).toBe(403);
  });

  it('reports health: bucket reachable, missing bucket or dead endpoint not', async () => {
    expect((await s3.health()).ok).toBe(true);
    expect((await s3Backend(`${bucket}-missing`).health()).ok).toBe(false);
    const dead = new S3Backend({
      endpoint: 'http://127.0.0.1:1',
      bucket,
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    expect((await dead.health()).ok).toBe(false);
    await expect(dead.stat('x')).rejects.toThrow(StorageUnavailableError);
    dead.close();
  });

  it('a bucket that does not exist is named as missing, for writes, reads, stats, deletes and listings', async () => {
    const missing = `${bucket}-never-created`;
    const absent = s3Backend(missing);
    try {
      const key = 'd.example/archive/2026/Nov/23/a.wav';
      const errors = [
        await absent.write(key, 'x').catch((e: unknown) => e),
        await absent.read(key).catch((e: unknown) => e),
        await absent.stat(key).catch((e: unknown) => e),
        await absent.delete(key).catch((e: unknown) => e),
        await absent.list('d.example/').catch((e: unknown) => e),
      ];
      for (const err of errors) {
        expect((err as Error).message).toContain(
          `bucket "${missing}" does not exist at ${testS3().endpoint}`,
        );
        expect(err).not.toBeInstanceOf(StorageNotFoundError);
        expect(err).toBeInstanceOf(StorageBucketNotFoundError);
        expect(err).toMatchObject({ code: 'STORAGE_BUCKET_NOT_FOUND', bucket: missing, backend: 's3' });
      }
      expect((await absent.health()).detail).toMatch(/does not exist/);
      // Served over HTTP: the recording may exist once the bucket is fixed, so 503, never 404.
      const handler = createRecordingsHandler({
        source: async (uuid) => ({ backend: absent, key: `${uuid}.wav` }),
      });
      const server = await listen((req, res) => void handler(req, res));
      const answer = await get(`${server.url}/recordings/5c7b0f0e-1111-4222-8333-444455556666`);
      await server.close();
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body.toString()).reason).toMatch(/does not exist/);

      // Once the bucket exists, a missing object is a missing object again.
      await absent.ensureBucket();
      await expect(absent.stat(key)).rejects.toThrow(StorageNotFoundError);
      await expect(absent.read(key)).rejects.toThrow(StorageNotFoundError);
      await absent.write(key, 'x');
      expect((await absent.stat(key)).size).toBe(1);
      await absent.delete(key);
      await absent.client.send(new DeleteBucketCommand({ Bucket: missing }));
    } finally {
      absent.close();
    }
  });

  it('refuses wrong credentials', async () => {
    const { endpoint } = testS3();
    const wrong = new S3Backend({
      endpoint,
      bucket,
      forcePathStyle: true,
      credentials: { accessKeyId: 'PBXKITTESTACCESSKEY', secretAccessKey: 'wrong' },
    });
    await expect(wrong.write('w.wav', 'x')).rejects.toThrow(StorageUnavailableError);
    wrong.close();
  });

  it('serves Range requests through the recordings handler (suffix ranges included)', async () => {
    const big = randomBytes(3 * MiB);
    await s3.write('h/5c7b0f0e.wav', big, { contentType: 'audio/wav' });
    const handler = createRecordingsHandler({
      source: async (uuid) => ({ backend: s3, key: `h/${uuid}.wav` }),
    });
    const server = await listen((req, res) => void handler(req, res));
    try {
      const whole = await get(`${server.url}/recordings/5c7b0f0e`);
      expect(whole.status).toBe(200);
      expect(whole.body.equals(big)).toBe(true);
      expect(whole.headers['content-type']).toBe('audio/wav');
      for (const [range, start, end] of [
        ['bytes=-500', big.length - 500, big.length - 1],
        ['bytes=1000-', 1000, big.length - 1],
        ['bytes=5-9', 5, 9],
      ] as const) {
        const r = await get(`${server.url}/recordings/5c7b0f0e`, { headers: { Range: range } });
        expect(r.status).toBe(206);
        expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/${big.length}`);
        expect(r.body.equals(big.subarray(start, end + 1))).toBe(true);
      }
      const none = await get(`${server.url}/recordings/ffff`);
      expect(none.status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('answers with a 302 to a presigned URL when the resolver gives one and the handler is asked to', async () => {
    const body = randomBytes(50_000);
    const uuid = '5c7b0f0e-2222-4333-8444-555566667777';
    await s3.write(`old/${uuid}.wav`, body, { contentType: 'audio/wav' });
    const resolver = new TieredRecordingResolver({
      archive: { backend: s3, key: 'old/{uuid}.wav' },
      presign: { expiresInSeconds: 60 },
    });
    const handler = createRecordingsHandler({ source: resolver, redirectToUrl: true });
    const server = await listen((req, res) => void handler(req, res));
    try {
      const r = await get(`${server.url}/recordings/${uuid}`);
      expect(r.status).toBe(302);
      const location = r.headers.location as string;
      expect(location).toContain('X-Amz-Signature=');
      const direct = await get(location, { headers: { Range: 'bytes=-100' } });
      expect(direct.status).toBe(206);
      expect(direct.body.equals(body.subarray(-100))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('stores with SSE-KMS (radosgw test KMS key) and reads back the plaintext, ranges included', async () => {
    const sse = s3Backend(bucket, {
      serverSideEncryption: 'aws:kms',
      kmsKeyId: 'pbxkit-test-key',
      partSizeBytes: 5 * MiB,
    });
    try {
      const body = randomBytes(6 * MiB); // multipart: every part encrypted
      await sse.write('sse/kms.wav', body);
      const head = await sse.client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'sse/kms.wav' }));
      expect(head.ServerSideEncryption).toBe('aws:kms');
      expect(head.SSEKMSKeyId).toBe('pbxkit-test-key');
      expect(Buffer.concat(await (await sse.read('sse/kms.wav')).toArray()).equals(body)).toBe(true);
      const part = Buffer.concat(
        await (await sse.read('sse/kms.wav', { range: { start: 5 * MiB - 3, end: 5 * MiB + 2 } })).toArray(),
      );
      expect(part.equals(body.subarray(5 * MiB - 3, 5 * MiB + 3))).toBe(true);
    } finally {
      sse.close();
    }
  });
});
