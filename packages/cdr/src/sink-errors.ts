import { PbxkitError } from '@pbxkit/core';

/**
 * A sink could not take any write right now (its server is down, unreachable, shutting down, overloaded, or
 * refuses this client), so the failure says nothing about the records. A sink of yours can throw it (with the
 * driver's error as `cause`) to have the dispatcher retry until the sink is back instead of counting attempts;
 * the default {@link isTransientError} recognises it.
 */
export class CdrSinkUnavailableError extends PbxkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CDR_SINK_UNAVAILABLE', message, options);
  }
}

/**
 * Error codes of Node's sockets and resolver that mean "could not reach the other side" (or it went away):
 * the record had nothing to do with it.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'ENOTCONN',
  'ESHUTDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * The error and the errors it wraps (`cause`, and the `errors` of an `AggregateError`, which Node's
 * happy-eyeballs connect throws when every address refused), at most `depth` levels deep.
 */
export function* errorChain(err: unknown, depth = 5): Generator<unknown> {
  if (err === null || err === undefined || depth < 0) return;
  yield err;
  if (typeof err !== 'object') return;
  const { cause, errors } = err as { cause?: unknown; errors?: unknown };
  if (cause !== undefined && cause !== err) yield* errorChain(cause, depth - 1);
  if (Array.isArray(errors)) for (const inner of errors) yield* errorChain(inner, depth - 1);
}

/** The string `code` of an error, if it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The default classification of a failed sink write (used for sinks without `isTransient`): true for a
 * {@link CdrSinkUnavailableError} and for Node's network errors (connection refused, reset or timed out, DNS
 * failure, host or network unreachable), also when wrapped as `cause`. Anything else is taken to be about the
 * records and counts towards `maxAttempts`.
 */
export function isTransientError(err: unknown): boolean {
  for (const e of errorChain(err)) {
    if (e instanceof CdrSinkUnavailableError) return true;
    const code = errorCode(e);
    if (code !== undefined && NETWORK_CODES.has(code)) return true;
  }
  return false;
}
