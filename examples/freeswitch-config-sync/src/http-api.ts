import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type Logger, type PushWebhook, type Registry, secretsEqual } from '@pbxkit/core';
import type { SyncDaemon } from './daemon.js';

/** What the HTTP API serves. */
export interface ApiOptions {
  daemon: SyncDaemon;
  registry: Registry;
  webhook: PushWebhook | undefined;
  /** Bearer token of the history, diff, rollback and sync routes; without one they answer 403. */
  token: string | undefined;
  /** Whether FreeSWITCH's event socket is connected (for /health). */
  eslConnected: () => boolean;
  log: Logger;
}

/**
 * The node's HTTP API:
 *
 * | route | auth | what |
 * |---|---|---|
 * | `GET /health` | none | 200 when the last check applied (or had nothing to apply) and ESL is up, else 503 |
 * | `GET /metrics` | none | Prometheus text |
 * | `POST /webhook` | HMAC / token | GitHub, GitLab, Gitea push events: a check of the git source |
 * | `GET /history` | bearer | the kept versions |
 * | `GET /history/<n>/diff` | bearer | the unified diff version n recorded |
 * | `GET /diff?from=a&to=b` | bearer | the unified diff between two kept versions |
 * | `POST /rollback/<n>` | bearer | applies version n again (held until the source changes) |
 * | `POST /sync` | bearer | checks the source now |
 */
export function createApi(options: ApiOptions): Server {
  const hook = options.webhook?.handler((event) =>
    options.daemon.trigger(`${event.forge} push ${event.after.slice(0, 12)}`),
  );
  return createServer((req, res) => {
    handle(req, res, options, hook).catch((err: unknown) => {
      const e = err as { code?: string; message?: string };
      options.log.warn({ err, url: req.url }, 'request failed');
      const status = e.code === 'CONFIG_STORE_NOT_FOUND' ? 404 : e.code?.startsWith('FS_CONFIG') ? 409 : 500;
      send(res, status, { error: e.message ?? String(err), code: e.code });
    });
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  o: ApiOptions,
  hook: ((req: IncomingMessage, res: ServerResponse) => void) | undefined,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  if (path === '/health' && req.method === 'GET') {
    const s = o.daemon.status;
    const ok = !s.lastError && o.eslConnected();
    return send(res, ok ? 200 : 503, {
      status: ok ? 'ok' : 'failing',
      esl: o.eslConnected() ? 'connected' : 'disconnected',
      appliedRevision: s.appliedRevision,
      held: s.held,
      lastCheck: s.lastCheck,
      lastApplied: s.lastApplied,
      lastError: s.lastError,
    });
  }
  if (path === '/metrics' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': o.registry.contentType });
    res.end(await o.registry.metrics());
    return;
  }
  if (path === '/webhook') {
    if (!hook) return send(res, 404, { error: 'no webhook: set PBXKIT_WEBHOOK_SECRET' });
    return hook(req, res);
  }
  if (!authorized(req, o.token)) {
    res.setHeader('www-authenticate', 'Bearer');
    return send(res, o.token ? 401 : 403, {
      error: o.token ? 'bearer token required' : 'set PBXKIT_API_TOKEN to use the API',
    });
  }
  const sync = o.daemon.sync;
  if (path === '/history' && req.method === 'GET') {
    const versions = await sync.history();
    return send(
      res,
      200,
      versions.map(({ files, ...info }) => ({ ...info, files: Object.keys(files).length })),
    );
  }
  const changes = /^\/history\/(\d+)\/diff$/.exec(path);
  if (changes && req.method === 'GET') return text(res, await sync.store.changes(Number(changes[1])));
  if (path === '/diff' && req.method === 'GET') {
    const from = Number(url.searchParams.get('from'));
    const to = Number(url.searchParams.get('to'));
    if (!Number.isInteger(from) || !Number.isInteger(to))
      return send(res, 400, { error: 'from and to must be version numbers' });
    return text(res, await sync.store.diff(from, to));
  }
  const rollback = /^\/rollback\/(\d+)$/.exec(path);
  if (rollback && req.method === 'POST') {
    const result = await o.daemon.rollback(Number(rollback[1]), 'http api');
    return send(res, 200, { version: result.version, commands: result.commands, diff: result.diff });
  }
  if (path === '/sync' && req.method === 'POST') {
    await o.daemon.trigger('http api');
    return send(res, 200, {
      appliedRevision: o.daemon.status.appliedRevision,
      lastError: o.daemon.status.lastError,
    });
  }
  send(res, 404, { error: `no route ${req.method} ${path}` });
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  const header = req.headers.authorization ?? '';
  return token !== undefined && header.startsWith('Bearer ') && secretsEqual(header.slice(7), token);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

function text(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'text/x-diff; charset=utf-8' });
  res.end(body);
}
