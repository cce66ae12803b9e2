export {
  type ByteRange,
  contentTypeFor,
  type HealthStatus,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type ReadOptions,
  type StorageBackend,
  validateKey,
  type WriteBody,
  type WriteOptions,
} from './backend.js';
export { LocalFsBackend, type LocalFsBackendOptions } from './backends/local.js';
export { NoopBackend } from './backends/noop.js';
export { S3Backend, type S3BackendOptions } from './backends/s3.js';
export {
  isNotFound,
  StorageError,
  StorageInvalidKeyError,
  StorageNotFoundError,
  StoragePeerAuthError,
  StorageRangeError,
  StorageUnavailableError,
  StorageVerifyError,
} from './errors.js';
export {
  type AuthDecision,
  createRecordingsHandler,
  type RecordingsHandler,
  type RecordingsHandlerOptions,
} from './http/handler.js';
export { PumpError, type PumpFailure, pump } from './http/pump.js';
export { parseRange, type RangeRequest } from './http/range.js';
export type { RecordingLocator, RecordingRef, RecordingSource, ResolvedRecording } from './recording.js';
