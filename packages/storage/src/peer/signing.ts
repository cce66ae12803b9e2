import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Header names of a signed peer request. */
export const PEER_HEADERS = {
  expires: 'x-pbxkit-expires',
  nonce: 'x-pbxkit-nonce',
  signature: 'x-pbxkit-signature',
} as const;

/** What a peer request's signature covers. */
export interface SignedParts {
  method: string;
  /** Path and query, as sent (`/_peer/objects/d/a.wav`). */
  path: string;
  /** The `Range` header value, or `''`. */
  range: string;
  /** Unix time (seconds) after which the request is refused. */
  expires: number;
  /** Random, single use: a request seen once is refused the second time. */
  nonce: string;
}

/** The string that is signed: one field per line, in a fixed order. */
export function canonical(parts: SignedParts): string {
  return [parts.method.toUpperCase(), parts.path, parts.range, String(parts.expires), parts.nonce].join('\n');
}

/** HMAC-SHA256 of the canonical request, hex. */
export function sign(secret: string | Buffer, parts: SignedParts): string {
  return createHmac('sha256', secret).update(canonical(parts)).digest('hex');
}

/** Headers for a request to a peer, valid `ttlSeconds` (default 60). */
export function signRequest(
  secret: string | Buffer,
  request: { method: string; path: string; range?: string },
  options: { ttlSeconds?: number; now?: number } = {},
): Record<string, string> {
  const expires = Math.floor((options.now ?? Date.now()) / 1000) + (options.ttlSeconds ?? 60);
  const nonce = randomBytes(16).toString('hex');
  const parts: SignedParts = {
    method: request.method,
    path: request.path,
    range: request.range ?? '',
    expires,
    nonce,
  };
  return {
    [PEER_HEADERS.expires]: String(expires),
    [PEER_HEADERS.nonce]: nonce,
    [PEER_HEADERS.signature]: sign(secret, parts),
  };
}

/** Why a peer request was refused. */
export type PeerAuthFailure = 'missing' | 'malformed' | 'forged' | 'expired' | 'too_far_ahead' | 'replayed';

/**
 * Checks signed peer requests: HMAC-SHA256 compared in constant time, expiry (and no expiry further ahead than
 * `maxTtlSeconds`, so a stolen request cannot be valid for long), and single use (nonces are remembered until
 * their request expires).
 */
export class PeerVerifier {
  private readonly seen = new Map<string, number>();
  private lastSweep = 0;

  constructor(
    private readonly secret: string | Buffer,
    private readonly maxTtlSeconds = 300,
    private readonly clock: () => number = Date.now,
  ) {}

  /** `undefined` when the request is authentic, fresh and new; otherwise why not. */
  check(
    method: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
  ): PeerAuthFailure | undefined {
    const expiresText = headers[PEER_HEADERS.expires];
    const nonce = headers[PEER_HEADERS.nonce];
    const signature = headers[PEER_HEADERS.signature];
    if (typeof expiresText !== 'string' || typeof nonce !== 'string' || typeof signature !== 'string') {
      return 'missing';
    }
    if (
      !/^\d{1,12}$/.test(expiresText) ||
      !/^[0-9a-f]{16,64}$/.test(nonce) ||
      !/^[0-9a-f]{64}$/.test(signature)
    ) {
      return 'malformed';
    }
    const range = typeof headers.range === 'string' ? headers.range : '';
    const expires = Number(expiresText);
    const expected = Buffer.from(sign(this.secret, { method, path, range, expires, nonce }), 'hex');
    const given = Buffer.from(signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'forged';
    const now = this.clock() / 1000;
    if (expires < now) return 'expired';
    if (expires > now + this.maxTtlSeconds) return 'too_far_ahead';
    this.sweep(now);
    if (this.seen.has(nonce)) return 'replayed';
    this.seen.set(nonce, expires);
    return undefined;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 10 && this.seen.size < 100_000) return;
    this.lastSweep = now;
    for (const [nonce, expires] of this.seen) if (expires < now) this.seen.delete(nonce);
  }
}
