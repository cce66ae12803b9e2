import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedAsyncQueue, QueueOverflowError } from '../src/async-queue.js';

async function drain<T>(queue: BoundedAsyncQueue<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of queue) out.push(item);
  return out;
}

describe('BoundedAsyncQueue', () => {
  it('delivers items in order to a waiting consumer and ends cleanly', async () => {
    const queue = new BoundedAsyncQueue<number>();
    const consumed = drain(queue);
    queue.push(1);
    queue.push(2);
    queue.end();
    expect(await consumed).toEqual([1, 2]);
  });

  it('property: never holds more than capacity; drop-oldest keeps the newest items', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 300 }),
        async (capacity, n) => {
          const queue = new BoundedAsyncQueue<number>({ capacity });
          for (let i = 0; i < n; i++) {
            queue.push(i);
            expect(queue.size).toBeLessThanOrEqual(capacity);
          }
          queue.end();
          const got = await drain(queue);
          const keep = Math.min(n, capacity);
          expect(got).toEqual(Array.from({ length: keep }, (_, i) => n - keep + i));
          expect(queue.dropped).toBe(n - keep);
        },
      ),
    );
  });

  it('drop-newest keeps the first items', async () => {
    const queue = new BoundedAsyncQueue<number>({ capacity: 2, overflow: 'drop-newest' });
    for (const i of [1, 2, 3, 4]) queue.push(i);
    queue.end();
    expect(await drain(queue)).toEqual([1, 2]);
    expect(queue.dropped).toBe(2);
  });

  it('error policy delivers what fit, then throws QueueOverflowError', async () => {
    const queue = new BoundedAsyncQueue<number>({ capacity: 2, overflow: 'error' });
    for (const i of [1, 2, 3]) queue.push(i);
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const i of queue) got.push(i);
      })(),
    ).rejects.toBeInstanceOf(QueueOverflowError);
    expect(got).toEqual([1, 2]);
  });

  it('end(err) rejects a waiting consumer with that error', async () => {
    const queue = new BoundedAsyncQueue<number>();
    const pending = queue.next();
    const err = new Error('connection lost');
    queue.end(err);
    await expect(pending).rejects.toBe(err);
  });

  it('break in for-await closes the queue', async () => {
    const queue = new BoundedAsyncQueue<number>();
    queue.push(1);
    queue.push(2);
    for await (const _ of queue) break;
    expect(queue.closed).toBe(true);
    queue.push(3);
    expect(queue.size).toBe(0);
  });
});
