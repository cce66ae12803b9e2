import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ErrorReporter,
  type HttpAuth,
  type Logger,
  MetricsFactory,
  type MetricsOptions,
  resolveLogger,
} from '@pbxkit/core';
import type { ClusterState } from './state.js';

/** What the handler reads: a {@link FreeSwitchCluster} or a {@link ClusterState}. */
export type ClusterView = Pick<
  ClusterState,
  | 'nodes'
  | 'registrations'
  | 'channels'
  | 'channel'
  | 'calls'
  | 'call'
  | 'queues'
  | 'agents'
  | 'tiers'
  | 'members'
>;

/** Options of {@link clusterViewHandler}. */
export interface ClusterViewHandlerOptions extends MetricsOptions {
  /**
   * Who may read the view (operators' bearer tokens or Basic users, from core's `HttpAuth`). `'none'` serves
   * it to anyone: only behind a proxy that authenticates, or on loopback.
   */
  auth: HttpAuth | 'none';
  /** Path prefix. Default `/cluster`. */
  basePath?: string;
  logger?: Logger;
}

/** A Node request listener; resolves `true` when it answered, `false` (after `next`) when the path is not its own. */
export type ClusterViewHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (err?: unknown) => void,
) => Promise<boolean>;

// The query parameters each list accepts; anything else is a 400 naming it (a typo must not widen a query).
const PEOPLE = ['node', 'user', 'domain'];
const QUEUES = ['node', 'queue', 'domain'];
const LISTS: Record<string, string[]> = {
  nodes: [],
  registrations: PEOPLE,
  channels: PEOPLE,
  calls: PEOPLE,
  queues: QUEUES,
  agents: QUEUES,
  tiers: QUEUES,
  members: QUEUES,
};

/**
 * The realtime cluster view over HTTP, as JSON, for a self-service portal or a wallboard. Read-only
 * (`GET`/`HEAD`; anything else is 405):
 *
 * | path | answer |
 * |---|---|
 * | `{base}/nodes` | `{ nodes: [{ node, status, since, error?, ... }] }` |
 * | `{base}/registrations?user=&domain=&node=` | `{ registrations: [...], down: [...] }` |
 * | `{base}/channels?user=&domain=&node=`, `{base}/channels/<uuid>` | `{ channels }` / `{ channel }` |
 * | `{base}/calls?user=&domain=&node=`, `{base}/calls/<uuid>` | `{ calls }` / `{ call }` (any leg's uuid) |
 * | `{base}/queues?queue=&domain=&node=` | `{ queues }` |
 * | `{base}/agents?queue=`, `{base}/queues/<queue>/agents` | `{ agents }` (with a queue: those with a tier in it) |
 * | `{base}/members?queue=`, `{base}/queues/<queue>/members` | `{ members }` |
 * | `{base}/tiers?queue=` | `{ tiers }` |
 *
 * Every list also carries `down`: the nodes not up, whose entries are left out, so a portal can say so rather
 * than show an incomplete list as complete. An unknown parameter is a 400 naming it, an unknown uuid a 404.
 * The answer is `Cache-Control: no-store`. The handler never rejects: an unexpected error is logged, counted
 * (`pbxkit_esl_errors_total{component="cluster-http"}`) and answered 500.
 *
 * @example
 * ```ts
 * const auth = new HttpAuth({ bearerTokens: [process.env.PORTAL_TOKEN!] });
 * const view = clusterViewHandler(cluster, { auth });
 * http.createServer((req, res) => {
 *   void view(req, res, () => { res.statusCode = 404; res.end(); });
 * }).listen(8080);
 * // GET /cluster/registrations?user=1000&domain=example.com
 * ```
 */
