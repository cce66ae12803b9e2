import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sleep } from '../src/abort.js';
import { AbortError, PbxkitError } from '../src/errors.js';
import { retry } from '../src/retry.js';

describe('retry', () => {
  it('resolves with the first success and makes no further attempt', async () => {
    let calls = 0;
    const result = await retry(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return 'ok';
      },
      { minMs: 0, maxMs: 0 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('rethrows the last error once attempts run out', async () => {
    let calls = 0;
    await expect(
      retry(
        () => {
          calls++;
          throw new Error(`fail ${calls}`);
        },
        { maxAttempts: 4, minMs: 0, maxMs: 0 },
      ),
    ).rejects.toThrow('fail 4');
    expect(calls).toBe(4);
  });

  it('stops at once when shouldRetry says no', async () => {
    let calls = 0;
    const fatal = new PbxkitError('FATAL', 'no point');
    await expect(
      retry(
        () => {
          calls++;
          throw fatal;
        },
        { minMs: 0, maxMs: 0, shouldRetry: (err) => !(err instanceof PbxkitError) },
      ),
    ).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });

  it('property: aborting during attempt k ends with AbortError after exactly k calls', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 20 }), async (k) => {
        const controller = new AbortController();
        let calls = 0;
        const outcome = retry(
          (attempt) => {
            calls++;
            if (attempt === k) controller.abort(new Error('shutdown'));
            throw new Error('transient');
          },
          { maxAttempts: Number.POSITIVE_INFINITY, minMs: 0, maxMs: 0, signal: controller.signal },
        );
        await expect(outcome).rejects.toBeInstanceOf(AbortError);
        expect(calls).toBe(k);
      }),
      { numRuns: 50 },
    );
  });

  it('property: an abort during a long wait rejects promptly, with the reason as cause', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 60_000, max: 3_600_000 }), async (waitMs) => {
        const controller = new AbortController();
        const reason = new Error('stop');
        let calls = 0;
        const outcome = retry(
          () => {
            calls++;
            // Abort once the wait has begun: the next macrotask runs after retry() armed its timer.
            setImmediate(() => controller.abort(reason));
            throw new Error('transient');
          },
          { minMs: waitMs, maxMs: waitMs, signal: controller.signal },
        );
        const err = await outcome.catch((e: unknown) => e);
        expect(err).toBeInstanceOf(AbortError);
        expect((err as AbortError).code).toBe('ABORTED');
        expect((err as AbortError).cause).toBe(reason);
        expect(calls).toBe(1);
      }),
      { numRuns: 25 },
    );
  });

  it('never calls fn when the signal already fired', async () => {
    const controller = new AbortController();
    controller.abort();
    let calls = 0;
    await expect(
      retry(
        () => {
          calls++;
        },
        { signal: controller.signal },
      ),
    ).rejects.toBeInstanceOf(AbortError);
    expect(calls).toBe(0);
  });

  it('passes the delay it will wait to onRetry', async () => {
    const delays: number[] = [];
    await retry(
      (attempt) => {
        if (attempt < 4) throw new Error('x');
      },
      { minMs: 1, maxMs: 4, jitter: 'none', onRetry: (_e, _a, d) => delays.push(d) },
    );
    expect(delays).toEqual([1, 2, 4]);
  });
});

describe('sleep', () => {
  it('rejects with AbortError when aborted before it ends', async () => {
    const controller = new AbortController();
    const pending = sleep(3_600_000, controller.signal);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
  });
});
