export { AmiClient } from './client/client.js';
export type { AmiEventStreamOptions } from './client/event-hub.js';
export type { AmiActionOptions, AmiClientOptions } from './client/options.js';
export type { AmiOriginateOptions } from './client/originate.js';
export type { AmiListResult, AmiOriginateResult } from './client/pending.js';
export { type AmiPingProbeOptions, amiPingProbe } from './client/ping-probe.js';
export type {
  AmiClientEvents,
  AmiClientState,
  AmiConnectedInfo,
  AmiOriginateParams,
} from './client/types.js';
export { type UpdateConfigOptions, updateConfigActions } from './client/update-config.js';
export { applyConfigActions, ConfigActionFailure } from './config/apply-actions.js';
export { categoryMatches, selectCategories } from './config/category-filter.js';
export { ConfCategory, type ConfCategoryOptions } from './config/conf-category.js';
export { ConfFile } from './config/conf-file.js';
export {
  ConfComment,
  ConfDirective,
  type ConfLine,
  ConfVariable,
  escapeConfValue,
} from './config/conf-lines.js';
export { type ParsedConf, parseConfText } from './config/conf-parse.js';
export {
  batchConfigActions,
  type ConfigAction,
  ConfigUpdate,
  configActionHeaders,
} from './config/update-actions.js';
export { parseConfigActionHeaders } from './config/update-headers.js';
export {
  AmiActionError,
  AmiAuthError,
  AmiConfigParseError,
  AmiConnectionError,
  AmiInvalidActionError,
  AmiProtocolError,
  AmiTimeoutError,
} from './errors.js';
export { commandOutput } from './protocol/command-output.js';
export type { AmiEventName } from './protocol/event-names.js';
export { AmiMessage, type AmiMessageType } from './protocol/message.js';
export { type AmiBanner, AmiParser, type AmiParserOptions } from './protocol/parser.js';
export {
  AMI_CLASSES,
  type AmiClass,
  parseAmiClasses,
  parseAmiEventMask,
} from './protocol/permissions.js';
export {
  type AmiActionFields,
  type AmiFieldValue,
  MAX_ACTION_HEADERS,
  MAX_ACTION_LINE_BYTES,
  serializeAction,
} from './protocol/serialize.js';
export { applySyncFile, type SyncTarget, stagingName } from './sync/apply.js';
export { AsteriskConfigSync } from './sync/config-sync.js';
export { AsteriskSyncError } from './sync/errors.js';
export { loadedSignature, renderSyncFile } from './sync/render.js';
export {
  compileSyncFilter,
  countSyncUsers,
  type SyncFilter,
  type SyncSelection,
  type SyncTechnology,
  selectSyncCategories,
} from './sync/select.js';
export type {
  AsteriskConfigSyncEvents,
  AsteriskConfigSyncOptions,
  SyncOutcome,
  SyncPreview,
  SyncRunResult,
  SyncStateChange,
} from './sync/sync-types.js';
