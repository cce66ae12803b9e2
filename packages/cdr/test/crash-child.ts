/**
 * The process the crash test kills: receiver + spool + dispatcher on a real port, delivering to PostgreSQL
 * (`CRASH_DATABASE_URL` + `CRASH_SCHEMA`).
 *
 * Talks to the test through stdout (one JSON line per message: `{ url }` when listening, `{ drained, pending }`
 * after each `drain` line read from stdin). Warnings and errors are logged to stderr, which the test shows when
 * the child fails.
 *
 * With `CRASH_ARCHIVE_DIR` the service archives what leaves the spool there; with `CRASH_KILL_ON_ARCHIVED=n` too,
 * the process SIGKILLs itself when its n-th group is durably archived, before those entries leave the spool.
 */
import { createInterface } from 'node:readline';
import type { Logger } from '@pbxkit/core';
import { PostgresCdrSink, startCdrService } from '../src/index.js';

const spoolDir = process.env.CRASH_SPOOL_DIR;
if (!spoolDir) throw new Error('CRASH_SPOOL_DIR is required');
const databaseUrl = process.env.CRASH_DATABASE_URL;
if (!databaseUrl) throw new Error('CRASH_DATABASE_URL is required');

const sink = new PostgresCdrSink(
  { connectionString: databaseUrl, max: 4 },
  { schema: process.env.CRASH_SCHEMA },
);

const toStderr =
  (level: string) =>
  (obj: object | string, msg?: string): void => {
    process.stderr.write(
      `${level} ${typeof obj === 'string' ? obj : `${msg ?? ''} ${JSON.stringify(obj)}`}\n`,
    );
  };
const quiet = () => {};
const logger: Logger = {
  trace: quiet,
  debug: quiet,
  info: quiet,
  warn: toStderr('warn'),
  error: toStderr('error'),
  fatal: toStderr('fatal'),
  child: () => logger,
};

const send = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

const service = await startCdrService({
  spoolDir,
  port: 0,
  sinks: [sink],
  batchSize: 50,
  concurrency: 2,
  // The default maxAttempts: a PostgreSQL that is unreachable for a while never uses attempts up.
  retry: { minMs: 5, maxMs: 100 },
  credentials: { username: 'fs', password: 'secret' },
  logger,
  ...(process.env.CRASH_ARCHIVE_DIR ? { archive: { dir: process.env.CRASH_ARCHIVE_DIR } } : {}),
});
const killAt = Number(process.env.CRASH_KILL_ON_ARCHIVED ?? 0);
let groups = 0;
service.archive?.on('archived', () => {
  // Emitted once the group is durable and before its entries are removed from the spool: the window a crash
  // must not turn into a loss.
  if (++groups === killAt) process.kill(process.pid, 'SIGKILL');
});
send({ url: service.url, pid: process.pid });

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === 'drain') {
    await service.dispatcher.drained();
    send({ drained: true, pending: (await service.spool.pending()).length });
  } else if (line.trim() === 'close') {
    await service.close();
    await sink.close?.();
    send({ closed: true });
    process.exit(0);
  }
}
