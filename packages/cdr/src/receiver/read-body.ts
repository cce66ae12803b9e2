import type { IncomingMessage } from 'node:http';
import type { BodyReservation } from './memory-budget.js';

/** How reading a request body ended, when the client did not go away. */
export type BodyOutcome =
  | { kind: 'body'; body: Buffer }
  /** More than the size limit: the rest is being discarded. */
  | { kind: 'too-large' }
  /** A body of undeclared length went past the memory budget of all requests. */
  | { kind: 'busy' }
  /** No byte arrived for the idle time. */
  | { kind: 'idle' };

export interface ReadBodyOptions {
  /** Largest body accepted, in bytes. */
  limit: number;
  /** Where the body's memory is accounted. */
  reservation: BodyReservation;
  /**
   * The body's declared length (Content-Length), already reserved: the body is read into one buffer of that
   * size. Without it, each chunk is reserved as it comes and the chunks are joined at the end.
   */
  declared: number | undefined;
  /** Longest wait for the next byte, in ms; 0: no limit. */
  idleMs: number;
}

/**
 * Reads a request body into memory, within the size limit and the memory budget, giving up on a body that
 * stalls (no byte for `idleMs`). Rejects when the client closes the request before its end.
 */
export function readBody(req: IncomingMessage, options: ReadBodyOptions): Promise<BodyOutcome> {
  const { limit, reservation } = options;
  // A framework may have read the body already (Express `express.raw()`, a Fastify content parser).
  const parsed = (req as { body?: unknown }).body;
  if (Buffer.isBuffer(parsed) || typeof parsed === 'string') {
    const body = Buffer.isBuffer(parsed) ? parsed : Buffer.from(parsed, 'utf8');
    if (body.length > limit) return Promise.resolve({ kind: 'too-large' });
    if (options.declared === undefined && !reservation.take(body.length))
      return Promise.resolve({ kind: 'busy' });
    return Promise.resolve({ kind: 'body', body });
  }
  if (parsed !== undefined && req.readableEnded) {
    return Promise.reject(
      new Error(
        'the request body was already parsed by another middleware: mount the CDR receiver before it',
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const { declared } = options;
    // One buffer of the declared size rather than chunks joined at the end: the body is not held twice.
    const whole = declared === undefined ? undefined : Buffer.allocUnsafe(declared);
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = (value: BodyOutcome | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (value instanceof Error) reject(value);
      else resolve(value);
    };
    const discardRest = (outcome: BodyOutcome): void => {
      chunks.length = 0;
      finish(outcome);
      // Keep discarding what the client still sends, so it can read the answer rather than a reset.
      req.resume();
    };
    const onData = (chunk: Buffer): void => {
      idle?.refresh();
      size += chunk.length;
      if (size > limit) discardRest({ kind: 'too-large' });
      // Node's parser never delivers more than the Content-Length.
      else if (whole) chunk.copy(whole, size - chunk.length);
      else if (declared === undefined && !reservation.take(chunk.length)) discardRest({ kind: 'busy' });
      else chunks.push(chunk);
    };
    const onEnd = (): void =>
      finish({ kind: 'body', body: whole ? whole.subarray(0, size) : Buffer.concat(chunks, size) });
    const onError = (err: Error): void => finish(err);
    const onClose = (): void => finish(new Error('the client closed the request before its end'));
    if (options.idleMs > 0) {
      idle = setTimeout(() => {
        // The timer phase runs before pending socket reads: after a blocked event loop, bytes that did arrive
        // in time are only delivered in this turn's poll phase. Look again after it (setImmediate).
        const seen = size;
        setImmediate(() => {
          if (settled) return;
          if (size !== seen) idle?.refresh();
          else finish({ kind: 'idle' });
        });
      }, options.idleMs);
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
