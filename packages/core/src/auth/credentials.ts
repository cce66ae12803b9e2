import { timingSafeEqual } from 'node:crypto';
import { AuthConfigError } from './errors.js';
import { checkSecret, digestOf } from './secret.js';

/** Operator credentials: bearer tokens and/or HTTP Basic users. */
export interface OperatorCredentials {
  /** Tokens accepted in `Authorization: Bearer <token>` (each checked by `checkSecret`; RFC 6750 characters). */
  bearerTokens?: readonly string[];
  /** HTTP Basic users: user name → password (each password checked by `checkSecret`). */
  basicUsers?: Readonly<Record<string, string>>;
}

/** What {@link CredentialChecker.check} found in an `Authorization` header. */
export type CredentialCheck =
  | { result: 'ok'; scheme: 'bearer' | 'basic'; principal: string }
  | { result: 'missing' | 'invalid' };

/** RFC 6750's b64token: what a `Bearer` credential may consist of. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Checks `Authorization` headers against configured operator credentials. Secrets are hashed (SHA-256) when it
 * is built; a presented credential is hashed and compared with every configured one with `timingSafeEqual`,
 * without stopping at a match, so the time taken says nothing about which part or which entry matched.
 *
 * Throws `WeakSecretError` for a token or password that fails `checkSecret` (at least 32 characters, 8
 * distinct), and `AuthConfigError` for a token with characters a `Bearer` header cannot carry or a user name
 * that is empty, has a colon or a control character.
 */
export class CredentialChecker {
  private readonly tokens: Array<{ digest: Buffer; principal: string }>;
  private readonly users: Array<{ digest: Buffer; principal: string }>;

  constructor(credentials: OperatorCredentials) {
    this.tokens = (credentials.bearerTokens ?? []).map((token, i) => {
      checkSecret(token, `bearer token ${i + 1}`);
      if (!B64TOKEN.test(token)) {
        throw new AuthConfigError(
          `bearer token ${i + 1} has characters an Authorization header cannot carry (use letters, digits and -._~+/)`,
        );
      }
      return { digest: digestOf(token), principal: `token#${i + 1}` };
    });
    this.users = Object.entries(credentials.basicUsers ?? {}).map(([user, password]) => {
      if (user === '' || user.includes(':') || CONTROL.test(user)) {
        throw new AuthConfigError(
          `Basic user name ${JSON.stringify(user)} must be non-empty, without a colon or control characters`,
        );
      }
      checkSecret(password, `password of user ${JSON.stringify(user)}`);
      return { digest: digestOf(basicPair(user, password)), principal: user };
    });
  }

  /** True when at least one token or user is configured. */
  get configured(): boolean {
    return this.tokens.length + this.users.length > 0;
  }

  /** Which schemes are configured, for `WWW-Authenticate`. */
  get schemes(): Array<'basic' | 'bearer'> {
    return [
      ...(this.users.length ? (['basic'] as const) : []),
      ...(this.tokens.length ? (['bearer'] as const) : []),
    ];
  }

  check(authorization: string | undefined): CredentialCheck {
    if (authorization === undefined || authorization.trim() === '') return { result: 'missing' };
    const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (bearer?.[1]) return this.match(this.tokens, digestOf(bearer[1]), 'bearer');
    const basic = /^Basic[ \t]+([A-Za-z0-9+/]+=*)[ \t]*$/i.exec(authorization);
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 1) return { result: 'invalid' };
      return this.match(
        this.users,
        digestOf(basicPair(decoded.slice(0, colon), decoded.slice(colon + 1))),
        'basic',
      );
    }
    return { result: 'invalid' };
  }

  private match(
    entries: Array<{ digest: Buffer; principal: string }>,
    presented: Buffer,
    scheme: 'bearer' | 'basic',
  ): CredentialCheck {
    let found: string | undefined;
    // Every entry is compared, match or not.
    for (const entry of entries) if (timingSafeEqual(entry.digest, presented)) found ??= entry.principal;
    return found === undefined ? { result: 'invalid' } : { result: 'ok', scheme, principal: found };
  }
}

/** One string per user and password; a user name has no control character, so the NUL cannot be forged. */
function basicPair(user: string, password: string): string {
  return `${user}\u0000${password}`;
}
