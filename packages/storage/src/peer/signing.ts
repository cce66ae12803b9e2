import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MIN_SECRET_BYTES, MIN_SECRET_CHARS, secretProblem } from '@pbxkit/core';
import { StoragePeerSecretError } from '../errors.js';

/** Header names of a signed peer request. */
export const PEER_HEADERS = {
  peer: 'x-pbxkit-peer',
  issued: 'x-pbxkit-issued',
  nonce: 'x-pbxkit-nonce',
  signature: 'x-pbxkit-signature',
} as const;

/** Response header of a refused peer request: the {@link PeerAuthFailure} (a `HEAD` answer has no body to say it). */
export const PEER_AUTH_FAILURE_HEADER = 'x-pbxkit-auth-failure';

/** What a peer request's signature covers. */
export interface SignedParts {
  method: string;
  /** Path and query, as sent (`/_peer/objects/d/a.wav`). */
  path: string;
  /** The `Range` header value, or `''`. */
  range: string;
  /** Instance id of the peer the request is meant for: no other peer accepts it, whatever its secret. */
  peer: string;
  /** When the request was signed, Unix time in milliseconds (by the signer's clock). */
  issued: number;
  /** Random: two requests signed in the same millisecond still differ. */
  nonce: string;
}

/** The string that is signed: one field per line, in a fixed order. */
export function canonical(parts: SignedParts): string {
  return [
    parts.method.toUpperCase(),
    parts.path,
    parts.range,
    parts.peer,
    String(parts.issued),
    parts.nonce,
  ].join('\n');
}

/** HMAC-SHA256 of the canonical request, hex. */
export function sign(secret: string | Buffer, parts: SignedParts): string {
  return createHmac('sha256', secret).update(canonical(parts)).digest('hex');
}

/** Fewest characters a peer secret given as a string may have (the rule of `checkSecret` in `@pbxkit/core`). */
export const MIN_PEER_SECRET_CHARS = MIN_SECRET_CHARS;
/** Fewest bytes a peer secret given as a `Buffer` (raw random bytes) may have. */
export const MIN_PEER_SECRET_BYTES = MIN_SECRET_BYTES;

/**
 * Refuses a peer secret that is missing or that anyone could guess, with a {@link StoragePeerSecretError}: a
 * string needs at least {@link MIN_PEER_SECRET_CHARS} characters (`openssl rand -hex 16` prints 32, i.e. 16
 * random bytes; `openssl rand -hex 32` prints 64), a `Buffer` at least {@link MIN_PEER_SECRET_BYTES} bytes, and
 * either at least 8 distinct characters or byte values (`secretProblem` of `@pbxkit/core`, the rule every pbxkit
 * secret follows). The message never contains the secret.
 */
export function checkPeerSecret(secret: unknown): asserts secret is string | Buffer {
  const weak = secretProblem(secret, 'peer secret');
  if (weak) throw new StoragePeerSecretError(weak.problem, weak.message);
}

/** Headers for a request to the peer `request.peer`, signed now (or at `options.now`, Unix ms). */
export function signRequest(
  secret: string | Buffer,
  request: { method: string; path: string; range?: string; peer: string },
  options: { now?: number } = {},
): Record<string, string> {
  const parts: SignedParts = {
    method: request.method,
    path: request.path,
    range: request.range ?? '',
    peer: request.peer,
    issued: Math.floor(options.now ?? Date.now()),
    nonce: randomBytes(16).toString('hex'),
  };
  return {
    [PEER_HEADERS.peer]: parts.peer,
    [PEER_HEADERS.issued]: String(parts.issued),
    [PEER_HEADERS.nonce]: parts.nonce,
    [PEER_HEADERS.signature]: sign(secret, parts),
  };
}

/** Why a peer request was refused. */
export type PeerAuthFailure =
  | 'missing'
  | 'malformed'
  | 'forged'
  | 'wrong_peer'
  | 'too_far_ahead'
  | 'expired'
  | 'issued_before_start'
  | 'replayed';

/** Options of {@link PeerVerifier}. */
export interface PeerVerifierOptions {
  /** The cluster secret (checked by {@link checkPeerSecret}). */
  secret: string | Buffer;
  /** This instance's id, as its peers name it in their configuration (`PBXKIT_STORAGE_PEERS=<id>=<url>`). */
  instanceId: string;
  /** Oldest a request may be when it arrives (network delay plus a signer's clock behind ours). Default 30 s. */
  maxAgeSeconds?: number;
  /** How far ahead of our clock a signer's clock may be. Default 5 s. */
  maxClockSkewSeconds?: number;
  /** Clock, Unix ms (tests). */
  clock?: () => number;
}

