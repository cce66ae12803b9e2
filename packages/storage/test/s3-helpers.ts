import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { testS3 } from '../../../scripts/test-env.js';
import { S3Backend, type S3BackendOptions } from '../src/index.js';

/** A backend on the radosgw that with-test-services.sh started, in the bucket given. */
export function s3Backend(bucket: string, extra: Partial<S3BackendOptions> = {}): S3Backend {
  const { endpoint, accessKeyId, secretAccessKey } = testS3();
  return new S3Backend({
    endpoint,
    bucket,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    ...extra,
  });
}

/** Starts a multipart upload of `fullKey` (bucket key, prefix included) with one part, never completed. */
export async function leaveIncompleteUpload(s3: S3Backend, fullKey: string): Promise<string> {
  const created = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: fullKey }));
  const UploadId = created.UploadId as string;
  await s3.client.send(
    new UploadPartCommand({
      Bucket: s3.bucket,
      Key: fullKey,
      UploadId,
      PartNumber: 1,
      Body: Buffer.alloc(1024, 7),
    }),
  );
  return UploadId;
}

/** The bucket keys that have an incomplete multipart upload. */
export async function incompleteUploadKeys(s3: S3Backend): Promise<string[]> {
  const out = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }));
  return (out.Uploads ?? []).map((u) => u.Key as string).sort();
}
