import { configFromEnv } from './config.js';
import { startReferenceServer } from './server.js';

const config = configFromEnv();
const server = await startReferenceServer(config, consoleLogger());
console.log(`pbxkit reference server on ${server.url}`);
console.log(
  `  mod_xml_cdr url: ${server.url}/cdr   metrics: ${server.url}/metrics   health: ${server.url}/health`,
);
console.log(
  `  data in ${config.dataDir} (${config.databaseUrl ? 'PostgreSQL' : 'embedded PGlite'}); Ctrl-C to stop`,
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping (CDRs still in the spool are delivered on the next start)');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}

/** A tiny logger of the shape pbxkit expects; use pino in production. */
function consoleLogger() {
  const write =
    (level: string) =>
    (objOrMsg: unknown, msg?: string): void => {
      if (level === 'debug' || level === 'trace') return;
      console.log(
        `[${level}]`,
        typeof objOrMsg === 'string' ? objOrMsg : `${msg ?? ''} ${JSON.stringify(objOrMsg)}`,
      );
    };
  const logger = {
    trace: write('trace'),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    fatal: write('fatal'),
    child: () => logger,
  };
  return logger;
}
