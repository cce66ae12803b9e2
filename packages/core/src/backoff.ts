/** Options of {@link Backoff}. */
export interface BackoffOptions {
  /** Smallest delay, and the ceiling of the first attempt, in milliseconds. Default 100. */
  minMs?: number;
  /** Largest delay in milliseconds. Default 30 000. */
  maxMs?: number;
  /** Growth of the ceiling per attempt. Default 2. */
  factor?: number;
  /**
   * `full` (default) draws each delay uniformly between `minMs` and the current ceiling, so that many clients
   * that lost the same server do not come back in lockstep; `none` returns the ceiling itself.
   */
  jitter?: 'full' | 'none';
  /** Source of randomness in [0, 1); injectable for tests. Default `Math.random`. */
  random?: () => number;
}

/**
 * Exponential backoff with full jitter.
 *
 * Attempt `n` (from 0) has the ceiling `min(maxMs, minMs * factor^n)`; with full jitter the delay is drawn
 * from `[minMs, ceiling]`. `reset()` starts again from the first attempt, typically after a success.
 */
export class Backoff {
  readonly minMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: 'full' | 'none';
  private readonly random: () => number;
  private attemptCount = 0;

  constructor(options: BackoffOptions = {}) {
    this.minMs = options.minMs ?? 100;
    this.maxMs = options.maxMs ?? 30_000;
    this.factor = options.factor ?? 2;
    this.jitter = options.jitter ?? 'full';
    this.random = options.random ?? Math.random;
    if (!(this.minMs >= 0) || !Number.isFinite(this.minMs))
      throw new RangeError('minMs must be a finite number >= 0');
    if (!(this.maxMs >= this.minMs)) throw new RangeError('maxMs must be >= minMs');
    if (!(this.factor >= 1) || !Number.isFinite(this.factor))
      throw new RangeError('factor must be a finite number >= 1');
  }

  /** How many delays have been handed out since the last reset. */
  get attempt(): number {
    return this.attemptCount;
  }

  /** The ceiling for attempt `n`, without jitter. */
  ceiling(n: number): number {
    // Computed in steps so that a large attempt count saturates at maxMs instead of overflowing to Infinity.
    let value = this.minMs;
    for (let i = 0; i < n && value < this.maxMs; i++) value *= this.factor;
    return Math.min(this.maxMs, value);
  }

  /** The next delay in milliseconds; advances the attempt counter. */
  next(): number {
    const ceiling = this.ceiling(this.attemptCount);
    this.attemptCount++;
    if (this.jitter === 'none') return ceiling;
    const r = Math.min(Math.max(this.random(), 0), 1);
    return this.minMs + r * (ceiling - this.minMs);
  }

  /** Back to the first attempt. */
  reset(): void {
    this.attemptCount = 0;
  }
}
