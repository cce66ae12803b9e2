import type { ServerResponse } from 'node:http';
import { type Logger, MetricsFactory, type Registry, resolveLogger } from '@pbxkit/core';
import { contentTypeFor, type StorageBackend } from '../backend.js';
import { StorageError } from '../errors.js';
import { neverReject, type RequestHandler } from '../http/guard.js';
import { PumpError, pump } from '../http/pump.js';
import { parseRange } from '../http/range.js';
import { PEER_AUTH_FAILURE_HEADER, PeerVerifier } from './signing.js';

/** Options of {@link createPeerHandler}. */
export interface PeerHandlerOptions {
  /** What this instance serves to its peers (its local recordings). */
  backend: StorageBackend;
  /**
   * Shared secret of the cluster (the same on every instance): a string of at least 32 characters or a `Buffer`
   * of at least 16 bytes (`openssl rand -hex 32`). A missing or weak one throws `StoragePeerSecretError` here.
   */
  secret: string | Buffer;
  /**
   * This instance's id, exactly as the other instances name it in their peer lists (`PBXKIT_STORAGE_PEERS`,
   * `PeerProxyBackend.instanceId`): requests signed for another instance are refused (`wrong_peer`).
   */
  instanceId: string;
  /** Path prefix. Default `/_peer`. Objects are at `{basePath}/objects/{key}`, health at `{basePath}/health`. */
  basePath?: string;
  /** Oldest a signed request may be when it arrives (signer's clock behind ours included). Default 30 s. */
  maxAgeSeconds?: number;
  /** How far ahead of ours a signer's clock may be. Default 5 s. */
  maxClockSkewSeconds?: number;
  /** Idle timeout of a transfer (no total-time limit). Default 60 000 ms. */
  idleTimeoutMs?: number;
  logger?: Logger;
  registry?: Registry;
}

/**
 * Handler of {@link createPeerHandler}: resolves `false` (after `next`) for paths that are not its own. Its
 * promise never rejects.
 */
export type PeerHandler = RequestHandler;

/**
 * The HTTP side of `PeerProxyBackend`: serves this instance's recordings to its peers, only for requests signed
 * with the cluster secret for this instance (HMAC-SHA256 over method, path, range, target instance id, issue time
 * and a nonce, compared in constant time; see `PeerVerifier` for the time window, replays and clocks). Refused
 * requests get 401 with a JSON reason and are logged and counted (`pbxkit_storage_peer_auth_failures_total{reason}`).
 * `GET` streams with `Range` (206/416); `HEAD` stats.
 *
 * Throws `StoragePeerSecretError` when the secret is missing or weak, and a `TypeError` without an `instanceId`.
 * The returned promise never rejects: an unexpected error is logged, counted
 * (`pbxkit_storage_http_unexpected_errors_total{handler="peer"}`) and answered 500, or cuts the transfer.
 */
