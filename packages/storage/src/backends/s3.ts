import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type ObjectCannedACL,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  type HealthStatus,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type ReadOptions,
  type StorageBackend,
  validateKey,
  validatePrefix,
  type WriteBody,
  type WriteOptions,
} from '../backend.js';
import {
  StorageBucketNotFoundError,
  StorageError,
  StorageNotFoundError,
  StorageRangeError,
  StorageUnavailableError,
} from '../errors.js';
import { bodyStream } from './body.js';

/** A multipart upload {@link S3Backend.abortIncompleteUploads} aborted. */
export interface AbortedUpload {
  /** The key as this backend names it (without the backend's `prefix`). */
  key: string;
  uploadId: string;
  initiated: Date;
}

/**
 * How long a bucket seen to exist is trusted to: a HEAD of a missing object answers a bare 404 that cannot say
 * whether the object or the bucket is missing, and asking the bucket on every miss would double the cost of the
 * resolver's probes.
 */
const BUCKET_SEEN_TRUST_MS = 60_000;

/** Options of {@link S3Backend}. */
export interface S3BackendOptions {
  bucket: string;
  /** S3-compatible endpoint (`http://127.0.0.1:7480`, `https://nyc3.digitaloceanspaces.com`); AWS when absent. */
  endpoint?: string;
  /** Default `us-east-1` (what most S3-compatible servers accept). */
  region?: string;
  /** `bucket` in the path rather than the host name: needed by MinIO, Ceph RGW and most self-hosted stores. */
  forcePathStyle?: boolean;
  /** Static keys; without them the AWS SDK's default chain (env, profile, instance role) is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** A client of your own (then endpoint, region, credentials and timeouts above are not used). */
  client?: S3Client;
  /** Prefix of every key in the bucket (`recordings` → `recordings/<key>`). */
  prefix?: string;
  /** Multipart part size in bytes. Default 8 MiB (S3's minimum is 5 MiB). */
  partSizeBytes?: number;
  /** Parts uploaded at once. Default 4. */
  queueSize?: number;
  /** Server-side encryption of written objects. */
  serverSideEncryption?: 'AES256' | 'aws:kms';
  /** KMS key id when `serverSideEncryption` is `aws:kms`. */
  kmsKeyId?: string;
  /** Canned ACL of written objects (`private`, `bucket-owner-full-control`, …). */
  acl?: ObjectCannedACL;
  /** A socket idle for this long is closed (no limit on a transfer's total time). Default 60 000 ms. */
  idleTimeoutMs?: number;
  /** Name in logs, metrics and health. Default `s3`. */
  name?: string;
}

/**
 * Recordings in an S3 bucket, on AWS or an S3-compatible store (Ceph RGW, MinIO, DigitalOcean Spaces, GCS
 * interop) through the AWS SDK v3. Reads pass `Range` to S3; writes stream through `@aws-sdk/lib-storage`'s
 * multipart upload. The client is built with `requestChecksumCalculation`/`responseChecksumValidation` set to
 * `WHEN_REQUIRED`: with the SDK's default (checksums on every request) a streamed PutObject was silently stored
 * corrupted by one S3-compatible server and refused by another.
 *
 * A missing bucket is told apart from a missing object: reads, writes, stats, deletes and listings in a bucket
 * that does not exist reject with `StorageBucketNotFoundError` (naming the bucket), never `StorageNotFoundError`.
 *
 * @example
 * ```ts
 * const s3 = new S3Backend({
 *   endpoint: 'http://127.0.0.1:7480', forcePathStyle: true, bucket: 'recordings',
 *   credentials: { accessKeyId, secretAccessKey },
 * });
 * await s3.write('example.com/2026/11/23/5c7b….wav', createReadStream(file), { contentType: 'audio/wav' });
 * const url = await s3.presignGet('example.com/2026/11/23/5c7b….wav', { expiresInSeconds: 300 });
 * ```
 */
export class S3Backend implements StorageBackend {
  readonly name: string;
  readonly bucket: string;
  readonly client: S3Client;
  private readonly options: S3BackendOptions;
  private readonly prefix: string;
  /** When the bucket was last seen to exist (`performance.now()`); see {@link BUCKET_SEEN_TRUST_MS}. */
  private bucketSeenAt = Number.NEGATIVE_INFINITY;
  private bucketCheck: Promise<'exists' | 'missing' | Error> | undefined;

