import { PbxkitError, type SecretProblem } from '@pbxkit/core';

/** Base class of the errors `@pbxkit/storage` throws on purpose; `code` is stable. */
export class StorageError extends PbxkitError {}

/** The key does not exist in the backend (HTTP: 404). Code `STORAGE_NOT_FOUND`. */
export class StorageNotFoundError extends StorageError {
  constructor(
    readonly key: string,
    message = `no object at ${JSON.stringify(key)}`,
  ) {
    super('STORAGE_NOT_FOUND', message);
  }
}

/**
 * The key is not acceptable: empty, absolute, with a `..` or `.` segment, a NUL or backslash, or resolving
 * (through a symlink) outside the backend's root. Code `STORAGE_INVALID_KEY`.
 */
export class StorageInvalidKeyError extends StorageError {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super('STORAGE_INVALID_KEY', `invalid key ${JSON.stringify(key)}: ${reason}`);
  }
}

/** The requested byte range starts past the end of the object (HTTP: 416). Code `STORAGE_RANGE_NOT_SATISFIABLE`. */
export class StorageRangeError extends StorageError {
  constructor(
    readonly key: string,
    /** Size of the object in bytes, when known (for `Content-Range: bytes *\/size`). */
    readonly size: number | undefined,
    message = `range not satisfiable for ${JSON.stringify(key)}${size === undefined ? '' : ` (size ${size})`}`,
  ) {
    super('STORAGE_RANGE_NOT_SATISFIABLE', message);
  }
}

/**
 * The backend could not be reached or failed (disk error, S3 5xx or network error, peer down); the object may
 * well exist (HTTP: 503). Code `STORAGE_BACKEND_UNAVAILABLE`.
 */
export class StorageUnavailableError extends StorageError {
  constructor(
    readonly backend: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('STORAGE_BACKEND_UNAVAILABLE', `${backend}: ${message}`, options);
  }
}

/** An upload did not verify (size or checksum differ from the source). Code `STORAGE_VERIFY_FAILED`. */
export class StorageVerifyError extends StorageError {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super('STORAGE_VERIFY_FAILED', `${key}: ${message}`);
  }
}

/**
 * The bucket itself does not exist (a typo in the configured name, or a bucket deleted or never created): every
 * read, write and stat fails until it is created. Distinct from {@link StorageNotFoundError}, which says one
 * object is missing, so that a misconfiguration is never answered as "no such recording". Code
 * `STORAGE_BUCKET_NOT_FOUND` (HTTP: 503).
 */
export class StorageBucketNotFoundError extends StorageError {
  constructor(
    readonly backend: string,
    readonly bucket: string,
    message = `${backend}: bucket ${JSON.stringify(bucket)} does not exist`,
  ) {
    super('STORAGE_BUCKET_NOT_FOUND', message);
  }
}

/**
 * A peer refused our request's signature. `reason` is the peer's own word for it when it gave one (`forged`,
 * `wrong_peer`, `expired`, `issued_before_start`, `replayed`, …; see `PeerAuthFailure`). Code `STORAGE_PEER_AUTH`.
 */
export class StoragePeerAuthError extends StorageError {
  constructor(
    message: string,
    readonly reason?: string,
  ) {
    super('STORAGE_PEER_AUTH', message);
  }
}

/** Why a peer secret was refused: none given, or one anyone could guess. */
export type PeerSecretProblem = SecretProblem;

/**
 * A peer secret that is missing or too weak to protect recordings (see `checkPeerSecret` for the rules). Thrown
 * when a peer handler or peer backend is built, never later. Code `STORAGE_PEER_SECRET`.
 */
export class StoragePeerSecretError extends StorageError {
  constructor(
    readonly problem: PeerSecretProblem,
    message: string,
  ) {
    super('STORAGE_PEER_SECRET', message);
  }
}

/** A configuration value that could not be used; `variable` names it. Code `STORAGE_CONFIG`. */
export class StorageConfigError extends StorageError {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super('STORAGE_CONFIG', `${variable}: ${message}`);
  }
}

/** True for a not-found error of any backend. */
export function isNotFound(err: unknown): err is StorageNotFoundError {
  return err instanceof StorageNotFoundError;
}
