import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import {
  AuthConfigError,
  type Logger,
  MetricsFactory,
  type Registry,
  resolveLogger,
  type UrlSigner,
} from '@pbxkit/core';
import { type ByteRange, contentTypeFor, type ObjectInfo } from '../backend.js';
import { StorageError, StorageNotFoundError } from '../errors.js';
import type { RecordingSource, ResolvedRecording } from '../recording.js';
import { neverReject, type RequestHandler } from './guard.js';
import { RECORDING_ID_RE, signRecordingUrl, signResourceUrl } from './links.js';
import { PumpError, pump } from './pump.js';
import { parseRange } from './range.js';

/**
 * What the auth hook may answer: allow (`true`), or refuse: `false` is a 403 with the reason `forbidden`; an
 * object gives the status, the headers (`WWW-Authenticate` on a 401) and the JSON reason. Without a reason the
 * refusal says nothing: a 403 or 404 has no body, a 401 only `{"error":"unauthorized"}`.
 */
export type AuthDecision =
  | boolean
  | { status: 401 | 403 | 404; reason?: string; headers?: Record<string, string | string[]> };

/** Options of the signed-link endpoint of {@link createRecordingsHandler}. */
export interface RecordingLinksOptions {
  /** Signs the links: the signer of the `HttpAuth` that checks them (`auth.links`). */
  signer: UrlSigner;
  /** Lifetime when the request gives no `expires_in`. Default 300 s. */
  defaultExpiresInSeconds?: number;
  /** Public origin put before the path (`https://pbx-a.example.com`); without it the link is a path. */
  publicUrl?: string;
}

/** Options of {@link createRecordingsHandler}. */
export interface RecordingsHandlerOptions {
  /** Turns a call uuid into a stored recording (a `TieredRecordingResolver`, or your own). */
  source: RecordingSource | ((uuid: string) => Promise<ResolvedRecording | undefined>);
  /** Path prefix; requests are `GET|HEAD {basePath}/{uuid}`. Default `/recordings`. */
  basePath?: string;
  /**
   * How ids are written in paths, for serving something other than call recordings by uuid (the voicemail
   * handler's `<domain>/<user>/<uuid>`): `parse` gets the path after `basePath/` (still percent-encoded) and
   * returns the id, or `undefined` for a 404; `path` writes an id back (for signed links); `noun` names the
   * thing in 404 reasons. Default: one segment matching {@link RECORDING_ID_RE}, a call uuid.
   */
  ids?: { parse(rest: string): string | undefined; path(id: string): string; noun: string };
  /**
   * Decides whether this request may have this recording. Default: everyone may. `authorizeRecordings(auth)`
   * accepts operators' bearer tokens or Basic users, or a signed link to this recording.
   */
  authorize?: (req: IncomingMessage, uuid: string) => AuthDecision | Promise<AuthDecision>;
  /**
   * Serve `GET {basePath}/{uuid}/link?expires_in=<s>&download=1`: a signed link to the recording, as JSON
   * `{ url, expiresAt }`, for a client with credentials (the CCP) to hand to one without (an agent's browser).
   * The request passes `authorize` like a recording request does; a signed link never opens it (its signature
   * is for the recording's own path). Off by default.
   */
  links?: RecordingLinksOptions;
  /**
   * No byte moved (from the backend, or to the client) for this long: the transfer is aborted. There is no limit
   * on a transfer's total duration. Default 60 000 ms.
   */
  idleTimeoutMs?: number;
  /** Answer `302` to the resolved `url` (a presigned S3 URL) when the resolver gives one. Default false. */
  redirectToUrl?: boolean;
  /** `Cache-Control` of recordings. Default `private, max-age=0, must-revalidate`. */
  cacheControl?: string;
  /**
   * `Retry-After` (seconds) of a 503: a backend, the CDR store (the resolver's locator) or the location index
   * could not be asked, so the recording may well exist. Default 5.
   */
  retryAfterSeconds?: number;
  logger?: Logger;
  registry?: Registry;
}

/**
 * A Node request listener; resolves `true` when it answered, `false` (after `next`) when the path is not its own.
 * Its promise never rejects (see {@link createRecordingsHandler}).
 */
export type RecordingsHandler = RequestHandler;

