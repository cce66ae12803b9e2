import type { Gauge } from '@pbxkit/core';

/**
 * The bytes of request bodies one receiver holds in memory at once, across all its requests. A request
 * reserves its body's size before reading it (or chunk by chunk when the length is not declared) and gives it
 * back when it has been answered, so concurrent large posts cannot take the process's memory past the limit.
 */
export class BodyMemoryBudget {
  private used = 0;

  constructor(
    readonly limit: number,
    /** Shared by the receivers of one registry: moved by inc/dec, never set. */
    private readonly gauge: Gauge,
  ) {}

  /** The bytes reserved now. */
  get inUse(): number {
    return this.used;
  }

  /** Reserves `bytes` when they fit under the limit; false (and nothing reserved) when they do not. */
  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    this.gauge.inc(bytes);
    return true;
  }

  release(bytes: number): void {
    if (bytes <= 0) return;
    this.used -= bytes;
    this.gauge.dec(bytes);
  }
}

/** What one request holds of a {@link BodyMemoryBudget}: taken in one go or chunk by chunk, released once. */
export class BodyReservation {
  private held = 0;

  constructor(private readonly budget: BodyMemoryBudget) {}

  /** The bytes this request holds. */
  get bytes(): number {
    return this.held;
  }

  /** Adds `bytes` to what this request holds; false when the budget has no room for them. */
  take(bytes: number): boolean {
    if (!this.budget.tryReserve(bytes)) return false;
    this.held += bytes;
    return true;
  }

  /** Gives everything back (safe to call more than once). */
  release(): void {
    this.budget.release(this.held);
    this.held = 0;
  }
}
