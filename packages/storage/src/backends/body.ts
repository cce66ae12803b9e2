import { Readable } from 'node:stream';
import type { WriteBody } from '../backend.js';

/** A {@link WriteBody} as a readable stream. */
export function bodyStream(body: WriteBody): Readable {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    return Readable.from([typeof body === 'string' ? Buffer.from(body) : body], { objectMode: false });
  }
  if (body instanceof Readable) return body;
  return Readable.from(body, { objectMode: false });
}
