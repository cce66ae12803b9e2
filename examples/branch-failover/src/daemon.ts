import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AmiClient, AsteriskConfigSync, amiPingProbe } from '@pbxkit/ami';
import {
  ConfigStore,
  createStatusHttpHandler,
  DnsResponder,
  type FailoverStatus,
  gdnsdPolicy,
  type Logger,
  type Probe,
  ProbeMonitor,
  Registry,
  type ServiceState,
  type StatusCommand,
  StatusServer,
  sipOptionsProbe,
  synchPolicy,
  tcpConnectProbe,
} from '@pbxkit/core';
import type { AmiSettings, BranchSettings } from './config/settings.js';

const NAMESPACE = 'branch';

/** The running daemon: its parts, its status, and how to stop it. */
export interface BranchDaemon {
  readonly monitor: ProbeMonitor;
  readonly dns: DnsResponder;
  readonly sync: AsteriskConfigSync | undefined;
  readonly statusServer: StatusServer;
  readonly registry: Registry;
  status(): FailoverStatus;
  /** Where the DNS responder and the status endpoints listen. */
  addresses(): {
    dns: AddressInfo | undefined;
    status: AddressInfo | undefined;
    http: AddressInfo | undefined;
  };
  /** Stops probing and syncing, closes the listeners and the AMI connections. */
  close(): Promise<void>;
}

function amiClient(ami: AmiSettings, logger: Logger, registry: Registry, actionTimeoutMs: number): AmiClient {
  return new AmiClient({
    host: ami.host,
    port: ami.port,
    username: ami.username,
    secret: ami.password,
    events: 'off',
    // The monitor's probes are the keepalive of the main PBX's connection; the local one is used seldom.
    keepalive: false,
    reconnect: { minMs: 500, maxMs: 5_000 },
    actionTimeoutMs,
    logger,
    registry,
  });
}

function probeOf(settings: BranchSettings, remote: AmiClient): Probe {
  const { probe } = settings;
  if (probe.type === 'tcp')
    return tcpConnectProbe({ host: settings.remote.host, port: settings.remote.port });
  if (probe.type === 'sip') return sipOptionsProbe({ host: settings.remote.host, port: probe.sipPort });
  return amiPingProbe(remote, { timeoutMs: probe.timeoutMs });
}

/** The AMI client, monitor, DNS responder, sync and status endpoints, built (nothing started). */
export async function buildParts(
  settings: BranchSettings,
  logger: Logger,
  options: { registry?: Registry; storeDir?: string } = {},
) {
  const registry = options.registry ?? new Registry();
  const remote = amiClient(settings.remote, logger.child({ ami: 'remote' }), registry, 10_000);
  const local = amiClient(settings.local, logger.child({ ami: 'local' }), registry, 10_000);
  const { probe } = settings;
  const monitor = new ProbeMonitor({
    probe: probeOf(settings, remote),
    intervalMs: probe.intervalMs,
    timeoutMs: probe.timeoutMs,
    policy:
      probe.policy === 'gdnsd'
        ? gdnsdPolicy({ downThreshold: probe.failureTolerance, upThreshold: probe.aliveThreshold })
        : synchPolicy(probe),
    metricsNamespace: NAMESPACE,
    registry,
    logger: logger.child({ component: 'monitor' }),
  });
  const { dns: d } = settings;
  const dns = new DnsResponder({
    zone: d.zone,
    record: d.record,
    recordTtl: d.recordTtl,
    targets: d.targets,
    state: d.defaultState === 'Failover' ? 'failover' : 'normal',
    ttl: d.ttl,
    soa: d.soa,
    srv: {
      main: d.srv.main,
      local: d.srv.local,
      owner: d.srv.owner,
      transports: d.srv.transports,
      naptr: d.srv.naptr,
    },
    listen: { address: d.listenAddress, port: d.port },
    forwarder: d.forwarder,
    registry,
    logger: logger.child({ component: 'dns' }),
  });
  const s = settings.sync;
  const store = s.enabled
    ? await ConfigStore.open({ dir: options.storeDir ?? s.versionsDir, retain: s.retain, logger })
    : undefined;
  const sync = store
    ? new AsteriskConfigSync({
        remote,
        local,
        store,
        technology: s.technology,
        remoteFiles: s.remoteFiles,
        localFile: s.localFile,
        filter: s.filter,
        localConfigsPath: s.localConfigsPath,
        // 0 runs once at start; the timer then never fires within a process's life.
        intervalMs: s.intervalMs > 0 ? s.intervalMs : 2 ** 31 - 1,
        maxShrink: s.maxShrink,
        appliedBy: 'pbxkit-branch-failover',
        metricsNamespace: NAMESPACE,
        registry,
        logger: logger.child({ component: 'sync' }),
      })
    : undefined;
  return { remote, local, monitor, dns, sync, store, registry };
}

