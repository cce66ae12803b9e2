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
export {
  type CommitInfo,
  type ConfigFileInfo,
  ConfigStore,
  type ConfigStoreOptions,
  type ConfigVersion,
  type ConfigVersionInfo,
} from './config-store/config-store.js';
export { diffFiles } from './config-store/diff.js';
export { ConfigStoreError } from './config-store/errors.js';
export type { ConfigFiles } from './config-store/files.js';
export * from './config-sync/index.js';
export {
  type ConnectionDriver,
  type ConnectionEvents,
  ConnectionLifecycle,
  type ConnectionLifecycleOptions,
  type ConnectionOptions,
  type ConnectionState,
  type ReconnectingInfo,
} from './connection/lifecycle.js';
export {
  DEFAULT_KEEPALIVE,
  type KeepaliveOptions,
  type LivenessHooks,
  LivenessMonitor,
  resolveKeepalive,
} from './connection/liveness.js';
export { DEFAULT_RECONNECT, type ReconnectOptions, resolveReconnect } from './connection/reconnect.js';
export {
  type DnsChange,
  DnsConfigError,
  DnsListenError,
  DnsResponder,
  type DnsResponderEvents,
  type DnsResponderOptions,
  type DnsResult,
  type DnsState,
  type DnsTargetState,
  type DnsTransport,
  nextSerial,
  type SipTransport,
} from './dns/index.js';
export { type ErrorContext, ErrorReporter, type ErrorReporterOptions } from './error-reporter.js';
export { AbortError, isPbxkitError, PbxkitError, TimeoutError } from './errors.js';
export { type ErrorEventArgs, type EventMap, TypedEmitter } from './events.js';
export { fsyncDirectory, replaceFileAtomic, writeNewFileSynced } from './fs-durable.js';
export { ProbeError, ProbeTimeoutError } from './health/errors.js';
export {
  advanceHealth,
  type GdnsdPolicyOptions,
  gdnsdPolicy,
  type HealthPolicy,
  type PolicyStep,
  type SynchPolicyOptions,
  synchPolicy,
} from './health/policy.js';
export type { Probe, ProbeVerdict } from './health/probe.js';
export {
  type MonitorTransition,
  ProbeMonitor,
  type ProbeMonitorEvents,
  type ProbeMonitorOptions,
  type ProbeResult,
} from './health/probe-monitor.js';
export {
  buildSipOptions,
  parseSipResponse,
  type SipOptionsRequest,
  type SipResponse,
} from './health/sip-message.js';
export { type SipOptionsProbeOptions, sipOptionsProbe } from './health/sip-probe.js';
export {
  type HealthSnapshot,
  INITIAL_HEALTH,
  MONITOR_STATES,
  type MonitorState,
  type ProbeOutcome,
  type ServiceState,
  type SyncState,
} from './health/states.js';
export { type TcpProbeOptions, tcpConnectProbe } from './health/tcp-probe.js';
export { type LogFn, type Logger, resolveLogger, silentLogger } from './logger.js';
export { LATENCY_BUCKETS_SECONDS, MetricsFactory, type MetricsOptions, metricName } from './metrics.js';
export { importOptional, MissingDependencyError } from './optional-import.js';
export { isHexDigit, percentDecode } from './percent-decode.js';
export { maskUrlPasswords, redactText } from './redact.js';
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
export {
  type HostList,
  type HostState,
  hostMatches,
  isHostFailure,
  SqlConnectionStringError,
  splitHosts,
  type TargetSessionAttrs,
} from './sql/hosts.js';
export {
  type MultiHostPgClientOptions,
  multiHostPgClient,
  SqlNoSuitableHostError,
} from './sql/multi-host.js';
export { type OpenSqlClientOptions, openSqlClient, type SqlTarget } from './sql/open.js';
export type { StatusCommand } from './status/answer.js';
export { StatusError } from './status/errors.js';
export {
  type FailoverStatus,
  failedOverOrUnsynced,
  type StatusProvider,
  type StatusTimeZone,
  synchStatusJson,
  synchTimestamp,
} from './status/status.js';
export {
  createStatusHttpHandler,
  type StatusHttpHandler,
  type StatusHttpHandlerOptions,
} from './status/status-http.js';
export { StatusServer, type StatusServerOptions } from './status/status-server.js';
