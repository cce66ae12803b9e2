import type { AddressInfo } from 'node:net';
import { type Logger, PushWebhook, Registry, sleep } from '@pbxkit/core';
import { EslClient, FsConfigSync } from '@pbxkit/esl';
import { pino } from 'pino';
import { SyncDaemon } from './daemon.js';
import { createApi } from './http-api.js';
import { type NodeSettings, nodeSettings } from './node-settings.js';
import { SettingsError } from './settings.js';
import { openSource } from './sources.js';

/** A running node daemon. */
export interface NodeDaemon {
  url: string;
  daemon: SyncDaemon;
  registry: Registry;
  /** Resolves once the event socket is connected the first time. */
  eslReady: Promise<void>;
  close(): Promise<void>;
}

/** Starts the node mode: ESL client, pipeline, source, daemon and HTTP API. */
export async function startNodeDaemon(settings: NodeSettings, logger: Logger): Promise<NodeDaemon> {
  const registry = new Registry();
  const client = new EslClient({ ...settings.esl, logger: logger.child({ component: 'esl' }), registry });
  // The client reconnects by itself once connected, not after a failed first connect: retried here, so the
  // daemon starts while FreeSWITCH is down (/health says so) and catches up once it is up.
  const stopping = new AbortController();
  const eslReady = (async () => {
    while (!stopping.signal.aborted) {
      try {
        await client.connect();
        return;
      } catch (err) {
        logger.warn({ err }, 'FreeSWITCH not reachable: retrying in 5 s');
        await sleep(5000, stopping.signal).catch(() => undefined);
      }
    }
  })();
  const sync = await FsConfigSync.open({
    confDir: settings.confDir,
    stateDir: settings.stateDir,
    esl: client,
    reloadModules: settings.reloadModules,
    logger,
    registry,
    ...(settings.assetDir ? { assetDir: settings.assetDir } : {}),
  });
  const { source, watchDir, close } = openSource(settings.source, settings.stateDir);
  const daemon = new SyncDaemon(source, sync, logger, registry);
  const webhook = settings.webhookSecret
    ? new PushWebhook({
        secret: settings.webhookSecret,
        registry,
        logger,
        ...(settings.source.kind === 'git' ? { refs: [settings.source.ref] } : {}),
      })
    : undefined;
  const server = createApi({
    daemon,
    registry,
    webhook,
    token: settings.apiToken,
    eslConnected: () => client.state === 'connected',
    log: logger,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.http.port, settings.http.host, () => resolve());
  });
  daemon.start(settings.pollSeconds, watchDir);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${settings.http.host}:${port}`,
    daemon,
    registry,
    eslReady,
    async close() {
      stopping.abort();
      daemon.stop();
      await new Promise((resolve) => server.close(resolve));
      await daemon.trigger('stopping').catch(() => undefined);
      await client.close();
      await close();
    },
  };
}

/** `--mode node`. */
export async function run(_args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  let settings: NodeSettings;
  try {
    settings = nodeSettings(env);
  } catch (err) {
    if (!(err instanceof SettingsError) && !(err instanceof Error)) throw err;
    process.stderr.write(`freeswitch-config-sync: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = pino({ level: settings.logLevel, base: { service: 'pbxkit-fs-config-sync', mode: 'node' } });
  process.on('unhandledRejection', (err) =>
    logger.error({ err }, 'unhandled rejection (a bug): kept running'),
  );
  const node = await startNodeDaemon(settings, logger);
  logger.info(
    { url: node.url, source: settings.source.kind, confDir: settings.confDir },
    'config sync node started',
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'stopping');
      node.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
