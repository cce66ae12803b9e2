import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { type Logger, resolveLogger } from '../logger.js';
import { MetricsFactory, type MetricsOptions } from '../metrics.js';
import { CredentialChecker, type OperatorCredentials } from './credentials.js';
import { AuthConfigError } from './errors.js';
import { UrlSigner, type UrlSignerOptions } from './signed-url.js';

/** Options of {@link HttpAuth}: operator credentials and/or signed links; at least one. */
export interface HttpAuthOptions extends OperatorCredentials, MetricsOptions {
  /** Accept links signed by this signer (or one built from these options). */
  links?: UrlSigner | UrlSignerOptions;
  /** Realm of the `WWW-Authenticate` challenges. Default `pbxkit`. */
  realm?: string;
  /** `<namespace>` of `pbxkit_<namespace>_http_auth_checks_total`. Default `core`. */
  metricsNamespace?: string;
  logger?: Logger;
}

/** Why a request was refused. */
export type HttpAuthFailure =
  /** No credentials and no signed link. */
  | 'missing'
  /** An `Authorization` header that matches no token or user. */
  | 'bad_credentials'
  /** A signed link that is forged, altered, malformed or longer-lived than allowed. */
  | 'bad_link'
  /** A genuine signed link past its expiry. */
  | 'expired_link';

/** What {@link HttpAuth.check} decided. */
export type HttpAuthOutcome =
  | { ok: true; via: 'bearer' | 'basic' | 'link'; principal: string }
  | {
      ok: false;
      /** 401 (with `WWW-Authenticate`) for missing or wrong credentials, a bare 403 for a bad or expired link. */
      status: 401 | 403;
      failure: HttpAuthFailure;
      /** Headers the refusal must carry (`WWW-Authenticate` on a 401). */
      headers: Record<string, string | string[]>;
    };

/** The part of a request {@link HttpAuth.check} reads. */
export interface HttpAuthRequest {
  url?: string | undefined;
  headers: IncomingHttpHeaders;
  socket?: { remoteAddress?: string | undefined } | undefined;
}

