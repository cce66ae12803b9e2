import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { S3Backend } from '../src/index.js';
import { listen } from './helpers.js';

/** A fake S3 endpoint that records request headers and answers PutObject and HeadObject. */
async function recordingServer() {
  const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> = [];
  const server = await listen((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      res.writeHead(200, {
        ETag: '"abc"',
        'Content-Length': req.method === 'HEAD' ? '3' : '0',
        'Last-Modified': new Date().toUTCString(),
      });
      res.end();
    });
  });
  return { seen, ...server };
}

describe('S3Backend request options', () => {
  it('sends SSE-KMS with the key id and the ACL; no flexible checksums (WHEN_REQUIRED)', async () => {
    const fake = await recordingServer();
    const s3 = new S3Backend({
      endpoint: fake.url,
      bucket: 'b',
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 's' },
      serverSideEncryption: 'aws:kms',
      kmsKeyId: 'key-123',
      acl: 'bucket-owner-full-control',
    });
    try {
      await s3.write('x/y.wav', 'abc', { contentType: 'audio/wav' });
      const put = fake.seen.find((r) => r.method === 'PUT');
      expect(put?.url.split('?')[0]).toBe('/b/x/y.wav');
      expect(put?.headers['x-amz-server-side-encryption']).toBe('aws:kms');
      expect(put?.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('key-123');
      expect(put?.headers['x-amz-acl']).toBe('bucket-owner-full-control');
      expect(put?.headers['content-type']).toBe('audio/wav');
      expect(Object.keys(put?.headers ?? {}).filter((h) => h.includes('checksum'))).toEqual([]);
    } finally {
      s3.close();
      await fake.close();
    }
  });

  it('sends SSE AES256', async () => {
    const fake = await recordingServer();
    const s3 = new S3Backend({
      endpoint: fake.url,
      bucket: 'b',
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 's' },
      serverSideEncryption: 'AES256',
    });
    try {
      await s3.write('z.wav', 'abc');
      expect(fake.seen.find((r) => r.method === 'PUT')?.headers['x-amz-server-side-encryption']).toBe(
        'AES256',
      );
    } finally {
      s3.close();
      await fake.close();
    }
  });

  it('refuses a part size S3 would refuse', () => {
    expect(() => new S3Backend({ bucket: 'b', partSizeBytes: 1024 })).toThrow(RangeError);
  });
});
