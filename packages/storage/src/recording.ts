import type { ObjectInfo, StorageBackend } from './backend.js';

/**
 * What the CDR store knows about a call's recording: the storage resolver takes it through
 * {@link RecordingLocator}, so this package needs nothing from `@pbxkit/cdr` (the example programs wire the two).
 */
export interface RecordingRef {
  /** The call uuid (FusionPBX `xml_cdr_uuid`). */
  uuid: string;
  /** When the call started: decides the tier (never the file's mtime). */
  callStart?: Date;
  /** Directory of the recording as the switch wrote it (FusionPBX `record_path`), absolute or relative. */
  path?: string;
  /** File name (FusionPBX `record_name`), e.g. `<uuid>.wav`. */
  name?: string;
  /** Domain (FusionPBX `domain_name`), for key templates. */
  domain?: string;
}

/** Looks up a call's recording reference, typically in the CDR store. */
export interface RecordingLocator {
  locate(uuid: string, options?: { signal?: AbortSignal }): Promise<RecordingRef | undefined>;
}

/** Where a recording was found. */
export interface ResolvedRecording {
  backend: StorageBackend;
  key: string;
  /** The object's metadata, when the resolver already has it (saves a stat). */
  info?: ObjectInfo;
  /** Name of the tier it was found in (`local`, `s3`, `peer:b`). */
  tier?: string;
  /** A URL the client can fetch directly (presigned S3 GET), when the resolver was asked for one. */
  url?: string;
}

/** Anything that turns a call uuid into a stored recording: the tiered resolver, or a function of yours. */
export interface RecordingSource {
  resolve(uuid: string, options?: { signal?: AbortSignal }): Promise<ResolvedRecording | undefined>;
  /**
   * Called when a resolved recording was not where `resolve` said (moved between the two): a source that
   * remembers locations forgets this one, so that resolving again looks afresh.
   */
  invalidate?(uuid: string): void;
}