const QUOTABLE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * Who may use an HTTP endpoint: operators with a bearer token (`Authorization: Bearer …`) or an HTTP Basic user,
 * and, where links are configured, anyone holding a valid signed link to exactly this path and query
 * ({@link UrlSigner}). Generic: use one instance for recordings, voicemail, `/metrics` and other operator
 * endpoints (a link is bound to its path, so a recording's link opens nothing else).
 *
 * Answers, in this order: valid credentials → allowed; a signed link (an `expires` or `sig` parameter) → allowed
 * when valid, otherwise a **bare 403** (no body, no reason: a prober learns nothing); an `Authorization` header
 * that matches nothing, or nothing at all → **401** with a `WWW-Authenticate` challenge per configured scheme
 * (`Basic realm="pbxkit", charset="UTF-8"`, `Bearer realm="pbxkit"`). With links only (no operator credentials)
 * there is nothing to challenge: missing is a bare 403 too.
 *
 * Every secret is compared in constant time, and weak ones are refused when it is built (`WeakSecretError`, the
 * same rule as the storage peer secret: 32 characters, 8 distinct); configuring nothing at all is an
 * `AuthConfigError`. Every decision is counted in `pbxkit_<metricsNamespace>_http_auth_checks_total{result}`
 * (`bearer`, `basic`, `link`, or the failure); bad credentials and bad links are logged at `warn` (path without
 * the query, remote address), missing credentials at `debug`.
 *
 * @example
 * ```ts
 * const auth = new HttpAuth({ bearerTokens: [process.env.CCP_TOKEN!], links: { secret: process.env.LINK_SECRET! } });
 * http.createServer((req, res) => {
 *   if (!auth.guard(req, res)) return; // answered 401 or 403
 *   // …serve
 * });
 * ```
 */
export class HttpAuth {
  /** The signer of links this instance accepts (sign with it to hand links out); undefined without links. */
  readonly links: UrlSigner | undefined;
  private readonly credentials: CredentialChecker;
  private readonly challenges: (bad: boolean) => string[];
  private readonly log: Logger;
  private readonly checks;

  constructor(options: HttpAuthOptions) {
    this.credentials = new CredentialChecker(options);
    this.links =
      options.links instanceof UrlSigner || !options.links ? options.links : new UrlSigner(options.links);
    if (!this.credentials.configured && !this.links) {
      throw new AuthConfigError('nothing to authenticate with: give bearerTokens, basicUsers or links');
    }
    const realm = options.realm ?? 'pbxkit';
    if (!QUOTABLE.test(realm))
      throw new AuthConfigError(`realm ${JSON.stringify(realm)} must be printable ASCII without " or \\`);
    const schemes = this.credentials.schemes;
    this.challenges = (bad) =>
      schemes.map((s) =>
        s === 'basic'
          ? `Basic realm="${realm}", charset="UTF-8"`
          : `Bearer realm="${realm}"${bad ? ', error="invalid_token"' : ''}`,
      );
    this.log = resolveLogger(options.logger, { component: 'http-auth' });
    this.checks = new MetricsFactory(options.metricsNamespace ?? 'core', options.registry).counter({
      what: 'http_auth_checks',
      unit: 'total',
      help: 'Requests checked by HttpAuth, by result: how they were allowed, or why they were refused',
      labelNames: ['result'],
    });
  }

  /** Decides whether `req` may proceed; never throws, never writes. */
  check(req: HttpAuthRequest): HttpAuthOutcome {
    const header = req.headers.authorization;
    const credentials = this.credentials.check(header);
    if (credentials.result === 'ok') {
      this.checks.inc({ result: credentials.scheme });
      return { ok: true, via: credentials.scheme, principal: credentials.principal };
    }
    const target = req.url ?? '/';
    const verdict = this.links ? this.links.verify(target) : 'unsigned';
    if (verdict === 'valid') {
      this.checks.inc({ result: 'link' });
      return { ok: true, via: 'link', principal: 'link' };
    }
    let failure: HttpAuthFailure;
    if (verdict !== 'unsigned') failure = verdict === 'expired' ? 'expired_link' : 'bad_link';
    else failure = credentials.result === 'invalid' ? 'bad_credentials' : 'missing';
    this.checks.inc({ result: failure });
    const fields = {
      failure,
      ...(failure === 'bad_link' ? { link: verdict } : {}),
      path: target.split('?', 1)[0],
      remote: req.socket?.remoteAddress,
    };
    if (failure === 'missing') this.log.debug(fields, 'request without credentials refused');
    else this.log.warn(fields, 'request refused');
    const challenge = this.challenges(failure === 'bad_credentials');
    if (failure === 'bad_link' || failure === 'expired_link' || challenge.length === 0) {
      return { ok: false, status: 403, failure, headers: {} };
    }
    return { ok: false, status: 401, failure, headers: { 'WWW-Authenticate': challenge } };
  }

  /**
   * Writes the refusal of an outcome that is not `ok`: 401 with its challenges and `{"error":"unauthorized"}`,
   * or a 403 with no body at all.
   */
  refuse(req: Pick<IncomingMessage, 'method'>, res: ServerResponse, outcome: HttpAuthOutcome): void {
    if (outcome.ok) throw new TypeError('refuse() needs a refusal');
    const body = outcome.status === 401 && req.method !== 'HEAD' ? '{"error":"unauthorized"}' : '';
    res.writeHead(outcome.status, {
      ...outcome.headers,
      'Cache-Control': 'no-store',
      ...(outcome.status === 401 ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
      'Content-Length': outcome.status === 401 ? Buffer.byteLength('{"error":"unauthorized"}') : 0,
    });
    res.end(body);
  }

  /** {@link check}, and {@link refuse} when refused: `true` when the request may proceed. */
  guard(req: IncomingMessage, res: ServerResponse): boolean {
    const outcome = this.check(req);
    if (!outcome.ok) this.refuse(req, res, outcome);
    return outcome.ok;
  }
}