  constructor(options: S3BackendOptions) {
    if (!options?.bucket) throw new TypeError('S3Backend needs a bucket');
    this.options = options;
    this.bucket = options.bucket;
    this.name = options.name ?? 's3';
    this.prefix = options.prefix ? `${options.prefix.replace(/\/+$/, '')}/` : '';
    if (options.partSizeBytes !== undefined && options.partSizeBytes < 5 * 1024 * 1024) {
      throw new RangeError('partSizeBytes must be at least 5 MiB (S3 refuses smaller parts)');
    }
    this.client =
      options.client ??
      new S3Client({
        region: options.region ?? 'us-east-1',
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        forcePathStyle: options.forcePathStyle ?? false,
        ...(options.credentials ? { credentials: options.credentials } : {}),
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        requestHandler: { connectionTimeout: 10_000, socketTimeout: options.idleTimeoutMs ?? 60_000 },
      });
  }

  private s3Key(key: string): string {
    validateKey(key);
    return this.prefix + key;
  }

  async stat(key: string): Promise<ObjectInfo> {
    const Key = this.s3Key(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      const info: ObjectInfo = {
        key,
        size: head.ContentLength ?? 0,
        lastModified: head.LastModified ?? new Date(0),
      };
      if (head.ETag) info.etag = head.ETag;
      if (head.ContentType) info.contentType = head.ContentType;
      if (head.Metadata && Object.keys(head.Metadata).length > 0) info.metadata = head.Metadata;
      this.bucketSeen();
      return info;
    } catch (err) {
      const mapped = this.mapError(err, key, 'stat');
      throw mapped instanceof StorageNotFoundError ? await this.objectOrBucketMissing(key) : mapped;
    }
  }

