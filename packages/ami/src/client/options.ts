import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { ConnectionOptions, Logger } from '@pbxkit/core';

/** Options of `AmiClient`; `reconnect`, `keepalive` and `registry` are common to every pbxkit client. */
export interface AmiClientOptions extends ConnectionOptions {
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
  tls?: boolean | TlsConnectionOptions;
  /** Time allowed to open the socket and receive the banner, in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Default time an action may take before it rejects with `AmiTimeoutError`, in ms. Default 10 000. */
  actionTimeoutMs?: number;
  /**
   * @deprecated Use `keepalive` (`{ intervalMs, timeoutMs }` or `false`). Kept for now: when `keepalive` is
   * not given, `keepaliveMs: n` means `{ intervalMs: n, timeoutMs: n }` and `0` means `false`.
   */
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
