import { createHash, timingSafeEqual } from 'node:crypto';
import { type SecretProblem, WeakSecretError } from './errors.js';

/** Fewest characters a secret given as a string may have (`openssl rand -hex 16` prints 32). */
export const MIN_SECRET_CHARS = 32;
/** Fewest bytes a secret given as a `Buffer` (raw random bytes) may have. */
export const MIN_SECRET_BYTES = 16;
/** Fewest distinct characters (or byte values): refuses `'x'.repeat(32)` and `'changeme'.repeat(4)`. */
export const MIN_SECRET_DISTINCT = 8;

const HOW_TO_GENERATE = 'generate one with `openssl rand -hex 32`';

/**
 * Why `secret` cannot protect anything, or `undefined` when it can: a string needs at least
 * {@link MIN_SECRET_CHARS} characters, a `Buffer` at least {@link MIN_SECRET_BYTES} bytes, and either at least
 * {@link MIN_SECRET_DISTINCT} distinct characters or byte values. `what` names the secret in the message, which
 * never contains the secret itself and always says how to generate a good one.
 */
export function secretProblem(
  secret: unknown,
  what: string,
): { problem: SecretProblem; message: string } | undefined {
  const isBuffer = Buffer.isBuffer(secret);
  if (typeof secret !== 'string' && !isBuffer) {
    return {
      problem: 'missing',
      message: `no ${what} given: it needs at least ${MIN_SECRET_CHARS} characters (${HOW_TO_GENERATE})`,
    };
  }
  const [minimum, unit] = isBuffer ? [MIN_SECRET_BYTES, 'bytes'] : [MIN_SECRET_CHARS, 'characters'];
  if (secret.length < minimum) {
    return {
      problem: secret.length === 0 ? 'missing' : 'too_short',
      message: `${what} too short: ${secret.length} ${unit}, at least ${minimum} needed (${HOW_TO_GENERATE})`,
    };
  }
  const distinct = new Set<string | number>(secret).size;
  if (distinct < MIN_SECRET_DISTINCT) {
    return {
      problem: 'repetitive',
      message: `${what} too easy to guess: only ${distinct} distinct ${isBuffer ? 'byte values' : 'characters'} (${HOW_TO_GENERATE})`,
    };
  }
  return undefined;
}

/** Throws a {@link WeakSecretError} naming `what` unless `secret` passes {@link secretProblem}. */
export function checkSecret(secret: unknown, what: string): asserts secret is string | Buffer {
  const weak = secretProblem(secret, what);
  if (weak) throw new WeakSecretError(weak.problem, what, weak.message);
}

/** SHA-256 of a secret or of what a client presented: fixed length, so comparisons take the same time. */
export function digestOf(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Compares what a client presented with an expected secret in constant time: both are hashed first, so neither
 * the position of the first differing byte nor the expected secret's length shows in the time taken.
 */
export function secretsEqual(presented: string | Buffer, expected: string | Buffer): boolean {
  return timingSafeEqual(digestOf(presented), digestOf(expected));
}