/**
 * An HTTP handler for `GET`/`HEAD {basePath}/{uuid}` that streams a recording from whichever backend the source
 * resolves, with `Range` (single, open, suffix and multiple ranges; 206 or 416), `ETag`/`If-None-Match` (304),
 * `If-Range`, a `Content-Type` by extension, and `Content-Disposition: attachment` with `?download=1`.
 *
 * Bytes are streamed in the backend's chunks (1 MiB from `LocalFsBackend`) with backpressure, so a file is never
 * held in memory, and a slow client can take as long as it needs: only an idle transfer is cut. An error after
 * the headers went out destroys the connection, so the client sees a truncated transfer and never a clean end;
 * it is logged and counted in `pbxkit_storage_http_aborted_total`.
 *
 * Statuses: 400 for a path that is not valid percent-encoding; 404 (JSON reason) when no tier has the recording;
 * 503 with `Retry-After` when it could not be looked up (a backend, the locator's database or the location
 * index unavailable, or a missing S3 bucket): a lookup that failed is never answered as one that found nothing.
 *
 * **The returned promise never rejects**, whatever the request or the source does, so `void handler(req, res)`
 * cannot end the process: an error it does not expect is logged, counted in
 * `pbxkit_storage_http_unexpected_errors_total{handler="recordings"}` and answered with a 500, or, once the
 * headers went out, cuts the transfer (`pbxkit_storage_http_aborted_total{reason="internal_error"}`).
 *
 * Works with `http.createServer(handler)`, and as Express/Connect middleware (`app.use(handler)`).
 */
