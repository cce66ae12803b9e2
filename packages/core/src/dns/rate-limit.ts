/** Sources remembered at once; past this, idle ones are forgotten first, then everyone (a spoofed flood). */
const MAX_SOURCES = 100_000;

interface Bucket {
  tokens: number;
  lastMs: number;
}

/**
 * A token bucket per source address: `perSecond` tokens a second up to `burst`, one per query. Memory is
 * bounded: a flood from spoofed addresses cannot grow the table past {@link MAX_SOURCES}.
 */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    perSecond: number,
    private readonly burst: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    if (!(perSecond > 0) || !(burst >= 1)) throw new RangeError('rateLimit: perSecond > 0 and burst >= 1');
    this.perMs = perSecond / 1000;
  }

  /** Takes a token for `source`; false when it has none left (the query is dropped). */
  allow(source: string): boolean {
    const now = this.nowMs();
    let bucket = this.buckets.get(source);
    if (!bucket) {
      if (this.buckets.size >= MAX_SOURCES) this.prune(now);
      bucket = { tokens: this.burst, lastMs: now };
      this.buckets.set(source, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.lastMs) * this.perMs);
      bucket.lastMs = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forgets sources whose bucket has refilled (they lose nothing); everyone if that frees too little. */
  private prune(now: number): void {
    for (const [source, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.lastMs) * this.perMs >= this.burst) this.buckets.delete(source);
    }
    if (this.buckets.size >= MAX_SOURCES / 2) this.buckets.clear();
  }
}
