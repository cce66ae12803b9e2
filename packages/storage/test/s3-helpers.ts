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
