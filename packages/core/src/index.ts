export { type Counter, type Gauge, type Histogram, Registry } from 'prom-client';
export { abortErrorOf, sleep, throwIfAborted } from './abort.js';
export {
  BoundedAsyncQueue,
  type BoundedAsyncQueueOptions,
  type OverflowPolicy,
  QueueOverflowError,
} from './async-queue.js';
export { Backoff, type BackoffOptions } from './backoff.js';
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
export { AbortError, isPbxkitError, PbxkitError, TimeoutError } from './errors.js';
export { type EventMap, TypedEmitter } from './events.js';
export { type LogFn, type Logger, resolveLogger, silentLogger } from './logger.js';
export { LATENCY_BUCKETS_SECONDS, MetricsFactory, type MetricsOptions, metricName } from './metrics.js';
export { isHexDigit, percentDecode } from './percent-decode.js';
export { type RetryOptions, retry } from './retry.js';
