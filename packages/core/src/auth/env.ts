import { AuthConfigError, WeakSecretError } from './errors.js';
import type { HttpAuthOptions } from './http-auth.js';
import { checkSecret } from './secret.js';

/**
 * {@link HttpAuthOptions} from environment variables, or `undefined` when none of them is set (the caller decides
 * whether its endpoints may then stay open):
 *
 * | variable | meaning |
 * | --- | --- |
 * | `PBXKIT_AUTH_TOKENS` | bearer tokens, comma-separated (each at least 32 characters: `openssl rand -hex 32`) |
 * | `PBXKIT_AUTH_USERS` | HTTP Basic users, `user:password` comma-separated (passwords: the same rule, no comma) |
 * | `PBXKIT_AUTH_LINK_SECRET` | the secret signed links are made and checked with (the same rule) |
 * | `PBXKIT_AUTH_LINK_PREVIOUS_SECRET` | during a rotation: the old secret, still accepted, never used to sign |
 * | `PBXKIT_AUTH_LINK_MAX_SECONDS` | longest lifetime of a link (default 86400) |
 * | `PBXKIT_AUTH_REALM` | realm of the challenges (default `pbxkit`) |
 *
 * A value that cannot be used throws `AuthConfigError` naming the variable (a weak secret too, with the rule and
 * how to generate one, never the value).
 */
export function httpAuthOptionsFromEnv(
  env: Record<string, string | undefined> = process.env,
): HttpAuthOptions | undefined {
  const P = 'PBXKIT_AUTH_';
  const str = (name: string) => {
    const v = env[P + name]?.trim();
    return v === '' ? undefined : v;
  };
  const list = (name: string) =>
    (str(name) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  const secret = (name: string, value: string, what: string) => {
    try {
      checkSecret(value, what);
    } catch (err) {
      if (err instanceof WeakSecretError) throw new AuthConfigError(err.message, P + name);
      throw err;
    }
  };
  const options: HttpAuthOptions = {};
  const tokens = list('TOKENS');
  for (const [i, t] of tokens.entries()) secret('TOKENS', t, `bearer token ${i + 1}`);
  if (tokens.length > 0) options.bearerTokens = tokens;
  const users: Record<string, string> = {};
  for (const [i, pair] of list('USERS').entries()) {
    const colon = pair.indexOf(':');
    // The entry may be a password that lost its user: never repeat it.
    if (colon < 1) throw new AuthConfigError(`entry ${i + 1} is not user:password`, `${P}USERS`);
    const user = pair.slice(0, colon);
    if (user in users) throw new AuthConfigError(`user ${JSON.stringify(user)} is listed twice`, `${P}USERS`);
    secret('USERS', pair.slice(colon + 1), `password of user ${JSON.stringify(user)}`);
    users[user] = pair.slice(colon + 1);
  }
  if (Object.keys(users).length > 0) options.basicUsers = users;
  const linkSecret = str('LINK_SECRET');
  const previous = str('LINK_PREVIOUS_SECRET');
  if (previous !== undefined && linkSecret === undefined) {
    throw new AuthConfigError(
      `set ${P}LINK_SECRET too: the previous secret only verifies`,
      `${P}LINK_PREVIOUS_SECRET`,
    );
  }
  if (linkSecret !== undefined) {
    secret('LINK_SECRET', linkSecret, 'link secret');
    if (previous !== undefined) secret('LINK_PREVIOUS_SECRET', previous, 'previous link secret');
    const maxText = str('LINK_MAX_SECONDS');
    const max = maxText === undefined ? undefined : Number(maxText);
    if (max !== undefined && !(Number.isInteger(max) && max >= 1)) {
      throw new AuthConfigError(
        `${JSON.stringify(maxText)} is not a whole number >= 1`,
        `${P}LINK_MAX_SECONDS`,
      );
    }
    options.links = {
      secret: previous === undefined ? linkSecret : [linkSecret, previous],
      ...(max !== undefined ? { maxLifetimeSeconds: max } : {}),
    };
  }
  if (!options.bearerTokens && !options.basicUsers && !options.links) return undefined;
  const realm = str('REALM');
  if (realm !== undefined) options.realm = realm;
  return options;
}
