import type { IncomingMessage } from 'node:http';
import { AuthConfigError, type HttpAuth, UrlSigner } from '@pbxkit/core';

/** What the recordings handler accepts as a call uuid in a path (FusionPBX's `xml_cdr_uuid`, or your own ids). */
export const RECORDING_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Options of {@link signRecordingUrl}. */
export interface RecordingLinkOptions {
  /** The signer the server verifies with (`HttpAuth.links`), or `secret` to build one. */
  signer?: UrlSigner;
  /** The link secret (at least 32 characters: `openssl rand -hex 32`), when no `signer` is given. */
  secret?: string | Buffer;
  /** How long the link works, in seconds (at most the signer's `maxLifetimeSeconds`, default one day). */
  expiresInSeconds: number;
  /** A download (`Content-Disposition: attachment`) rather than a playable stream. */
  download?: boolean;
  /** The handler's `basePath`. Default `/recordings`. */
  basePath?: string;
  /** Public origin to prefix (`https://pbx-a.example.com`); without it the link is a path. */
  baseUrl?: string;
}

/**
 * A signed, expiring link to call `uuid`'s recording, for handing to a client without credentials (a CCP
 * agent's browser): `/recordings/<uuid>?download=1&expires=<unix s>&sig=<HMAC-SHA256>`. The handler, with
 * `authorize: authorizeRecordings(auth)`, serves it, `Range` and `HEAD` included, until it expires; a changed
 * path or parameter, or an expired link, is a bare 403.
 *
 * Throws `AuthConfigError` for a uuid the handler would not accept or a lifetime out of range, and
 * `WeakSecretError` for a weak secret.
 *
 * @example
 * ```ts
 * const url = signRecordingUrl('5c7b0f0e-…', { signer: auth.links!, expiresInSeconds: 300, baseUrl: 'https://pbx-a.example.com' });
 * ```
 */
export function signRecordingUrl(uuid: string, options: RecordingLinkOptions): string {
  if (typeof uuid !== 'string' || !RECORDING_ID_RE.test(uuid)) {
    throw new AuthConfigError(`${JSON.stringify(uuid)} is not a call uuid the recordings handler serves`);
  }
  return signResourceUrl(encodeURIComponent(uuid), options, '/recordings');
}

/**
 * Signs `{basePath}/{rest}` (`rest` already percent-encoded), with `?download=1` when asked: the link builder of
 * recordings and of voicemail messages.
 */
export function signResourceUrl(
  rest: string,
  options: RecordingLinkOptions,
  defaultBasePath: string,
): string {
  const signer =
    options.signer ??
    new UrlSigner({
      secret: options.secret as string | Buffer,
      maxLifetimeSeconds: Math.max(1, options.expiresInSeconds),
    });
  const basePath = (options.basePath ?? defaultBasePath).replace(/\/+$/, '');
  const path = `${basePath}/${rest}${options.download ? '?download=1' : ''}`;
  const signed = signer.sign(path, { expiresInSeconds: options.expiresInSeconds });
  return options.baseUrl ? `${options.baseUrl.replace(/\/+$/, '')}${signed}` : signed;
}

/**
 * The recordings handler's `authorize` hook from an {@link HttpAuth} (`@pbxkit/core`): operators' bearer tokens
 * or Basic users, or a valid signed link to exactly this recording. Refusals keep `HttpAuth`'s answers: 401 with
 * `WWW-Authenticate`, or a bare 403 (no body) for a wrong or expired link. Share the same `HttpAuth` with
 * `/metrics` and other operator endpoints (`auth.guard(req, res)`).
 */
export function authorizeRecordings(
  auth: HttpAuth,
): (
  req: IncomingMessage,
  uuid: string,
) => true | { status: 401 | 403; headers: Record<string, string | string[]> } {
  return (req) => {
    const outcome = auth.check(req);
    return outcome.ok ? true : { status: outcome.status, headers: outcome.headers };
  };
}
