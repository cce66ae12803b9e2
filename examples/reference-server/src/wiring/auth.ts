import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpAuth, type Logger, type Registry, type UrlSigner } from '@pbxkit/core';
import { type AuthDecision, authorizeRecordings } from '@pbxkit/storage';
import type { ReferenceServerConfig } from '../config/load.js';
import { isLoopback } from '../config/resolve.js';

/**
 * Who may use the operator endpoints (recordings, the link endpoint, `/metrics`). `auth`: bearer tokens, Basic
 * users and signed links (`PBXKIT_AUTH_*`). Without any: `loopback`, only clients on this machine (the server
 * refuses to start on another address unless `PBXKIT_AUTH_OPEN`), or `open`, everyone (`PBXKIT_AUTH_OPEN`).
 */
export interface OperatorGate {
  mode: 'auth' | 'loopback' | 'open';
  /** The recordings handler's `authorize` hook. */
  authorize(req: IncomingMessage): AuthDecision;
  /** Answers 401/403 itself and returns false when `req` may not proceed. */
  guard(req: IncomingMessage, res: ServerResponse): boolean;
  /** The signer of recording links, when a link secret is configured. */
  links: UrlSigner | undefined;
}

const LOOPBACK_ONLY = 'operator authentication is not configured: only clients on this machine are served';

export function operatorGate(
  config: ReferenceServerConfig,
  options: { logger: Logger; registry: Registry },
): OperatorGate {
  if (config.auth) {
    const auth = new HttpAuth({ ...config.auth, metricsNamespace: 'storage', ...options });
    const authorize = authorizeRecordings(auth);
    return {
      mode: 'auth',
      authorize: (req) => authorize(req, ''),
      guard: (req, res) => auth.guard(req, res),
      links: auth.links,
    };
  }
  if (config.authOpen) {
    return { mode: 'open', authorize: () => true, guard: () => true, links: undefined };
  }
  const local = (req: IncomingMessage) => isLoopback(req.socket.remoteAddress);
  return {
    mode: 'loopback',
    authorize: (req) => local(req) || { status: 403, reason: LOOPBACK_ONLY },
    guard: (req, res) => {
      if (local(req)) return true;
      const body = JSON.stringify({ error: 'forbidden', reason: LOOPBACK_ONLY });
      res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return false;
    },
    links: undefined,
  };
}
