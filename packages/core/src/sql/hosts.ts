import { PbxkitError } from '../errors.js';

/** libpq's `target_session_attrs`: which of the listed hosts a client may use. */
export type TargetSessionAttrs =
  | 'any'
  | 'read-write'
  | 'read-only'
  | 'primary'
  | 'standby'
  | 'prefer-standby';

const ATTRS: readonly TargetSessionAttrs[] = [
  'any',
  'read-write',
  'read-only',
  'primary',
  'standby',
  'prefer-standby',
];

/** A connection string naming several hosts, split into one connection string per host (see {@link splitHosts}). */
export interface HostList {
  /** One single-host connection string per host, in the order given, without `target_session_attrs`. */
  urls: string[];
  /** `host:port` of each, for logs and errors (no credentials). */
  labels: string[];
  /** What the client may use. Default `any` (the first host that answers), as in libpq. */
  targetSessionAttrs: TargetSessionAttrs;
}

/** A connection string that cannot be used, named in the message (without its password). */
export class SqlConnectionStringError extends PbxkitError {
  constructor(message: string) {
    super('SQL_CONNECTION_STRING', message);
  }
}

const URL_PARTS = /^(postgres(?:ql)?:\/\/)([^@/?#]*@)?([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/;

/**
 * Splits a libpq-style multi-host URL (`postgres://user@h1:5432,h2:5433/db?target_session_attrs=read-write`)
 * into one connection string per host, which `pg` understands (it takes a single host). Returns undefined for a
 * URL with one host and no `target_session_attrs`, which needs nothing of this. Hosts without a port get the
 * last port given, else 5432; IPv6 addresses are written in brackets (`[::1]:5432`).
 */
export function splitHosts(connectionString: string): HostList | undefined {
  const parts = URL_PARTS.exec(connectionString);
  if (!parts) return undefined;
  const [, scheme, userinfo = '', hostPart = '', path = '', query = ''] = parts;
  const params = new URLSearchParams(query.slice(1));
  const attrs = params.get('target_session_attrs');
  const hosts = hostPart.split(',');
  if (hosts.length < 2 && attrs === null) return undefined;
  if (attrs !== null && !ATTRS.includes(attrs as TargetSessionAttrs)) {
    throw new SqlConnectionStringError(
      `target_session_attrs=${attrs} is not one of ${ATTRS.join(', ')} in the PostgreSQL connection string`,
    );
  }
  params.delete('target_session_attrs');
  const rest = params.size > 0 ? `?${params.toString()}` : '';
  const parsed = hosts.map((h) => {
    const m = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d*))?$/.exec(h);
    if (!m || m[1] === '') {
      throw new SqlConnectionStringError(
        `host "${h}" in the PostgreSQL connection string is not host[:port] (hosts are separated by commas)`,
      );
    }
    return { host: m[1] as string, port: m[2] || undefined };
  });
  const lastPort = parsed.findLast((p) => p.port)?.port ?? '5432';
  const labels = parsed.map((p) => `${p.host}:${p.port ?? lastPort}`);
  return {
    urls: labels.map((label) => `${scheme}${userinfo}${label}${path}${rest}`),
    labels,
    targetSessionAttrs: (attrs as TargetSessionAttrs | null) ?? 'any',
  };
}

/** What a host said about itself when asked (see {@link HOST_STATE_SQL}). */
export interface HostState {
  /** `pg_is_in_recovery()`: a standby. */
  inRecovery: boolean;
  /** `transaction_read_only`: the session cannot write (a standby, or `default_transaction_read_only`). */
  readOnly: boolean;
}

/** Asks a host what {@link HostState} needs, in one round trip; columns `recovery` and `read_only`. */
export const HOST_STATE_SQL =
  "select pg_is_in_recovery() as recovery, current_setting('transaction_read_only') = 'on' as read_only";

/** True when a host in `state` may be used under `attrs` (`prefer-standby` is decided by the caller). */
export function hostMatches(attrs: TargetSessionAttrs, state: HostState): boolean {
  switch (attrs) {
    case 'read-write':
      return !state.readOnly;
    case 'read-only':
      return state.readOnly;
    case 'primary':
      return !state.inRecovery;
    case 'standby':
      return state.inRecovery;
    default:
      return true;
  }
}

/**
 * True when an error means the host itself cannot be used any more (rather than this statement failing):
 * no SQLSTATE (the connection failed or broke), class 08 (connection exception), 57P01-57P03 (shutting down,
 * crashed, starting up) and 25006 (a read-only transaction: the host was a primary and is a standby now).
 */
export function isHostFailure(err: unknown): boolean {
  const { code, severity } = (err ?? {}) as { code?: unknown; severity?: unknown };
  if (typeof code !== 'string' || typeof severity !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || /^57P0[123]$/.test(code) || code === '25006';
}
