import {
  MongoBulkWriteError,
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
} from 'mongodb';
import { isTransientError } from '../sink-errors.js';

/**
 * Server error codes that say the deployment cannot take writes now, whatever the document: unreachable or
 * unknown host, network timeout, shutting down, primary stepped down or not primary (an election), time limit
 * exceeded, write concern failed or timed out, and authentication or authorisation failures (a credentials
 * change, fixed by the operator, not by dropping CDRs).
 */
const TRANSIENT_CODES = new Set([
  6, 7, 13, 18, 50, 64, 89, 91, 134, 189, 262, 9001, 10058, 10107, 11600, 11602, 13435, 13436,
]);

/** Error labels the driver and server put on failures that a retry can fix. */
const TRANSIENT_LABELS = [
  'RetryableWriteError',
  'RetryableError',
  'ResetPool',
  'PoolRequestedRetry',
  'SystemOverloadedError',
  'TransientTransactionError',
  'HandshakeError',
];

function transientCode(code: unknown): boolean {
  return TRANSIENT_CODES.has(Number(code));
}

/**
 * The MongoDB sink's classification of a failed write (see `CdrSink.isTransient`). Transient: the driver's
 * network, server-selection, timeout and closed-client errors, write concern errors, errors labelled retryable
 * by the driver or server, the server codes of a deployment that cannot take writes (shutdown, election, not
 * primary, auth), and Node's network errors. Not transient: a bulk write whose documents were refused
 * (`writeErrors` with other codes, e.g. validation, a document too large) and client-side errors about a
 * document (BSON serialisation).
 */
export function isMongoTransient(err: unknown): boolean {
  if (
    err instanceof MongoNetworkError ||
    err instanceof MongoServerSelectionError ||
    err instanceof MongoTopologyClosedError ||
    err instanceof MongoClientClosedError ||
    err instanceof MongoNotConnectedError ||
    err instanceof MongoServerClosedError ||
    err instanceof MongoOperationTimeoutError ||
    err instanceof MongoWriteConcernError
  ) {
    return true;
  }
  if (err instanceof MongoError) {
    if (TRANSIENT_LABELS.some((label) => err.hasErrorLabel(label))) return true;
    const raw = (err as { writeErrors?: unknown }).writeErrors;
    const writeErrors = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Array<{ code?: unknown }>;
    if (writeErrors.length > 0) return writeErrors.every((e) => transientCode(e.code));
    // A bulk write that failed without refusing any document: its write concern failed (not replicated in time).
    if (err instanceof MongoBulkWriteError) return true;
    if (transientCode(err.code)) return true;
  }
  return isTransientError(err);
}