/**
 * Starts the daemon: DNS first (the phones' answers must not wait on the main PBX), then the status endpoint,
 * the monitor and the sync. The DNS target follows the monitor: `Failed` → the branch, `Stable` → the main.
 */
export async function startDaemon(settings: BranchSettings, logger: Logger): Promise<BranchDaemon> {
  const { remote, local, monitor, dns, sync, store, registry } = await buildParts(settings, logger);
  const defaultService: ServiceState = settings.dns.defaultState ?? 'Init';
  monitor.on('failover', (t) => {
    logger.error(
      { reason: t.reason, failed: t.failed },
      'main PBX failed: answering the branch target (failover)',
    );
    dns.setState('failover');
  });
  monitor.on('fallback', (t) => {
    logger.info(
      { reason: t.reason, succeed: t.succeed },
      'main PBX stable: answering the main target (normal)',
    );
    dns.setState('normal');
  });
  monitor.on('transition', (t) =>
    logger.info({ from: t.from, to: t.to, reason: t.reason }, `monitor ${t.from} -> ${t.to}`),
  );

  const status = (): FailoverStatus => ({
    monitor: monitor.state,
    sync: sync?.state ?? 'Init',
    service: monitor.target === 'Init' ? defaultService : monitor.target,
  });
  const commands: Record<string, StatusCommand> =
    sync && store
      ? {
          versions: () => store.list(),
          sync: async (req: Readonly<Record<string, unknown>>) => sync.sync({ force: req.force === true }),
          rollback: async (req: Readonly<Record<string, unknown>>) => {
            const version = Number(req.version);
            if (!Number.isInteger(version) || version < 1)
              throw new Error('rollback needs "version": a version number');
            return sync.rollback(version, { appliedBy: 'status socket rollback' });
          },
        }
      : {};
  const statusServer = new StatusServer({
    token: settings.status.token,
    status,
    host: settings.status.listenAddress,
    port: settings.status.port,
    commands,
    metricsNamespace: NAMESPACE,
    registry,
    logger: logger.child({ component: 'status' }),
  });

  let http: Server | undefined;
  const started: Array<() => Promise<unknown>> = [];
  try {
    await dns.start();
    started.push(() => dns.stop());
    await statusServer.listen();
    started.push(() => statusServer.close());
    if (settings.status.httpPort !== undefined) {
      const handler = createStatusHttpHandler({
        status,
        registry,
        metricsNamespace: NAMESPACE,
        token: settings.status.token,
      });
      const server = createServer((req, res) => handler(req, res));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(settings.status.httpPort, settings.status.listenAddress, () => resolve());
      });
      http = server;
      started.push(() => new Promise((resolve) => server.close(resolve)));
    }
  } catch (err) {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    throw err;
  }
  monitor.start();
  // The first sync runs in the background: a main PBX that is down must not hold the DNS answers back.
  void sync?.start().catch((err) => logger.error({ err }, 'first sync failed'));

  return {
    monitor,
    dns,
    sync,
    statusServer,
    registry,
    status,
    addresses: () => {
      const a = dns.address();
      return {
        dns: a ? ({ address: a.address, port: a.port, family: 'IPv4' } as AddressInfo) : undefined,
        status: statusServer.address,
        http: http?.address() as AddressInfo | undefined,
      };
    },
    close: async () => {
      monitor.stop();
      sync?.stop();
      for (const stop of started.reverse())
        await stop().catch((err) => logger.warn({ err }, 'closing failed'));
      await Promise.all([remote.close(), local.close()]);
    },
  };
}
