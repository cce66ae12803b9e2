import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Logger, resolveLogger } from '../logger.js';
import { MetricsFactory, type MetricsOptions } from '../metrics.js';
import { type FailoverStatus, failedOverOrUnsynced, type StatusProvider, statusBody } from './status.js';
import { tokenMatches, validateToken } from './token.js';

/** Options of {@link createStatusHttpHandler}. */
export interface StatusHttpHandlerOptions extends MetricsOptions {
  /** Reads the current status, once per request. */
  status: StatusProvider;
  /**
   * When `/health` answers 503 rather than 200. Default: failed over (`service: 'Failover'`) or unsynced
   * (`sync: 'Unsynced'`). A status that cannot be read is always 503.
   */
  unhealthy?: (status: FailoverStatus) => boolean;
  /** When set, `/status` requires `Authorization: Bearer <token>`; `/health` and `/metrics` stay open. */
  token?: string;
  /** `<namespace>` of `pbxkit_<namespace>_status_requests_total`. Default `core`. */
  metricsNamespace?: string;
  logger?: Logger;
  /** The clock of timestamps. Default `() => new Date()`. */
  now?: () => Date;
}

/** A Node request listener; resolves `true` when it answered, `false` (after `next`) when the path is not its own. */
export type StatusHttpHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (err?: unknown) => void,
) => Promise<boolean>;

const PATHS = new Set(['/status', '/health', '/metrics']);

/**
 * An HTTP handler for `GET`/`HEAD` of `/status` (the states as JSON, with an ISO timestamp and `healthy`),
 * `/health` (200, or 503 when unhealthy: for load balancers and uptime checks) and `/metrics` (Prometheus text
 * of `registry`: pass the registry your daemon's metrics are in). Works with `http.createServer(handler)` and
 * as Express/Connect middleware.
 */
export function createStatusHttpHandler(options: StatusHttpHandlerOptions): StatusHttpHandler {
  if (options.token !== undefined) validateToken(options.token);
  const unhealthy = options.unhealthy ?? failedOverOrUnsynced;
  const now = options.now ?? (() => new Date());
  const log = resolveLogger(options.logger, { component: 'status-http' });
  const metrics = new MetricsFactory(options.metricsNamespace ?? 'core', options.registry);
  const requests = metrics.counter({
    what: 'status_requests',
    unit: 'total',
    help: 'Status endpoint requests answered, by protocol and result',
    labelNames: ['protocol', 'result'],
  });

  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: string,
    type: string,
  ): void => {
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const json = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: unknown,
    result: string,
  ): void => {
    requests.inc({ protocol: 'http', result });
    send(req, res, status, `${JSON.stringify(body)}\n`, 'application/json');
  };

  return async (req, res, next) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (!PATHS.has(path)) {
      next?.();
      return false;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      json(req, res, 405, { error: 'method not allowed' }, 'method');
      return true;
    }
    try {
      if (path === '/metrics') {
        requests.inc({ protocol: 'http', result: 'ok' });
        send(req, res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
        return true;
      }
      if (path === '/status' && options.token !== undefined && !bearerMatches(req, options.token)) {
        res.setHeader('www-authenticate', 'Bearer');
        json(req, res, 401, { error: 'a Bearer token is required' }, 'token');
        return true;
      }
      let status: FailoverStatus;
      try {
        status = await options.status();
      } catch (err) {
        log.error({ err }, 'status provider failed');
        json(
          req,
          res,
          path === '/health' ? 503 : 500,
          { healthy: false, error: 'status unavailable' },
          'command_failed',
        );
        return true;
      }
      const body = statusBody(status, now(), unhealthy);
      if (path === '/status') json(req, res, 200, body, 'ok');
      else json(req, res, body.healthy ? 200 : 503, body, body.healthy ? 'ok' : 'unhealthy');
    } catch (err) {
      log.error({ err, path }, 'status request failed');
      if (!res.headersSent) json(req, res, 500, { error: 'internal error' }, 'command_failed');
      else res.destroy();
    }
    return true;
  };
}

function bearerMatches(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer (.+)$/i.exec(header);
  return match !== null && tokenMatches(match[1] as string, token);
}
