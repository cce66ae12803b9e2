import { pino } from 'pino';
import { ConfigError, loadConfig, parseCommandLine, printConfig } from './config/load.js';
import { startReferenceServer } from './server.js';

// Settings: a problem is one line naming the key or variable, and exit code 2 (systemd does not restart on it).
let loaded: ReturnType<typeof loadConfig>;
let print = false;
try {
  const commandLine = parseCommandLine(process.argv.slice(2), process.env);
  print = commandLine.printConfig;
  loaded = loadConfig({ env: process.env, file: commandLine.configFile });
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`pbxkit reference server: ${err.message}\n`);
  process.exit(2);
}
if (print) {
  process.stdout.write(printConfig(loaded));
  process.exit(0);
}
const { config, sources } = loaded;

// JSON lines on stdout: journald (or any collector) keeps and rotates them; nothing to logrotate.
const logger = pino({ level: config.logLevel, base: { service: 'pbxkit-reference-server' } });
if (sources.unknownEnv.length > 0) {
  logger.warn({ variables: sources.unknownEnv }, 'PBXKIT_ variables that no setting reads (a typo?)');
}
process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection (a bug): kept running'));

const server = await startReferenceServer(config, logger);
console.log(`pbxkit reference server on ${server.url}  (console: ${server.url}/)`);
console.log(
  `  mod_xml_cdr url: ${server.url}/cdr   metrics: ${server.url}/metrics   health: ${server.url}/health`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping (CDRs still in the spool are delivered on the next start)');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stopping failed');
        process.exit(1);
      },
    );
  });
}
