import { abortErrorOf, sleep, throwIfAborted } from './abort.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { AbortError } from './errors.js';

/** Options of {@link retry}. */
export interface RetryOptions extends BackoffOptions {
  /** Attempts in total, the first included. Default 5; `Infinity` retries until aborted. */
  maxAttempts?: number;
  /** Stops waiting and retrying at once; the promise rejects with {@link AbortError}. */
  signal?: AbortSignal;
  /** Decides whether a failure is worth another attempt. Default: every error except {@link AbortError}. */
  shouldRetry?: (err: unknown, attempt: number) => boolean;
  /** Called before each wait, e.g. to log. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** A backoff to use instead of one built from the options above. */
  backoff?: Backoff;
}

/**
 * Calls `fn` until it resolves, waiting an exponentially growing, jittered delay between attempts.
 *
 * `fn` gets the attempt number (from 1) and the signal, so it can pass the signal on to the I/O it does. The
 * last error is rethrown when attempts run out or `shouldRetry` says no. When the signal fires, the wait ends at
 * once and the promise rejects with {@link AbortError}; an attempt already running is not interrupted unless
 * `fn` itself honours the signal.
 *
 * @example
 * ```ts
 * const rows = await retry(() => pool.query('select 1'), { maxAttempts: 10, minMs: 50, signal });
 * ```
 */
export async function retry<T>(
  fn: (attempt: number, signal: AbortSignal | undefined) => Promise<T> | T,
  options: RetryOptions = {},
): Promise<T> {
  const { signal, maxAttempts = 5, onRetry } = options;
  const shouldRetry = options.shouldRetry ?? ((err: unknown) => !(err instanceof AbortError));
  const backoff = options.backoff ?? new Backoff(options);
  if (!(maxAttempts >= 1)) throw new RangeError('maxAttempts must be >= 1');

  for (let attempt = 1; ; attempt++) {
    throwIfAborted(signal);
    try {
      return await fn(attempt, signal);
    } catch (err) {
      if (signal?.aborted) throw abortErrorOf(signal);
      if (attempt >= maxAttempts || !shouldRetry(err, attempt)) throw err;
      const delayMs = backoff.next();
      onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, signal);
    }
  }
}
