import { pino } from 'pino';
import { parseCommandLine, USAGE } from './cli.js';
import { ConfigError, type LoadedSettings, loadSettings } from './config/settings.js';
import { startDaemon } from './daemon.js';
import { dryRun } from './dry-run.js';

// A settings problem is one line naming the key, and exit code 2 (the systemd unit does not restart on it).
let loaded: LoadedSettings;
let dry = false;
try {
  const line = parseCommandLine(process.argv.slice(2));
  if (line.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  dry = line.dryRun;
  loaded = loadSettings(line.configFile);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`pbxkit-branch-failover: ${err.message}\n`);
  process.exit(2);
}
const { settings, unknownKeys } = loaded;

// JSON lines on stdout: journald keeps and rotates them.
const logger = pino({ level: settings.logLevel, base: { service: 'pbxkit-branch-failover' } });
if (unknownKeys.length > 0) logger.warn({ keys: unknownKeys }, 'settings that nothing reads (a typo?)');
process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection (a bug): kept running'));

if (dry) {
  process.stdout.write(await dryRun(settings, logger));
  process.exit(0);
}

const daemon = await startDaemon(settings, logger).catch((err: unknown) => {
  logger.fatal({ err }, 'cannot start');
  process.exit(1);
});
const { dns, status, http } = daemon.addresses();
logger.info(
  {
    dns: dns && `${dns.address}:${dns.port}`,
    status: status && `${status.address}:${status.port}`,
    http: http && `${http.address}:${http.port}`,
  },
  'pbxkit-branch-failover started',
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    daemon.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'stopping failed');
        process.exit(1);
      },
    );
  });
}
