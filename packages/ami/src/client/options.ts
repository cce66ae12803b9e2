import type { ConnectionOptions } from 'node:tls';
import type { BackoffOptions, Logger, MetricsOptions } from '@pbxkit/core';

/** Options of `AmiClient`. */
export interface AmiClientOptions extends MetricsOptions {
  /** Asterisk host name or address. */
  host: string;
  /** AMI port. Default 5038 (5039 is the usual TLS port). */
  port?: number;
  /** The `[user]` section of `manager.conf`. */
  username: string;
  /** Its `secret`. */
  secret: string;
  /**
   * `plain` (default) sends the secret in `Login`; `md5` first asks for a `Challenge` and sends
   * `md5(challenge + secret)` instead, so the secret never crosses the wire.
   */
  authType?: 'plain' | 'md5';
  /**
   * The `Events:` of the login: `on` (default) for every event the user may read, `off` for none (an
   * actions-only client), or a list of classes such as `['call', 'system']`.
   */
  events?: 'on' | 'off' | readonly string[];
  /** TLS (Asterisk `tlsenable=yes`): `true`, or Node TLS options such as `ca` and `servername`. */
  tls?: boolean | ConnectionOptions;
  /** Time allowed to open the socket and receive the banner, in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Default time an action may take before it rejects with `AmiTimeoutError`, in ms. Default 10 000. */
  actionTimeoutMs?: number;
  /**
   * Reconnect after a lost connection (not after `close()`): `true` (default) with core's backoff defaults,
   * `false`, or backoff options. Each successful reconnection logs in again.
   */
  reconnect?: boolean | BackoffOptions;
  /** Send `Ping` this often, in ms, to detect a dead peer; a ping that times out drops the connection. Default 30 000; 0 disables. */
  keepaliveMs?: number;
  /** Largest message accepted from Asterisk, in bytes. Default 8 MiB. */
  maxMessageBytes?: number;
  /** pino-compatible logger; silent by default. */
  logger?: Logger;
}

/** Per-call options of `action`, `actionList` and friends. */
export interface AmiActionOptions {
  /** Overrides the client's `actionTimeoutMs` for this call. */
  timeoutMs?: number;
}
