export type { SqlTarget } from '@pbxkit/core';
export {
  type ArchiveReport,
  Archiver,
  type ArchiverEvents,
  type ArchiverOptions,
  type ArchiverRun,
  type ArchiverStatus,
} from './archiver.js';
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
export { type AbortedUpload, S3Backend, type S3BackendOptions } from './backends/s3.js';
export { createStorage, type Storage, type StorageConfig, storageConfigFromEnv } from './config.js';
export {
  isNotFound,
  type PeerSecretProblem,
  StorageBucketNotFoundError,
  StorageConfigError,
  StorageError,
  StorageInvalidKeyError,
  StorageNotFoundError,
  StoragePeerAuthError,
  StoragePeerSecretError,
  StorageRangeError,
  StorageUnavailableError,
  StorageVerifyError,
} from './errors.js';
export {
  type AuthDecision,
  createRecordingsHandler,
  type RecordingLinksOptions,
  type RecordingsHandler,
  type RecordingsHandlerOptions,
} from './http/handler.js';
export {
  authorizeRecordings,
  RECORDING_ID_RE,
  type RecordingLinkOptions,
  signRecordingUrl,
} from './http/links.js';
export { PumpError, type PumpFailure, pump } from './http/pump.js';
export { parseRange, type RangeRequest } from './http/range.js';
export { type IndexedBackendOptions, indexedBackend } from './index/indexed-backend.js';
export {
  type LocationEntry,
  type LocationIndex,
  MemoryLocationIndex,
  SqlLocationIndex,
  type SqlLocationIndexOptions,
  uuidFromKey,
} from './index/location-index.js';
export { instrumentBackend } from './instrument.js';
export { FUSIONPBX_KEY_TEMPLATE, type KeyTemplate, renderKey } from './keys.js';
export { PeerProxyBackend, type PeerProxyBackendOptions, peerBackends } from './peer/backend.js';
export { createPeerHandler, type PeerHandler, type PeerHandlerOptions } from './peer/handler.js';
export {
  canonical,
  checkPeerSecret,
  MIN_PEER_SECRET_BYTES,
  MIN_PEER_SECRET_CHARS,
  PEER_AUTH_FAILURE_HEADER,
  PEER_HEADERS,
  type PeerAuthFailure,
  PeerVerifier,
  type PeerVerifierOptions,
  type SignedParts,
  sign,
  signRequest,
} from './peer/signing.js';
export type { RecordingLocator, RecordingRef, RecordingSource, ResolvedRecording } from './recording.js';
export {
  checkTierOrder,
  type PeerTierOptions,
  TieredRecordingResolver,
  type TieredRecordingResolverOptions,
  type TierName,
  type TierOptions,
} from './resolver.js';
export {
  VoicemailAgent,
  type VoicemailAgentOptions,
  type VoicemailReconcileReport,
} from './voicemail/agent.js';
export {
  type EslEventEmitterLike,
  parseVoicemailEvent,
  type VoicemailEvent,
  type VoicemailEventSource,
  voicemailEventsFromEsl,
} from './voicemail/events.js';
export { FusionPbxVoicemailIndex, type FusionPbxVoicemailIndexOptions } from './voicemail/fusionpbx-index.js';
export {
  mailboxPrefix,
  parseVoicemailKey,
  type VoicemailFileKind,
  type VoicemailKeyParts,
  voicemailKeyOf,
} from './voicemail/layout.js';
export { ModVoicemailIndex, type ModVoicemailIndexOptions } from './voicemail/mod-voicemail-index.js';
export {
  MemoryVoicemailNotifier,
  PgVoicemailNotifier,
  type PgVoicemailNotifierOptions,
  type VoicemailChange,
  type VoicemailNotifier,
} from './voicemail/notifier.js';
export {
  type LocalFile,
  type PlanInput,
  type PlanStep,
  planReconcile,
  type SharedObject,
} from './voicemail/plan.js';
export { pullVerified, sha256Of, uploadVerified, type VerifiedUpload } from './voicemail/verified-copy.js';
export type {
  VoicemailIndex,
  VoicemailListOptions,
  VoicemailMessage,
  VoicemailPrefs,
  VoicemailStatus,
} from './voicemail/vm-index.js';
