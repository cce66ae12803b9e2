export { type Counter, type Gauge, type Histogram, Registry } from 'prom-client';
export { abortErrorOf, sleep, throwIfAborted } from './abort.js';
export {
  BoundedAsyncQueue,
  type BoundedAsyncQueueOptions,
  type OverflowPolicy,
  QueueOverflowError,
} from './async-queue.js';
export { type CredentialCheck, CredentialChecker, type OperatorCredentials } from './auth/credentials.js';
export { httpAuthOptionsFromEnv } from './auth/env.js';
export { AuthConfigError, type SecretProblem, WeakSecretError } from './auth/errors.js';
export {
  HttpAuth,
  type HttpAuthFailure,
  type HttpAuthOptions,
  type HttpAuthOutcome,
  type HttpAuthRequest,
} from './auth/http-auth.js';
export {
  checkSecret,
  digestOf,
  MIN_SECRET_BYTES,
  MIN_SECRET_CHARS,
  MIN_SECRET_DISTINCT,
  secretProblem,
  secretsEqual,
} from './auth/secret.js';
export {
  SIGNED_URL_PARAMS,
  type SignedUrlVerdict,
  UrlSigner,
  type UrlSignerOptions,
} from './auth/signed-url.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export { type ErrorContext, ErrorReporter, type ErrorReporterOptions } from './error-reporter.js';
export { AbortError, isPbxkitError, PbxkitError, TimeoutError } from './errors.js';
export { type ErrorEventArgs, type EventMap, TypedEmitter } from './events.js';
export { type LogFn, type Logger, resolveLogger, silentLogger } from './logger.js';
export { LATENCY_BUCKETS_SECONDS, MetricsFactory, type MetricsOptions, metricName } from './metrics.js';
export { importOptional, MissingDependencyError } from './optional-import.js';
export { isHexDigit, percentDecode } from './percent-decode.js';
export { type RetryOptions, retry } from './retry.js';
export {
  type PGliteLike,
  type PGliteQueryable,
  type PgClientOptions,
  type PgPoolClientLike,
  type PgPoolLike,
  pgClient,
  pgliteClient,
  type SqlClient,
  type SqlResult,
} from './sql/client.js';
export { type OpenSqlClientOptions, openSqlClient, type SqlTarget } from './sql/open.js';
