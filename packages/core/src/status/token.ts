import { createHash, timingSafeEqual } from 'node:crypto';
import { hasControlCharacter } from '../control-chars.js';
import { StatusError } from './errors.js';

/**
 * Checks a configured token: not empty, at most 256 bytes, no control characters (any printable text, spaces
 * and non-ASCII letters included; Synch itself accepted only `[A-Za-z0-9-.:\/]`).
 */
export function validateToken(token: string): string {
  if (typeof token !== 'string' || token.length === 0)
    throw new StatusError('STATUS_OPTIONS', 'token must not be empty');
  if (Buffer.byteLength(token) > 256)
    throw new StatusError('STATUS_OPTIONS', 'token must be at most 256 bytes');
  if (hasControlCharacter(token))
    throw new StatusError('STATUS_OPTIONS', 'token must be printable (no control characters)');
  return token;
}

/**
 * Compares a presented token with the expected one in constant time: both are hashed first, so neither the
 * position of the first differing byte nor the expected token's length shows in the time taken.
 */
export function tokenMatches(presented: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
