import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, MetricsFactory } from '@pbxkit/core';

/** A Node request listener; resolves `true` when it answered, `false` (after `next`) when the path is not its own. */
export type RequestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (err?: unknown) => void,
) => Promise<boolean>;

/**
 * Makes a handler's promise never reject, so that a caller writing `void handler(req, res)` can never end its
 * process with an unhandled rejection, whatever the request. An error the handler did not answer itself is logged
 * and counted (`pbxkit_storage_http_unexpected_errors_total{handler}`), then answered with `internalError` (a 500)
 * when no header went out yet; otherwise the transfer is cut (the connection destroyed, so the client sees a
 * truncated body, never a clean end) and also counted in `pbxkit_storage_http_aborted_total{reason="internal_error"}`.
 */
export function neverReject(
  name: string,
  handle: RequestHandler,
  options: {
    log: Logger;
    /** The handler's own metrics (the same registry). */
    metrics: MetricsFactory;
    internalError: (req: IncomingMessage, res: ServerResponse) => void;
  },
): RequestHandler {
  const unexpected = options.metrics.counter({
    what: 'http_unexpected_errors',
    unit: 'total',
    help: 'Requests that failed with an error the handler did not expect (answered 500, or cut), by handler',
    labelNames: ['handler'],
  });
  const aborted = options.metrics.counter({
    what: 'http_aborted',
    unit: 'total',
    help: 'Transfers cut after the headers were sent, by reason',
    labelNames: ['reason'],
  });
  return async (req, res, next) => {
    try {
      return await handle(req, res, next);
    } catch (err) {
      unexpected.inc({ handler: name });
      try {
        options.log.error({ err, method: req.method, url: req.url }, 'request failed unexpectedly');
      } catch {
        // A logger that throws must not turn into the rejection this wrapper exists to prevent.
      }
      if (!res.headersSent && !res.destroyed) {
        try {
          options.internalError(req, res);
          return true;
        } catch {
          // Could not even answer: cut the connection below.
        }
      }
      if (!res.destroyed) aborted.inc({ reason: 'internal_error' });
      res.destroy();
      res.socket?.destroy();
      return true;
    }
  };
}
