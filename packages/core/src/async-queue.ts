import { PbxkitError } from './errors.js';

/** What a {@link BoundedAsyncQueue} does when an item arrives and `capacity` items are already waiting. */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'error';

/** Options of {@link BoundedAsyncQueue}. */
export interface BoundedAsyncQueueOptions {
  /** Items held for a slow consumer before the overflow policy applies. Default 10 000. */
  capacity?: number;
  /**
   * `drop-oldest` (default) discards the oldest waiting item, so a consumer that falls behind sees the most
   * recent state; `drop-newest` discards the arriving item; `error` ends the iteration with a
   * {@link QueueOverflowError}, for consumers that must never miss an item silently.
   */
  overflow?: OverflowPolicy;
}

/** The consumer fell `capacity` items behind under the `error` overflow policy. */
export class QueueOverflowError extends PbxkitError {
  constructor(capacity: number) {
    super('QUEUE_OVERFLOW', `consumer fell more than ${capacity} items behind`);
  }
}

/**
 * A push-driven async iterable with bounded memory: producers `push` synchronously (a socket's data handler),
 * one consumer iterates with `for await`. Memory never exceeds `capacity` items; what happens past that is the
 * overflow policy, and `dropped` counts what was discarded.
 */
export class BoundedAsyncQueue<T> implements AsyncIterableIterator<T> {
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  /** Items discarded by the overflow policy so far. */
  dropped = 0;
  private items: T[] = [];
  private head = 0;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private failure: unknown;

  constructor(options: BoundedAsyncQueueOptions = {}) {
    this.capacity = options.capacity ?? 10_000;
    this.overflow = options.overflow ?? 'drop-oldest';
    if (!(this.capacity >= 1)) throw new RangeError('capacity must be >= 1');
  }

  /** Items waiting for the consumer. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** True once `end` was called (items already queued are still delivered). */
  get closed(): boolean {
    return this.ended;
  }

  /** Hands an item to the consumer, or queues it. Ignored after `end`. */
  push(item: T): void {
    if (this.ended) return;
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve({ value: item, done: false });
      return;
    }
    if (this.size >= this.capacity) {
      this.dropped++;
      if (this.overflow === 'drop-newest') return;
      if (this.overflow === 'error') {
        this.end(new QueueOverflowError(this.capacity));
        return;
      }
      this.head++;
    }
    this.items.push(item);
  }

  /**
   * Ends the iteration once the queued items are consumed; with `err`, the iteration then throws it. A
   * consumer waiting on an empty queue is released at once.
   */
  end(err?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    if (this.waiter && this.size === 0) {
      const waiter = this.waiter;
      this.waiter = undefined;
      if (err === undefined) waiter.resolve({ value: undefined, done: true });
      else waiter.reject(err);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.items[this.head] as T;
      this.items[this.head] = undefined as T;
      this.head++;
      // Compact now and then so the array does not grow with everything ever pushed.
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) {
      if (this.failure !== undefined) {
        const failure = this.failure;
        this.failure = undefined;
        return Promise.reject(failure);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Called by `break` in a `for await` loop: stops the queue and drops what is waiting. */
  return(): Promise<IteratorResult<T>> {
    this.end();
    this.items = [];
    this.head = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