export function createPeerHandler(options: PeerHandlerOptions): PeerHandler {
  const basePath = (options.basePath ?? '/_peer').replace(/\/+$/, '');
  const verifier = new PeerVerifier({
    secret: options.secret,
    instanceId: options.instanceId,
    ...(options.maxAgeSeconds !== undefined ? { maxAgeSeconds: options.maxAgeSeconds } : {}),
    ...(options.maxClockSkewSeconds !== undefined
      ? { maxClockSkewSeconds: options.maxClockSkewSeconds }
      : {}),
  });
  const idleMs = options.idleTimeoutMs ?? 60_000;
  const log = resolveLogger(options.logger, { component: 'storage-peer-handler' });
  const metrics = new MetricsFactory('storage', options.registry);
  const authFailures = metrics.counter({
    what: 'peer_auth_failures',
    unit: 'total',
    help: 'Peer requests refused, by reason',
    labelNames: ['reason'],
  });
  const aborted = metrics.counter({
    what: 'http_aborted',
    unit: 'total',
    help: 'Transfers cut after the headers were sent, by reason',
    labelNames: ['reason'],
  });

  const json = (
    res: ServerResponse,
    status: number,
    body: object,
    headers: Record<string, string> = {},
  ): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...headers,
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  const handle: RequestHandler = async (req, res, next) => {
    const rawPath = req.url ?? '/';
    const pathname = rawPath.split('?')[0] ?? '/';
    if (!pathname.startsWith(`${basePath}/`)) {
      if (next) next();
      else json(res, 404, { error: 'not_found', reason: 'no such path' });
      return !next;
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      json(res, 405, { error: 'method_not_allowed', reason: `${method} is not supported` });
      return true;
    }
    const failure = verifier.check(method, rawPath, req.headers);
    if (failure) {
      authFailures.inc({ reason: failure });
      log.warn({ reason: failure, path: rawPath, remote: req.socket.remoteAddress }, 'peer request refused');
      json(res, 401, { error: 'unauthorized', reason: failure }, { [PEER_AUTH_FAILURE_HEADER]: failure });
      return true;
    }
    const rest = pathname.slice(basePath.length + 1);
    if (rest === 'health') {
      const health = await options.backend.health();
      json(res, health.ok ? 200 : 503, health);
      return true;
    }
    if (!rest.startsWith('objects/')) {
      json(res, 404, { error: 'not_found', reason: 'no such path' });
      return true;
    }
    let key: string;
    try {
      key = decodeURIComponent(rest.slice('objects/'.length));
    } catch {
      json(res, 400, { error: 'bad_request', reason: 'bad key encoding' });
      return true;
    }
    try {
      const info = await options.backend.stat(key);
      const headers: Record<string, string | number> = {
        'Accept-Ranges': 'bytes',
        'Last-Modified': info.lastModified.toUTCString(),
        'Content-Type': info.contentType ?? contentTypeFor(key),
      };
      if (info.etag) headers.ETag = info.etag;
      const range = parseRange(req.headers.range, info.size, 1);
      if (range.kind === 'unsatisfiable') {
        res.writeHead(416, { ...headers, 'Content-Range': `bytes */${info.size}`, 'Content-Length': 0 });
        res.end();
        return true;
      }
      const r = range.kind === 'ranges' ? range.ranges[0] : undefined;
      headers['Content-Length'] = r ? r.end - r.start + 1 : info.size;
      if (r) headers['Content-Range'] = `bytes ${r.start}-${r.end}/${info.size}`;
      if (method === 'HEAD' || headers['Content-Length'] === 0) {
        res.writeHead(r ? 206 : 200, headers);
        res.end();
        return true;
      }
      const stream = await options.backend.read(key, r ? { range: r } : {});
      res.writeHead(r ? 206 : 200, headers);
      try {
        await pump(stream, res, idleMs);
        res.end();
      } catch (err) {
        const reason = err instanceof PumpError ? err.reason : 'source_error';
        aborted.inc({ reason });
        log.error(
          { err, key, reason },
          'peer transfer aborted after the headers were sent: connection destroyed',
        );
        res.destroy();
        res.socket?.destroy();
      }
    } catch (err) {
      if (res.headersSent && res.destroyed) return true;
      // Not a storage failure: a bug, for neverReject to log, count and answer with 500.
      if (res.headersSent || !(err instanceof StorageError)) throw err;
      const code = err.code;
      const status =
        code === 'STORAGE_NOT_FOUND' || code === 'STORAGE_INVALID_KEY'
          ? 404
          : code === 'STORAGE_RANGE_NOT_SATISFIABLE'
            ? 416
            : 503;
      if (status === 503) log.error({ err, key }, 'peer request failed');
      json(res, status, { error: status === 404 ? 'not_found' : 'unavailable', reason: err.message });
    }
    return true;
  };

  return neverReject('peer', handle, {
    log,
    metrics,
    internalError: (_req, res) => json(res, 500, { error: 'internal', reason: 'internal error' }),
  });
}