  async read(key: string, options: ReadOptions = {}): Promise<Readable> {
    const Key = this.s3Key(key);
    const { range } = options;
    if (range && !(Number.isSafeInteger(range.start) && range.start >= 0 && range.end >= range.start)) {
      throw new StorageRangeError(key, undefined, `invalid range ${range.start}-${range.end}`);
    }
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      this.bucketSeen();
      const body = out.Body;
      if (!body) return Readable.from([]);
      return body instanceof Readable ? body : Readable.fromWeb(body as never);
    } catch (err) {
      throw this.mapError(err, key, 'read');
    }
  }

  async write(key: string, body: WriteBody, options: WriteOptions = {}): Promise<ObjectInfo> {
    const Key = this.s3Key(key);
    const o = this.options;
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key,
        Body: typeof body === 'string' || body instanceof Uint8Array ? body : bodyStream(body),
        ContentType: options.contentType,
        Metadata: options.metadata,
        ...(o.serverSideEncryption ? { ServerSideEncryption: o.serverSideEncryption } : {}),
        ...(o.kmsKeyId ? { SSEKMSKeyId: o.kmsKeyId } : {}),
        ...(o.acl ? { ACL: o.acl } : {}),
      },
      partSize: o.partSizeBytes ?? 8 * 1024 * 1024,
      queueSize: o.queueSize ?? 4,
      leavePartsOnError: false,
    });
    const onAbort = () => void upload.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (err) {
      throw this.mapError(err, key, 'write');
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    return this.stat(key);
  }

  async delete(key: string): Promise<boolean> {
    const Key = this.s3Key(key);
    try {
      await this.stat(key);
    } catch (err) {
      if (err instanceof StorageNotFoundError) return false;
      throw err;
    }
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
      return true;
    } catch (err) {
      throw this.mapError(err, key, 'delete');
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    try {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          MaxKeys: options.limit ?? 1000,
          ...(options.cursor ? { ContinuationToken: options.cursor } : {}),
        }),
      );
      this.bucketSeen();
      const items: ObjectInfo[] = (out.Contents ?? []).map((c) => {
        const info: ObjectInfo = {
          key: (c.Key ?? '').slice(this.prefix.length),
          size: c.Size ?? 0,
          lastModified: c.LastModified ?? new Date(0),
        };
        if (c.ETag) info.etag = c.ETag;
        return info;
      });
      return out.IsTruncated && out.NextContinuationToken
        ? { items, cursor: out.NextContinuationToken }
        : { items };
    } catch (err) {
      throw this.mapError(err, prefix, 'list');
    }
  }

  async health(): Promise<HealthStatus> {
    const started = performance.now();
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      this.bucketSeen();
      return {
        ok: true,
        backend: this.name,
        detail: `bucket ${this.bucket} reachable`,
        latencyMs: performance.now() - started,
      };
    } catch (err) {
      return {
        ok: false,
        backend: this.name,
        detail:
          statusOf(err) === 404 ? this.bucketMissing().message : `bucket ${this.bucket}: ${describe(err)}`,
        latencyMs: performance.now() - started,
      };
    }
  }

  /**
   * A presigned GET URL for `key`, valid `expiresInSeconds` (default 300): the client downloads from S3 directly.
   * `downloadName` makes S3 answer with `Content-Disposition: attachment`.
   */
  async presignGet(
    key: string,
    options: { expiresInSeconds?: number; downloadName?: string } = {},
  ): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.s3Key(key),
      ...(options.downloadName
        ? {
            ResponseContentDisposition: `attachment; filename="${options.downloadName.replace(/["\\]/g, '_')}"`,
          }
        : {}),
    });
    return getSignedUrl(this.client, command, { expiresIn: options.expiresInSeconds ?? 300 });
  }

  /**
   * Aborts the multipart uploads under this backend's prefix that were started more than `olderThanMs` ago
   * (default one day) and never completed or aborted: a process killed mid-upload leaves them, and S3 bills
   * their parts until someone aborts them. Younger uploads are left alone (another writer may still be
   * sending them). A lifecycle rule on the bucket does the same server-side where the store supports one.
   */
  async abortIncompleteUploads(
    options: { olderThanMs?: number; now?: Date; signal?: AbortSignal } = {},
  ): Promise<AbortedUpload[]> {
    const cutoff = (options.now ?? new Date()).getTime() - (options.olderThanMs ?? 86_400_000);
    const aborted: AbortedUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      for (;;) {
        options.signal?.throwIfAborted();
        const page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            ...(this.prefix ? { Prefix: this.prefix } : {}),
            ...(keyMarker ? { KeyMarker: keyMarker } : {}),
            ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}),
          }),
        );
        for (const upload of page.Uploads ?? []) {
          const { Key, UploadId, Initiated } = upload;
          if (!Key || !UploadId || !Initiated || Initiated.getTime() > cutoff) continue;
          await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }));
          aborted.push({ key: Key.slice(this.prefix.length), uploadId: UploadId, initiated: Initiated });
        }
        if (!page.IsTruncated) return aborted;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
        if (!keyMarker && !uploadIdMarker) return aborted;
      }
    } catch (err) {
      throw this.mapError(err, this.prefix || this.bucket, 'abort incomplete uploads');
    }
  }

  /** Creates the bucket when it does not exist (for setup scripts and tests). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (statusOf(err) !== 404) throw this.mapError(err, this.bucket, 'head bucket');
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') {
        throw this.mapError(err, this.bucket, 'create bucket');
      }
    }
  }

  /** Closes the client's sockets. */
  close(): void {
    if (!this.options.client) this.client.destroy();
  }

  private bucketSeen(): void {
    this.bucketSeenAt = performance.now();
  }

  private bucketMissing(op?: string, key?: string): StorageBucketNotFoundError {
    this.bucketSeenAt = Number.NEGATIVE_INFINITY;
    const where = this.options.endpoint ? ` at ${this.options.endpoint}` : '';
    const what = op ? ` (${op} ${JSON.stringify(key)})` : '';
    return new StorageBucketNotFoundError(
      this.name,
      this.bucket,
      `${this.name}: bucket ${JSON.stringify(this.bucket)} does not exist${where}${what}: create it, or fix the bucket name`,
    );
  }

  /**
   * A HEAD's bare 404 says "not found" without saying what: unless the bucket was seen lately, ask the bucket
   * (one request, shared by every caller waiting at the time).
   */
  private async objectOrBucketMissing(key: string): Promise<Error> {
    if (performance.now() - this.bucketSeenAt < BUCKET_SEEN_TRUST_MS) return new StorageNotFoundError(key);
    this.bucketCheck ??= this.client
      .send(new HeadBucketCommand({ Bucket: this.bucket }))
      .then(
        () => 'exists' as const,
        (err: unknown) =>
          statusOf(err) === 404 ? ('missing' as const) : this.mapError(err, this.bucket, 'head bucket'),
      )
      .finally(() => {
        this.bucketCheck = undefined;
      });
    const bucket = await this.bucketCheck;
    if (bucket === 'exists') {
      this.bucketSeen();
      return new StorageNotFoundError(key);
    }
    return bucket === 'missing' ? this.bucketMissing('stat', key) : bucket;
  }

  private mapError(err: unknown, key: string, op: string): Error {
    if (err instanceof StorageError) return err;
    const status = statusOf(err);
    const name = (err as { name?: string }).name;
    if (name === 'NoSuchBucket') return this.bucketMissing(op, key);
    if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') return new StorageNotFoundError(key);
    if (status === 416 || name === 'InvalidRange') return new StorageRangeError(key, undefined);
    if (name === 'AbortError') return err as Error;
    return new StorageUnavailableError(this.name, `${op} ${key}: ${describe(err)}`, { cause: err });
  }
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string };
  const status = statusOf(err);
  return [e.name, status ? `HTTP ${status}` : undefined, e.code, e.message].filter(Boolean).join(': ');
}
