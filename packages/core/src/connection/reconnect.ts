import type { BackoffOptions } from '../backoff.js';

/** Reconnection of a client after its connection dropped: exponential backoff with full jitter. */
export interface ReconnectOptions extends Pick<BackoffOptions, 'minMs' | 'maxMs' | 'factor' | 'jitter'> {
  /** Connection attempts before the client gives up and closes. Default `Infinity`. */
  maxAttempts?: number;
}

/** The defaults of {@link ReconnectOptions}, shared by every client. */
export const DEFAULT_RECONNECT: Readonly<Required<Omit<ReconnectOptions, 'jitter'>>> = {
  minMs: 250,
  maxMs: 30_000,
  factor: 2,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/** `true`/`undefined` → the defaults, `false` → no reconnection, an object → merged with the defaults. */
export function resolveReconnect(
  option: boolean | ReconnectOptions | undefined,
): (ReconnectOptions & typeof DEFAULT_RECONNECT) | undefined {
  if (option === false) return undefined;
  return { ...DEFAULT_RECONNECT, ...(option === true || option === undefined ? {} : option) };
}