export function clusterViewHandler(
  view: ClusterView,
  options: ClusterViewHandlerOptions,
): ClusterViewHandler {
  const base = (options.basePath ?? '/cluster').replace(/\/+$/, '');
  const log = resolveLogger(options.logger, { component: 'esl-cluster-http' });
  const errors = new ErrorReporter('esl', 'cluster-http', { logger: log, registry: options.registry });
  const requests = new MetricsFactory('esl', options.registry).counter({
    what: 'cluster_http_requests',
    unit: 'total',
    help: 'Requests answered by the cluster view handler, by status',
    labelNames: ['status'],
  });
  const auth = options.auth;
  if (auth === undefined)
    throw new TypeError("clusterViewHandler: auth is required (an HttpAuth, or 'none')");

  return async (req, res, next) => {
    const url = new URL(req.url ?? '/', 'http://view.invalid');
    if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) {
      next?.();
      return false;
    }
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      requests.inc({ status: String(status) });
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
        'Cache-Control': 'no-store',
        ...headers,
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    try {
      if (auth !== 'none') {
        const outcome = auth.check(req);
        if (!outcome.ok) {
          requests.inc({ status: String(outcome.status) });
          auth.refuse(req, res, outcome);
          return true;
        }
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(
          405,
          { error: 'method_not_allowed', message: `${req.method} is not allowed: the view is read-only` },
          {
            Allow: 'GET, HEAD',
          },
        );
        return true;
      }
      const [status, body] = answer(view, url.pathname.slice(base.length), url.searchParams);
      send(status, body);
    } catch (err) {
      errors.report(err, { msg: 'cluster view request failed', url: req.url });
      if (!res.headersSent) send(500, { error: 'internal_error' });
      else res.destroy();
    }
    return true;
  };
}

type Answer = [number, unknown];

function answer(view: ClusterView, path: string, params: URLSearchParams): Answer {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [list, id, sub] = parts;
  if (!list || !(list in LISTS))
    return [
      404,
      {
        error: 'not_found',
        message: `no such list: ${JSON.stringify(list ?? '')}`,
        lists: Object.keys(LISTS),
      },
    ];
  const allowed = LISTS[list] as string[];
  for (const name of params.keys()) {
    if (!allowed.includes(name))
      return [
        400,
        { error: 'bad_parameter', message: `unknown parameter ${JSON.stringify(name)} for ${list}`, allowed },
      ];
  }
  const q = Object.fromEntries(allowed.map((name) => [name, params.get(name) ?? undefined]));
  const down = view
    .nodes()
    .filter((n) => n.status !== 'up')
    .map((n) => n.node);
  if (id !== undefined) return one(view, list, id, sub, q, down);
  switch (list) {
    case 'nodes':
      return [200, { nodes: view.nodes() }];
    case 'registrations':
      return [200, { registrations: view.registrations(q), down }];
    case 'channels':
      return [200, { channels: view.channels(q), down }];
    case 'calls':
      return [200, { calls: view.calls(q), down }];
    case 'queues':
      return [200, { queues: view.queues(q), down }];
    case 'agents':
      return [200, { agents: view.agents(q), down }];
    case 'tiers':
      return [200, { tiers: view.tiers(q), down }];
    default:
      return [200, { members: view.members(q), down }];
  }
}

function one(
  view: ClusterView,
  list: string,
  id: string,
  sub: string | undefined,
  q: Record<string, string | undefined>,
  down: string[],
): Answer {
  const missing = (what: string): Answer => [
    404,
    { error: 'not_found', message: `no ${what} ${JSON.stringify(id)}`, down },
  ];
  if (list === 'channels' && sub === undefined) {
    const channel = view.channel(id);
    return channel ? [200, { channel }] : missing('channel');
  }
  if (list === 'calls' && sub === undefined) {
    const call = view.call(id);
    return call ? [200, { call }] : missing('call');
  }
  if (list === 'queues' && (sub === 'agents' || sub === 'members' || sub === undefined)) {
    const queue = view.queues({ ...q, queue: id })[0];
    if (!queue) return missing('queue');
    if (sub === 'agents') return [200, { agents: view.agents({ ...q, queue: id }), down }];
    if (sub === 'members') return [200, { members: view.members({ ...q, queue: id }), down }];
    return [200, { queue }];
  }
  return [404, { error: 'not_found', message: `no such path under ${list}` }];
}