export function createRecordingsHandler(options: RecordingsHandlerOptions): RecordingsHandler {
  const basePath = (options.basePath ?? '/recordings').replace(/\/+$/, '');
  const idleMs = options.idleTimeoutMs ?? 60_000;
  const log = resolveLogger(options.logger, { component: 'storage-http' });
  const metrics = new MetricsFactory('storage', options.registry);
  const requests = metrics.counter({
    what: 'http_requests',
    unit: 'total',
    help: 'Recording requests answered, by status',
    labelNames: ['method', 'status'],
  });
  const sent = metrics.counter({ what: 'http_sent', unit: 'bytes', help: 'Recording bytes sent' });
  const aborted = metrics.counter({
    what: 'http_aborted',
    unit: 'total',
    help: 'Transfers cut after the headers were sent, by reason',
    labelNames: ['reason'],
  });
  const source = options.source;
  const resolve = typeof source === 'function' ? source : (uuid: string) => source.resolve(uuid);
  const invalidate = (uuid: string): void => {
    if (typeof source !== 'function') source.invalidate?.(uuid);
  };

  const retryAfter = String(options.retryAfterSeconds ?? 5);

  const json = (req: IncomingMessage, res: ServerResponse, status: number, body: object): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
      ...(status === 503 ? { 'Retry-After': retryAfter } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : text);
    requests.inc({ method: req.method ?? '', status: String(status) });
  };

  const refuse = (
    req: IncomingMessage,
    res: ServerResponse,
    refusal: Exclude<AuthDecision, boolean>,
  ): void => {
    for (const [name, value] of Object.entries(refusal.headers ?? {})) res.setHeader(name, value);
    const error =
      refusal.status === 401 ? 'unauthorized' : refusal.status === 404 ? 'not_found' : 'forbidden';
    if (refusal.reason !== undefined || refusal.status === 401) {
      json(req, res, refusal.status, {
        error,
        ...(refusal.reason !== undefined ? { reason: refusal.reason } : {}),
      });
      return;
    }
    res.writeHead(refusal.status, { 'Cache-Control': 'no-store', 'Content-Length': 0 });
    res.end();
    requests.inc({ method: req.method ?? '', status: String(refusal.status) });
  };

  const linksSigned = metrics.counter({
    what: 'links_signed',
    unit: 'total',
    help: 'Signed recording links handed out by the link endpoint',
  });
  const link = (req: IncomingMessage, res: ServerResponse, url: URL, uuid: string): void => {
    const links = options.links as RecordingLinksOptions;
    const asked = url.searchParams.get('expires_in');
    const expiresInSeconds = asked === null ? (links.defaultExpiresInSeconds ?? 300) : Number(asked);
    const max = links.signer.maxLifetimeSeconds;
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > max) {
      json(req, res, 400, {
        error: 'bad_request',
        reason: `expires_in must be a whole number from 1 to ${max}`,
      });
      return;
    }
    let signed: string;
    try {
      const linkOptions = {
        signer: links.signer,
        expiresInSeconds,
        download: url.searchParams.get('download') === '1',
        basePath,
        ...(links.publicUrl ? { baseUrl: links.publicUrl } : {}),
      };
      signed = options.ids
        ? signResourceUrl(options.ids.path(uuid), linkOptions, basePath)
        : signRecordingUrl(uuid, linkOptions);
    } catch (err) {
      if (!(err instanceof AuthConfigError)) throw err;
      json(req, res, 400, { error: 'bad_request', reason: err.message });
      return;
    }
    const expires = Number(new URL(signed, 'http://localhost').searchParams.get('expires'));
    linksSigned.inc();
    json(req, res, 200, { url: signed, expiresAt: new Date(expires * 1000).toISOString() });
  };

  const handle: RequestHandler = async (req, res, next) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      json(req, res, 400, { error: 'bad_request', reason: 'the request target is not a valid URL path' });
      return true;
    }
    if (!url.pathname.startsWith(`${basePath}/`)) {
      if (next) next();
      else json(req, res, 404, { error: 'not_found', reason: 'no such path' });
      return !next;
    }
    let rest = url.pathname.slice(basePath.length + 1);
    const wantsLink = options.links !== undefined && rest.endsWith('/link');
    if (wantsLink) rest = rest.slice(0, -'/link'.length);
    let uuid: string | undefined;
    try {
      uuid = options.ids ? options.ids.parse(rest) : decodeURIComponent(rest);
    } catch {
      json(req, res, 400, { error: 'bad_request', reason: 'the path has an invalid percent-escape' });
      return true;
    }
    if (uuid === undefined || (!options.ids && !RECORDING_ID_RE.test(uuid))) {
      json(req, res, 404, { error: 'not_found', reason: `not a ${options.ids?.noun ?? 'call uuid'}` });
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      json(req, res, 405, { error: 'method_not_allowed', reason: `${req.method} is not supported` });
      return true;
    }
    try {
      if (options.authorize) {
        const decision = await options.authorize(req, uuid);
        if (decision !== true) {
          refuse(req, res, decision === false ? { status: 403, reason: 'forbidden' } : decision);
          return true;
        }
      }
      if (wantsLink) {
        link(req, res, url, uuid);
        return true;
      }
      // A second look only when the first location proved wrong before any byte was sent: the archiver moved it
      // to S3 and deleted the local copy between resolving and reading, or a remembered location went stale.
      for (let attempt = 1; ; attempt++) {
        const found = await resolve(uuid);
        if (!found) {
          const reason = options.ids ? `no ${options.ids.noun} ${uuid}` : `no recording for call ${uuid}`;
          json(req, res, 404, { error: 'not_found', reason });
          return true;
        }
        if (options.redirectToUrl && found.url) {
          res.writeHead(302, { Location: found.url, 'Cache-Control': 'no-store' });
          res.end();
          requests.inc({ method: req.method, status: '302' });
          return true;
        }
        try {
          await serve(req, res, url, found);
          return true;
        } catch (err) {
          if (attempt > 1 || res.headersSent || !(err instanceof StorageNotFoundError)) throw err;
          log.debug(
            { uuid, key: found.key, tier: found.tier },
            'recording moved while resolving: resolving again',
          );
          invalidate(uuid);
        }
      }
    } catch (err) {
      // serve() cut the connection and counted it; nothing else can be said to this client.
      if (res.headersSent && res.destroyed) return true;
      const status = statusOf(err);
      // Anything else is unexpected: neverReject logs, counts and answers it (500, or a cut transfer).
      if (res.headersSent || status === 500) throw err;
      if (status >= 500) log.error({ err, uuid }, 'recording request failed');
      json(req, res, status, {
        error: status === 404 ? 'not_found' : status === 503 ? 'unavailable' : 'range_not_satisfiable',
        reason: (err as Error).message,
      });
    }
    return true;
  };

  return neverReject('recordings', handle, {
    log,
    metrics,
    internalError: (req, res) => json(req, res, 500, { error: 'internal', reason: 'internal error' }),
  });

  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    found: ResolvedRecording,
  ): Promise<void> {
    const info: ObjectInfo = found.info ?? (await found.backend.stat(found.key));
    const size = info.size;
    const etag = info.etag;
    const headers: Record<string, string | number> = {
      'Accept-Ranges': 'bytes',
      'Last-Modified': info.lastModified.toUTCString(),
      'Cache-Control': options.cacheControl ?? 'private, max-age=0, must-revalidate',
    };
    if (etag) headers.ETag = etag;
    if (url.searchParams.get('download') === '1') {
      const name = posix.basename(found.key).replace(/[^A-Za-z0-9._-]/g, '_');
      headers['Content-Disposition'] = `attachment; filename="${name}"`;
    }
    const ifNoneMatch = req.headers['if-none-match'];
    if (etag && ifNoneMatch && etagMatches(ifNoneMatch, etag)) {
      res.writeHead(304, headers);
      res.end();
      requests.inc({ method: req.method ?? '', status: '304' });
      return;
    }
    const type =
      info.contentType && info.contentType !== 'binary/octet-stream' ? info.contentType : undefined;
    const contentType = type ?? contentTypeFor(found.key);
    let rangeHeader = req.headers.range;
    const ifRange = req.headers['if-range'];
    if (rangeHeader && ifRange && !(etag && ifRange === etag && !etag.startsWith('W/'))) {
      // If-Range with a date, or an ETag that changed: send the whole current object.
      if (!(ifRange === headers['Last-Modified'] && !ifRange.startsWith('"'))) rangeHeader = undefined;
    }
    const range = parseRange(rangeHeader, size);
    if (range.kind === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
      res.end();
      requests.inc({ method: req.method ?? '', status: '416' });
      return;
    }
    const ranges: ByteRange[] | undefined = range.kind === 'ranges' ? range.ranges : undefined;
    const method = req.method ?? 'GET';
    if (!ranges || ranges.length === 1) {
      const r = ranges?.[0];
      const status = r ? 206 : 200;
      const length = r ? r.end - r.start + 1 : size;
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = length;
      if (r) headers['Content-Range'] = `bytes ${r.start}-${r.end}/${size}`;
      if (method === 'HEAD') {
        res.writeHead(status, headers);
        res.end();
        requests.inc({ method, status: String(status) });
        return;
      }
      // Open before the headers go out, so that not-found or unavailable still get a proper status.
      const stream = length === 0 ? undefined : await found.backend.read(found.key, r ? { range: r } : {});
      res.writeHead(status, headers);
      if (stream) await send(req, res, stream, found);
      res.end();
      requests.inc({ method, status: String(status) });
      return;
    }
    // Several disjoint ranges: multipart/byteranges.
    const boundary = `pbxkit-${randomBytes(12).toString('hex')}`;
    const heads = ranges.map(
      (r) =>
        `\r\n--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
    );
    const tail = `\r\n--${boundary}--\r\n`;
    let length = Buffer.byteLength(tail);
    ranges.forEach((r, i) => {
      length += Buffer.byteLength(heads[i] as string) + r.end - r.start + 1;
    });
    headers['Content-Type'] = `multipart/byteranges; boundary=${boundary}`;
    headers['Content-Length'] = length;
    if (method === 'HEAD') {
      res.writeHead(206, headers);
      res.end();
      requests.inc({ method, status: '206' });
      return;
    }
    let stream: Readable | undefined = await found.backend.read(found.key, { range: ranges[0] as ByteRange });
    res.writeHead(206, headers);
    for (let i = 0; i < ranges.length; i++) {
      if (!stream) stream = await openOrCut(res, found, ranges[i] as ByteRange);
      res.write(heads[i]);
      await send(req, res, stream, found);
      stream = undefined;
    }
    res.end(tail);
    requests.inc({ method, status: '206' });
  }

  async function openOrCut(res: ServerResponse, found: ResolvedRecording, r: ByteRange): Promise<Readable> {
    try {
      return await found.backend.read(found.key, { range: r });
    } catch (err) {
      cut(res, 'source_error', err, found);
      throw err;
    }
  }

  async function send(
    req: IncomingMessage,
    res: ServerResponse,
    stream: Readable,
    found: ResolvedRecording,
  ): Promise<void> {
    try {
      const n = await pump(stream, res, idleMs);
      sent.inc(n);
    } catch (err) {
      const reason = err instanceof PumpError ? err.reason : 'source_error';
      cut(res, reason, err, found, req);
      throw err;
    }
  }

  function cut(
    res: ServerResponse,
    reason: string,
    err: unknown,
    found: ResolvedRecording,
    req?: IncomingMessage,
  ): void {
    aborted.inc({ reason });
    const fields = { err, key: found.key, backend: found.backend.name, url: req?.url, reason };
    if (reason === 'client_closed') log.debug(fields, 'client went away mid-transfer');
    else log.error(fields, 'recording transfer aborted after the headers were sent: connection destroyed');
    // Never end the response cleanly: the client must see a truncated transfer.
    res.destroy(err instanceof Error ? err : undefined);
    res.socket?.destroy();
  }
}

function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  const want = bare(etag);
  return header.split(',').some((t) => bare(t) === want);
}

function statusOf(err: unknown): number {
  if (!(err instanceof StorageError)) return 500;
  switch (err.code) {
    case 'STORAGE_NOT_FOUND':
    case 'STORAGE_INVALID_KEY':
      return 404;
    case 'STORAGE_BACKEND_UNAVAILABLE':
    case 'STORAGE_BUCKET_NOT_FOUND':
      return 503;
    case 'STORAGE_RANGE_NOT_SATISFIABLE':
      return 416;
    default:
      return 500;
  }
}
