/**
 * Counts per second over a sliding window (the pipeline page's live plot): `add` files events under the current
 * second, `series` reads the last `seconds` seconds, oldest first. Constant memory, no timer.
 */
export class RateWindow {
  private readonly buckets: Float64Array;
  private readonly stamps: Float64Array;
  total = 0;

  constructor(
    readonly seconds = 300,
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = new Float64Array(seconds);
    this.stamps = new Float64Array(seconds).fill(-1);
  }

  add(count = 1): void {
    const second = Math.floor(this.now() / 1000);
    const slot = second % this.seconds;
    if (this.stamps[slot] !== second) {
      this.stamps[slot] = second;
      this.buckets[slot] = 0;
    }
    this.buckets[slot] = (this.buckets[slot] as number) + count;
    this.total += count;
  }

  /** Events per second for each of the last `seconds` whole seconds (the current one last, still filling). */
  series(): number[] {
    const current = Math.floor(this.now() / 1000);
    const out: number[] = [];
    for (let second = current - this.seconds + 1; second <= current; second++) {
      const slot = ((second % this.seconds) + this.seconds) % this.seconds;
      out.push(this.stamps[slot] === second ? (this.buckets[slot] as number) : 0);
    }
    return out;
  }
}
