import { createServer, type Server } from 'node:http';
import {
  HttpAuth,
  type HttpAuthOptions,
  httpAuthOptionsFromEnv,
  type Logger,
  PbxkitError,
  Registry,
  resolveLogger,
} from '@pbxkit/core';
import { clusterViewHandler, EslClient, FreeSwitchCluster } from '@pbxkit/esl';

// The daemon's second mode, for the central side: no config is applied here; it follows every FreeSWITCH node
// over ESL and serves their realtime state (registrations, channels, calls, call-centre queues) as JSON for a
// self-service portal. The view itself is @pbxkit/esl's FreeSwitchCluster and clusterViewHandler.

/** A configuration value the central mode cannot use; `variable` names it. */
export class CentralConfigError extends PbxkitError {
  constructor(
    message: string,
    readonly variable: string,
  ) {
    super('CENTRAL_CONFIG', `${variable}: ${message}`);
  }
}

/** One FreeSWITCH node to follow. */
export interface CentralNode {
  name: string;
  host: string;
  /** Default 8021. */
  port?: number;
  /** Its `event_socket.conf.xml` password. */
  password: string;
}

/** What the central mode needs. */
export interface CentralModeConfig {
  nodes: CentralNode[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8095; 0 = any free port. */
  port?: number;
  /** Path prefix of the view. Default `/cluster`. */
  basePath?: string;
  /** Who may read the view and `/metrics`; `'none'` only behind an authenticating proxy. */
  auth: HttpAuthOptions | 'none';
  logger?: Logger;
}

/** A running central mode. */
export interface CentralMode {
  cluster: FreeSwitchCluster;
  server: Server;
  /** `http://host:port`. */
  url: string;
  /** Stops serving and following the nodes, and closes their connections. */
  close(): Promise<void>;
}

/**
 * The configuration from the environment: `FS_NODES` (`fs1=10.0.0.1:8021,fs2=10.0.0.2`), `FS_ESL_PASSWORD`,
 * `CENTRAL_LISTEN` (`127.0.0.1:8095`), `CENTRAL_BASE_PATH`, and core's `PBXKIT_AUTH_*` (`CENTRAL_AUTH=none` to
 * serve without). Throws {@link CentralConfigError} naming the variable at fault.
 */
export function centralConfigFromEnv(
  env: Record<string, string | undefined> = process.env,
): CentralModeConfig {
  const password = env.FS_ESL_PASSWORD;
  if (!password)
    throw new CentralConfigError('is required (the event socket password of the nodes)', 'FS_ESL_PASSWORD');
  const entries = (env.FS_NODES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0)
    throw new CentralConfigError('is required, e.g. fs1=10.0.0.1:8021,fs2=10.0.0.2', 'FS_NODES');
  const nodes = entries.map((entry) => {
    const m = /^([\w.-]+)=([^:\s]+)(?::(\d{1,5}))?$/.exec(entry);
    if (!m) throw new CentralConfigError(`${JSON.stringify(entry)} is not name=host[:port]`, 'FS_NODES');
    return { name: m[1] as string, host: m[2] as string, port: m[3] ? Number(m[3]) : 8021, password };
  });
  const names = new Set(nodes.map((n) => n.name));
  if (names.size !== nodes.length) throw new CentralConfigError('a node name is listed twice', 'FS_NODES');
  const listen = /^(?:([^:]+):)?(\d{1,5})$/.exec(env.CENTRAL_LISTEN ?? '127.0.0.1:8095');
  if (!listen)
    throw new CentralConfigError(
      `${JSON.stringify(env.CENTRAL_LISTEN)} is not [host:]port`,
      'CENTRAL_LISTEN',
    );
  const authOptions = httpAuthOptionsFromEnv(env);
  if (!authOptions && env.CENTRAL_AUTH !== 'none')
    throw new CentralConfigError(
      'no credentials: set PBXKIT_AUTH_TOKENS or PBXKIT_AUTH_USERS (or CENTRAL_AUTH=none)',
      'PBXKIT_AUTH_TOKENS',
    );
  return {
    nodes,
    host: listen[1] ?? '127.0.0.1',
    port: Number(listen[2]),
    basePath: env.CENTRAL_BASE_PATH || undefined,
    auth: authOptions ?? 'none',
  };
}

/**
 * Starts the central mode: one `EslClient` per node, a {@link FreeSwitchCluster} over them, and an HTTP server
 * with the view under `basePath`, `GET /health` (open: 200 `ok` or `degraded` while at least one node is up,
 * else 503) and `GET /metrics` (behind the same auth as the view).
 */
export async function startCentralMode(config: CentralModeConfig): Promise<CentralMode> {
  const log = resolveLogger(config.logger, { component: 'central-mode' });
  const registry = new Registry();
  const auth = config.auth === 'none' ? 'none' : new HttpAuth({ ...config.auth, registry, logger: log });
  const clients = Object.fromEntries(
    config.nodes.map((n) => [
      n.name,
      new EslClient({ host: n.host, port: n.port ?? 8021, password: n.password, registry, logger: log }),
    ]),
  );
  const cluster = new FreeSwitchCluster({ nodes: clients, registry, logger: log });
  const view = clusterViewHandler(cluster, { auth, basePath: config.basePath, registry, logger: log });
  const server = createServer((req, res) => {
    void view(req, res, () => {
      const path = (req.url ?? '/').split('?', 1)[0];
      if (path === '/health') {
        const nodes = cluster.nodes();
        const up = nodes.filter((n) => n.status === 'up').length;
        const status = up === nodes.length ? 'ok' : up > 0 ? 'degraded' : 'down';
        const body = JSON.stringify({
          status,
          nodes: nodes.map((n) => ({ node: n.node, status: n.status })),
        });
        res.writeHead(up > 0 ? 200 : 503, {
          'Content-Type': 'application/json',
          'Cache-Control': 'no-store',
        });
        res.end(body);
      } else if (path === '/metrics' && (auth === 'none' || auth.guard(req, res))) {
        void registry.metrics().then((text) => {
          res.writeHead(200, { 'Content-Type': registry.contentType });
          res.end(text);
        });
      } else if (path !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end('{"error":"not_found"}');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port ?? 8095, config.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as { port: number };
  // Nodes that are down are reported so (and retried) rather than failing the start.
  await cluster.start();
  log.info(
    { nodes: config.nodes.map((n) => n.name), port: address.port },
    'central mode serving the cluster view',
  );
  return {
    cluster,
    server,
    url: `http://${config.host ?? '127.0.0.1'}:${address.port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await cluster.stop();
      await Promise.all(Object.values(clients).map((c) => c.close()));
    },
  };
}

/** `--mode central`: the configuration from the environment, pino logs, a graceful stop on SIGINT/SIGTERM. */
export async function run(_args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  let config: CentralModeConfig;
  try {
    config = centralConfigFromEnv(env);
  } catch (err) {
    if (!(err instanceof CentralConfigError)) throw err;
    process.stderr.write(`freeswitch-config-sync: ${err.message}\n`);
    process.exit(2);
  }
  const { pino } = await import('pino');
  const logger = pino({ base: { service: 'pbxkit-fs-config-sync', mode: 'central' } });
  const central = await startCentralMode({ ...config, logger });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      central.close().finally(() => process.exit(0));
    });
  }
}
