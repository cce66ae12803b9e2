import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { ObjectInfo, StorageBackend } from '../backend.js';
import { StorageVerifyError } from '../errors.js';

/** The SHA-256 (hex) of an object's bytes. */
export async function sha256Of(backend: StorageBackend, key: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of await backend.read(key, signal ? { signal } : {})) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** What {@link uploadVerified} did. */
export interface VerifiedUpload {
  size: number;
  sha256: string;
  /** False when the target already held these exact bytes (same size and stored checksum). */
  uploaded: boolean;
}

/**
 * Copies `key` from `source` to `target` and proves the copy before resolving: the target's size must match and
 * its bytes, read back, must hash to the source's SHA-256 (`verify: 'metadata'` trusts the checksum stored with
 * the object instead of reading it back). A target that already holds the same size and stored checksum is not
 * written again. Rejects with `StorageVerifyError` when the copy differs or the source changed meanwhile; a
 * failed copy is left for the caller to retry (nothing is deleted here).
 */
export async function uploadVerified(
  source: StorageBackend,
  target: StorageBackend,
  key: string,
  options: {
    metadata?: Record<string, string>;
    verify?: 'read-back' | 'metadata';
    signal?: AbortSignal;
  } = {},
): Promise<VerifiedUpload> {
  const before = await source.stat(key);
  const sha256 = await sha256Of(source, key, options.signal);
  const existing = await target.stat(key).catch(() => undefined);
  let uploaded = false;
  if (!(existing && existing.size === before.size && existing.metadata?.sha256 === sha256)) {
    const body = await source.read(key, options.signal ? { signal: options.signal } : {});
    await target.write(key, body, {
      metadata: { ...options.metadata, sha256 },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    uploaded = true;
  }
  const stored = await target.stat(key);
  if (stored.size !== before.size) {
    throw new StorageVerifyError(key, `${target.name} holds ${stored.size} bytes, the source ${before.size}`);
  }
  const check =
    options.verify === 'metadata' && stored.metadata?.sha256
      ? stored.metadata.sha256
      : await sha256Of(target, key, options.signal);
  if (check !== sha256) throw new StorageVerifyError(key, `${target.name} sha256 ${check} ≠ ${sha256}`);
  const after = await source.stat(key);
  if (after.size !== before.size || after.lastModified.getTime() !== before.lastModified.getTime()) {
    throw new StorageVerifyError(key, 'the source file changed while it was copied: will copy again');
  }
  return { size: before.size, sha256, uploaded };
}

/**
 * Copies `key` from `source` (the shared tier) to `target` (this node's disk), hashing on the way, and keeps
 * the copy only when its size matches the source's and its SHA-256 the checksum stored with the source object
 * (when it has one); otherwise the copy is deleted and this rejects with `StorageVerifyError`.
 */
export async function pullVerified(
  source: StorageBackend,
  target: StorageBackend,
  key: string,
  options: { signal?: AbortSignal } = {},
): Promise<ObjectInfo> {
  const info = await source.stat(key);
  const h = createHash('sha256');
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      h.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const body = await source.read(key, options.signal ? { signal: options.signal } : {});
  body.on('error', (err) => hashing.destroy(err));
  const written = await target.write(
    key,
    body.pipe(hashing),
    options.signal ? { signal: options.signal } : {},
  );
  const sha256 = h.digest('hex');
  const expected = info.metadata?.sha256;
  if (size !== info.size || written.size !== info.size || (expected && expected !== sha256)) {
    await target.delete(key).catch(() => false);
    throw new StorageVerifyError(
      key,
      `copy from ${source.name} does not match: ${written.size} bytes sha256 ${sha256}, expected ${info.size} bytes${expected ? ` sha256 ${expected}` : ''}`,
    );
  }
  return written;
}
