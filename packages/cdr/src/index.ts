export { type ArchiveInput, CdrArchive, type CdrArchiveOptions } from './archive/archive.js';
export type { ArchivedFacts, IndexEntry } from './archive/format.js';
export { type ArchivedCdr, type ArchiveQuery, archiveDays, CdrArchiveReader } from './archive/reader.js';
export { type ArchiveRepushSummary, type ArchiveRepushTarget, repushArchived } from './archive/repush.js';
export { collectCdrFiles, isCdrFileName } from './cli/files.js';
export { type CliIo, openStore, runCli } from './cli/main.js';
export { type DeliverFilesOptions, deliverFiles, type FileRunSummary } from './cli/run-files.js';
export { type CountingSink, type ImportCounts, RecordBatcher, type RefusedLine } from './csv/batcher.js';
export {
  BUILTIN_DEFAULT_TEMPLATE,
  type CdrCsvConfig,
  type CdrLegs,
  type CsvFileName,
  parseCsvFileName,
  readCdrCsvConfig,
  templateForFile,
} from './csv/config.js';
export { CsvFollower, type CsvFollowerOptions } from './csv/follow.js';
export { type FollowState, FollowStateError } from './csv/follow-state.js';
export {
  type CsvImportOptions,
  type CsvImportProgress,
  type CsvImportReport,
  importCsvFiles,
  orderCsvFiles,
} from './csv/import.js';
export { type CsvLineResult, parseCsvLine } from './csv/line.js';
export { LocalTimeZone } from './csv/local-time.js';
export { CsvCdrReader, type CsvCdrReaderOptions, type CsvReadResult } from './csv/reader.js';
export { RecordSplitter, type SplitRecord } from './csv/splitter.js';
export {
  CdrCsvTemplateError,
  type CsvTemplate,
  parseTemplate,
  type TemplateField,
  templateVariables,
} from './csv/template.js';
export { stableKey } from './csv/to-record.js';
export { type CdrEncoding, type DecodedCdr, decodeCdrBody, decodeCdrFile } from './decode/transport.js';
export {
  CdrDispatcher,
  type CdrDispatcherEvents,
  type CdrDispatcherOptions,
  CdrLostEntryError,
  type DispatchRetryOptions,
  type DispatchSinkOptions,
} from './dispatch/dispatcher.js';
export type {
  CdrDispatcherHealth,
  DispatcherErrorKind,
  ErrorSummary,
  SinkStats,
  SpoolHealth,
} from './dispatch/health.js';
export { type CdrService, type CdrServiceOptions, startCdrService } from './dispatch/service.js';
export { CdrDecodeError, CdrParseError } from './errors.js';
export { toFusionPbxJson } from './fusionpbx/json.js';
export { type CdrNode, NODE_TABLE, nodeDdl, nodeOf } from './fusionpbx/node.js';
export { findRecording, type RecordingRef } from './fusionpbx/recording.js';
export { FAILED_CAUSES, type FusionPbxRow, toFusionPbxRow } from './fusionpbx/row.js';
export { fusionPbxDdl, V_XML_CDR_COLUMNS, V_XML_CDR_SEARCH_INDEXES } from './fusionpbx/schema.js';
export { legFromName, normaliseVariableName, type ParseCdrOptions, parseCdr } from './parse/parse-cdr.js';
export { decodeEntities, parseXmlTree, type XmlElement } from './parse/xml-tree.js';
export { type CdrPgCsvConfig, type PgCsvField, readCdrPgCsvConfig } from './pgcsv/config.js';
export {
  importPgCsvSpool,
  orderSpoolFiles,
  type PgCsvSpoolImportOptions,
  type PgCsvSpoolReport,
  spoolRowToRecord,
} from './pgcsv/import-spool.js';
export { PgCsvCdrSink, type PgCsvCdrSinkOptions } from './pgcsv/sink.js';
export { migratePgCsvTable, type PgCsvTableOptions, readPgCsvTable } from './pgcsv/source.js';
export { parsePgCsvSpool, type SpoolRow, undoubleApostrophes } from './pgcsv/spool.js';
export {
  DEFAULT_QUARANTINE_MAX_AGE_MS,
  DEFAULT_QUARANTINE_MAX_BYTES,
  type QuarantineLimitOptions,
} from './receiver/quarantine-limits.js';
export {
  type CdrReceiverOptions,
  type CdrRequestHandler,
  createCdrReceiver,
  DEFAULT_BODY_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
} from './receiver/receiver.js';
export {
  type CdrApplication,
  type CdrCallflow,
  type CdrHold,
  type CdrLeg,
  type CdrOrigin,
  type CdrRecord,
  chronologicalCallflows,
} from './record.js';
export { CdrRetention, type CdrRetentionEvents, type CdrRetentionOptions } from './retention/retention.js';
export type { CdrSink, CdrStore, PreparedCdr, PreparingCdrSink } from './sink.js';
export { isPreparingSink } from './sink.js';
export { CdrSinkUnavailableError, isTransientError } from './sink-errors.js';
export {
  type ForwardedCdr,
  forwardBody,
  HttpForwardError,
  type HttpForwardErrorCode,
  type HttpForwardFormat,
  HttpForwardSink,
  type HttpForwardSinkOptions,
} from './sinks/http-forward.js';
export {
  MONGO_CDR_INDEXES,
  MongoCdrSink,
  type MongoCdrSinkOptions,
  type MongoTarget,
} from './sinks/mongo.js';
export {
  type CdrMongoApplication,
  type CdrMongoCallflow,
  type CdrMongoDocument,
  decodeFieldName,
  documentVariables,
  encodeFieldName,
  toMongoDocument,
} from './sinks/mongo-document.js';
export { isMongoTransient } from './sinks/mongo-errors.js';
export {
  PostgresCdrSink,
  type PostgresCdrSinkOptions,
  type PostgresPreparedCdr,
  type PostgresTarget,
} from './sinks/postgres.js';
export { PostgresBulkCdrWriter, type PostgresBulkCdrWriterOptions } from './sinks/postgres-bulk.js';
export { isPostgresTransient } from './sinks/postgres-errors.js';
export { type InspectedEntry, inspectSpool, type SpoolReport } from './spool/inspect.js';
export { SpoolLockedError } from './spool/lock.js';
export {
  CdrSpool,
  CdrSpoolError,
  type CdrSpoolOptions,
  type DeadLetterInfo,
  type QuarantineInput,
  type SpoolAppended,
  type SpoolAppendInput,
  type SpoolEntry,
  type SpoolEntryHeader,
} from './spool/spool.js';
