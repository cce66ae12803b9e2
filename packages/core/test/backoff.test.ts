import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/backoff.js';

const optionsArb = fc
  .record({
    minMs: fc.integer({ min: 0, max: 10_000 }),
    extra: fc.integer({ min: 0, max: 1_000_000 }),
    factor: fc.oneof(fc.constant(1), fc.double({ min: 1.1, max: 10, noNaN: true })),
  })
  .map(({ minMs, extra, factor }) => ({ minMs, maxMs: minMs + extra, factor }));

describe('Backoff', () => {
  it('every delay stays within [minMs, maxMs], whatever the randomness', () => {
    fc.assert(
      fc.property(
        optionsArb,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 200 }),
        (opts, draws) => {
          let i = 0;
          const backoff = new Backoff({
            ...opts,
            random: () => draws[i++ % Math.max(draws.length, 1)] ?? 0.5,
          });
          for (let n = 0; n < draws.length + 5; n++) {
            const delay = backoff.next();
            expect(delay).toBeGreaterThanOrEqual(opts.minMs);
            expect(delay).toBeLessThanOrEqual(opts.maxMs);
          }
        },
      ),
    );
  });

  it('the ceiling never shrinks from one attempt to the next and saturates at maxMs', () => {
    fc.assert(
      fc.property(optionsArb, fc.integer({ min: 0, max: 5_000 }), (opts, n) => {
        const backoff = new Backoff(opts);
        expect(backoff.ceiling(n + 1)).toBeGreaterThanOrEqual(backoff.ceiling(n));
        expect(Number.isFinite(backoff.ceiling(n))).toBe(true);
        expect(backoff.ceiling(10_000)).toBe(opts.factor > 1 && opts.minMs > 0 ? opts.maxMs : opts.minMs);
      }),
    );
  });

  it('without jitter follows min * factor^n, capped', () => {
    const backoff = new Backoff({ minMs: 100, maxMs: 1000, factor: 2, jitter: 'none' });
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('full jitter spreads delays between min and the ceiling', () => {
    const low = new Backoff({ minMs: 100, maxMs: 10_000, random: () => 0 });
    const high = new Backoff({ minMs: 100, maxMs: 10_000, random: () => 0.999999 });
    for (let i = 0; i < 3; i++) {
      expect(low.next()).toBe(100);
    }
    high.next();
    high.next();
    expect(high.next()).toBeCloseTo(400, 2);
  });

  it('reset starts again from the first attempt', () => {
    fc.assert(
      fc.property(optionsArb, fc.integer({ min: 1, max: 50 }), (opts, steps) => {
        const backoff = new Backoff({ ...opts, jitter: 'none' });
        const first = backoff.next();
        for (let i = 1; i < steps; i++) backoff.next();
        expect(backoff.attempt).toBe(steps);
        backoff.reset();
        expect(backoff.attempt).toBe(0);
        expect(backoff.next()).toBe(first);
      }),
    );
  });

  it('rejects options that make no sense with a RangeError', () => {
    expect(() => new Backoff({ minMs: 10, maxMs: 5 })).toThrow(RangeError);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(RangeError);
    expect(() => new Backoff({ minMs: -1 })).toThrow(RangeError);
  });
});