/** An instance id fit for a header and for one line of the signed text. */
const INSTANCE_ID_RE = /^[\x21-\x7e]{1,255}$/;

/** Throws a `TypeError` unless `id` is a usable instance id (1-255 visible ASCII characters). */
export function checkInstanceId(id: unknown, what: string): asserts id is string {
  if (typeof id !== 'string' || !INSTANCE_ID_RE.test(id)) {
    throw new TypeError(
      `${what} must be an instance id of 1-255 visible ASCII characters, got ${JSON.stringify(id)}`,
    );
  }
}

/**
 * Checks signed peer requests: HMAC-SHA256 compared in constant time; addressed to this instance (a request
 * signed for another peer with the same secret is refused); issued no more than `maxAgeSeconds` ago and no more
 * than `maxClockSkewSeconds` ahead; issued after this verifier was created, so that a request captured before a
 * restart cannot be replayed after it; and used once (signatures are remembered until they are too old anyway).
 *
 * Clocks matter: a signer whose clock is behind ours by `d` is refused (`issued_before_start`) for `d` after we
 * start, and beyond `maxAgeSeconds` always (`expired`); one ahead by more than `maxClockSkewSeconds` is refused
 * (`too_far_ahead`). A signer ahead by `d` within the skew allowed leaves the requests it signed in the last `d`
 * before our restart replayable once after it, until they expire. Keep the instances' clocks in sync (NTP).
 */
export class PeerVerifier {
  /** When this verifier was created (Unix ms): requests issued before are refused. */
  readonly startedAt: number;
  private readonly secret: string | Buffer;
  private readonly instanceId: string;
  private readonly maxAgeMs: number;
  private readonly maxSkewMs: number;
  private readonly clock: () => number;
  /** signature → issued (Unix ms), for requests still young enough to be accepted. */
  private readonly seen = new Map<string, number>();
  private lastSweep = 0;

  constructor(options: PeerVerifierOptions) {
    checkPeerSecret(options.secret);
    checkInstanceId(options.instanceId, 'the peer handler instanceId');
    this.secret = options.secret;
    this.instanceId = options.instanceId;
    this.maxAgeMs = (options.maxAgeSeconds ?? 30) * 1000;
    this.maxSkewMs = (options.maxClockSkewSeconds ?? 5) * 1000;
    this.clock = options.clock ?? Date.now;
    this.startedAt = this.clock();
  }

  /** `undefined` when the request is authentic, meant for us, fresh and new; otherwise why not. */
  check(
    method: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
  ): PeerAuthFailure | undefined {
    const peer = headers[PEER_HEADERS.peer];
    const issuedText = headers[PEER_HEADERS.issued];
    const nonce = headers[PEER_HEADERS.nonce];
    const signature = headers[PEER_HEADERS.signature];
    if (
      typeof peer !== 'string' ||
      typeof issuedText !== 'string' ||
      typeof nonce !== 'string' ||
      typeof signature !== 'string'
    ) {
      return 'missing';
    }
    if (
      !INSTANCE_ID_RE.test(peer) ||
      !/^\d{1,15}$/.test(issuedText) ||
      !/^[0-9a-f]{16,64}$/.test(nonce) ||
      !/^[0-9a-f]{64}$/.test(signature)
    ) {
      return 'malformed';
    }
    const range = typeof headers.range === 'string' ? headers.range : '';
    const issued = Number(issuedText);
    const expected = Buffer.from(sign(this.secret, { method, path, range, peer, issued, nonce }), 'hex');
    const given = Buffer.from(signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'forged';
    // Only a holder of the secret learns that it addressed the wrong peer (a misconfigured peer list).
    if (peer !== this.instanceId) return 'wrong_peer';
    const now = this.clock();
    if (issued > now + this.maxSkewMs) return 'too_far_ahead';
    if (issued < now - this.maxAgeMs) return 'expired';
    if (issued < this.startedAt) return 'issued_before_start';
    this.sweep(now);
    if (this.seen.has(signature)) return 'replayed';
    this.seen.set(signature, issued);
    return undefined;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 10_000 && this.seen.size < 100_000) return;
    this.lastSweep = now;
    // A signature older than the age limit is refused as expired: it need not be remembered any more.
    for (const [signature, issued] of this.seen)
      if (issued < now - this.maxAgeMs) this.seen.delete(signature);
  }
}
