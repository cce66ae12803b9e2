import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CdrRequestHandler } from '@pbxkit/cdr';
import type { Logger, Registry } from '@pbxkit/core';
import type { PeerHandler, RecordingsHandler } from '@pbxkit/storage';
import type { WebConsole } from './console/index.js';
import type { HealthReport } from './health.js';
import type { OperatorGate } from './wiring/auth.js';

/** What the routes serve. */
export interface Routes {
  /** `POST /cdr`: mod_xml_cdr, with its own Basic credentials. */
  receiver: CdrRequestHandler;
  /** `GET|HEAD /recordings/<uuid>` and `/recordings/<uuid>/link`: behind the operator gate (its `authorize`). */
  recordings: RecordingsHandler;
  /** `<peerBasePath>/…`: other instances, signed with the peer secret (no operator auth). */
  peer: { handler: PeerHandler; basePath: string } | undefined;
  /** The web console (`/`, `/search`, `/calls/<uuid>`, `/pipeline`, `/assets/…`, `/api/…`): behind the gate. */
  console?: WebConsole | undefined;
  gate: OperatorGate;
  registry: Registry;
  health: () => Promise<HealthReport>;
  log: Logger;
}

function json(res: ServerResponse, status: number, body: unknown, head = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : text);
}

/**
 * The request listener. Every handler's promise is observed here: whatever a handler or a request does, the
 * error is logged and answered with a 500 (or the connection is cut once the headers went out), and never
 * reaches the process as an unhandled rejection or exception.
 */
export function createRoutes(routes: Routes): (req: IncomingMessage, res: ServerResponse) => void {
  const { log } = routes;
  const failed = (req: IncomingMessage, res: ServerResponse, err: unknown): void => {
    try {
      log.error({ err, method: req.method, path: (req.url ?? '').split('?', 1)[0] }, 'request failed');
    } catch {
      // A logger that throws must not end the process either.
    }
    if (!res.headersSent && !res.destroyed) {
      try {
        json(res, 500, { error: 'internal', reason: 'internal error' });
        return;
      } catch {
        // Could not answer: cut the connection below.
      }
    }
    res.destroy();
  };
  const observe = (req: IncomingMessage, res: ServerResponse, work: () => unknown): void => {
    try {
      const result = work();
      if (result instanceof Promise) result.catch((err: unknown) => failed(req, res, err));
    } catch (err) {
      failed(req, res, err);
    }
  };

  const route = (req: IncomingMessage, res: ServerResponse): unknown => {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    // Peer requests carry their own signatures: before (and outside) the operator gate.
    if (routes.peer && path.startsWith(`${routes.peer.basePath}/`)) return routes.peer.handler(req, res);
    if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      return routes
        .health()
        .then((report) => json(res, report.status === 'down' ? 503 : 200, report, req.method === 'HEAD'));
    }
    if (path === '/metrics' && req.method === 'GET') {
      if (!routes.gate.guard(req, res)) return;
      return routes.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': routes.registry.contentType, 'cache-control': 'no-store' });
        res.end(text);
      });
    }
    if (path === '/recordings' || path.startsWith('/recordings/')) return routes.recordings(req, res);
    if (routes.console?.owns(path)) {
      if (!routes.gate.guard(req, res)) return;
      return routes.console.handle(req, res, path);
    }
    return routes.receiver(req, res, () =>
      json(res, 404, { error: 'not_found', reason: `no route for ${req.method} ${path}` }),
    );
  };

  return (req, res) => observe(req, res, () => route(req, res));
}
