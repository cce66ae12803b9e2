import { createHmac, timingSafeEqual } from 'node:crypto';
import { AuthConfigError } from './errors.js';
import { checkSecret } from './secret.js';

/** Query parameters of a signed link: Unix expiry time in seconds, and the signature. */
export const SIGNED_URL_PARAMS = { expires: 'expires', signature: 'sig' } as const;

/** Options of {@link UrlSigner}. */
export interface UrlSignerOptions {
  /**
   * The signing secret (at least 32 characters or 16 bytes, see `checkSecret`), or several during a rotation:
   * the first signs, every one verifies. Keep it apart from other secrets (the peer secret, tokens).
   */
  secret: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Longest lifetime a link may be signed with, and be accepted with. Default 86 400 s (one day). */
  maxLifetimeSeconds?: number;
  /** Clock, Unix ms (tests). */
  clock?: () => number;
}

/** What {@link UrlSigner.verify} thinks of a request target. */
export type SignedUrlVerdict =
  /** Signed with one of the secrets, for this path and query, and not expired. */
  | 'valid'
  /** Neither `expires` nor `sig`: not a signed link at all. */
  | 'unsigned'
  /** `expires` or `sig` missing, repeated or not in their format. */
  | 'malformed'
  /** A signature none of the secrets made for this path, expiry and query (altered, or another secret). */
  | 'forged'
  /** Genuine, but its expiry time has passed. */
  | 'expired'
  /** Genuine, but it expires further ahead than `maxLifetimeSeconds` allows. */
  | 'too_long';

/** Domain separation: a signature made for something else with the same key never passes as a link. */
const CONTEXT = 'pbxkit-signed-url-v1';

/**
 * Signs and verifies expiring links (`/recordings/<uuid>?download=1&expires=<unix s>&sig=<HMAC>`), for handing
 * one resource to a client that has no credentials of its own (a browser's audio player, a CCP agent).
 *
 * The signature is HMAC-SHA256 (base64url) over the path, as the server will see it (dot segments resolved), and
 * every query parameter but `sig`, sorted: `expires` included, and anything that changes the answer
 * (`download=1`). Adding, removing or changing any parameter, or the path, breaks it; a `Range` header does not,
 * so a player can seek. It is compared in constant time. Links cannot be revoked one by one: rotate the secret
 * (give the old one second in `secret` until its links have expired) and keep lifetimes short.
 *
 * Throws `WeakSecretError` for a weak secret and `AuthConfigError` for a lifetime out of range.
 *
 * @example
 * ```ts
 * const links = new UrlSigner({ secret: process.env.PBXKIT_AUTH_LINK_SECRET! });
 * const url = links.sign('/recordings/5c7b0f0e-…?download=1', { expiresInSeconds: 300 });
 * links.verify(url); // 'valid'; five minutes later 'expired'
 * ```
 */
export class UrlSigner {
  readonly maxLifetimeSeconds: number;
  private readonly secrets: ReadonlyArray<string | Buffer>;
  private readonly clock: () => number;

  constructor(options: UrlSignerOptions) {
    const given = options.secret;
    const secrets: ReadonlyArray<string | Buffer> =
      typeof given === 'string' || Buffer.isBuffer(given) ? [given] : (given ?? []);
    if (secrets.length === 0) checkSecret(undefined, 'link secret');
    for (const [i, s] of secrets.entries())
      checkSecret(s, i === 0 ? 'link secret' : `previous link secret ${i}`);
    this.secrets = secrets;
    this.maxLifetimeSeconds = options.maxLifetimeSeconds ?? 86_400;
    if (!Number.isInteger(this.maxLifetimeSeconds) || this.maxLifetimeSeconds < 1) {
      throw new AuthConfigError(
        `maxLifetimeSeconds must be a whole number >= 1, got ${options.maxLifetimeSeconds}`,
      );
    }
    this.clock = options.clock ?? Date.now;
  }

  /**
   * `target` (a path with an optional query, `/recordings/x?download=1`) with `expires` and `sig` appended,
   * valid for `expiresInSeconds` (1 to `maxLifetimeSeconds`). Prefix it with your public origin to hand it out.
   */
  sign(target: string, options: { expiresInSeconds: number }): string {
    const lifetime = options.expiresInSeconds;
    if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > this.maxLifetimeSeconds) {
      throw new AuthConfigError(
        `a link's lifetime must be a whole number of seconds from 1 to ${this.maxLifetimeSeconds}, got ${lifetime}`,
      );
    }
    const url = parseTarget(target);
    if (!url) throw new AuthConfigError(`${JSON.stringify(target)} is not a path (with an optional query)`);
    if (
      url.searchParams.has(SIGNED_URL_PARAMS.expires) ||
      url.searchParams.has(SIGNED_URL_PARAMS.signature)
    ) {
      throw new AuthConfigError(`${JSON.stringify(target)} already has an expires or sig parameter`);
    }
    url.searchParams.append(SIGNED_URL_PARAMS.expires, String(Math.floor(this.clock() / 1000) + lifetime));
    const signature = hmac(this.secrets[0] as string | Buffer, url);
    url.searchParams.append(SIGNED_URL_PARAMS.signature, signature.toString('base64url'));
    return `${url.pathname}${url.search}`;
  }

  /** Checks a request target (`req.url`: path and query) signed by {@link sign}. */
  verify(target: string): SignedUrlVerdict {
    const url = parseTarget(target);
    if (!url) return 'malformed';
    const expires = url.searchParams.getAll(SIGNED_URL_PARAMS.expires);
    const sig = url.searchParams.getAll(SIGNED_URL_PARAMS.signature);
    if (expires.length === 0 && sig.length === 0) return 'unsigned';
    if (expires.length !== 1 || sig.length !== 1) return 'malformed';
    const [expiresText, sigText] = [expires[0] as string, sig[0] as string];
    if (!/^\d{1,12}$/.test(expiresText) || !/^[A-Za-z0-9_-]{43}$/.test(sigText)) return 'malformed';
    const given = Buffer.from(sigText, 'base64url');
    let genuine = 0;
    // Every secret is tried, so the time taken does not say which one signed.
    for (const secret of this.secrets) genuine |= Number(timingSafeEqual(hmac(secret, url), given));
    if (genuine !== 1) return 'forged';
    const remaining = Number(expiresText) - this.clock() / 1000;
    if (remaining <= 0) return 'expired';
    if (remaining > this.maxLifetimeSeconds + 1) return 'too_long';
    return 'valid';
  }
}

/** `target` as a URL, when it is an origin-form request target (a path, maybe a query). */
function parseTarget(target: string): URL | undefined {
  if (typeof target !== 'string' || !target.startsWith('/') || target.startsWith('//')) return undefined;
  try {
    return new URL(target, 'http://localhost');
  } catch {
    return undefined;
  }
}

/** HMAC-SHA256 over the context, the normalised path and the sorted query without `sig`. */
function hmac(secret: string | Buffer, url: URL): Buffer {
  const params = [...url.searchParams]
    .filter(([name]) => name !== SIGNED_URL_PARAMS.signature)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .sort();
  return createHmac('sha256', secret)
    .update(`${CONTEXT}\n${url.pathname}\n${params.join('&')}`)
    .digest();
}
