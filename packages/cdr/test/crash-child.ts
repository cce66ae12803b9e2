/**
 * The process the crash and outage tests kill: receiver + spool + dispatcher on a real port, delivering to
 * PostgreSQL (`CRASH_DATABASE_URL` + `CRASH_SCHEMA`) or to a durable file store (`CRASH_STORE_DIR`).
 *
 * Talks to the test through stdout (one JSON line per message: `{ url }` when listening, `{ drained, pending }`
 * after each `drain` line read from stdin).
 */
import { createInterface } from 'node:readline';
import { PostgresCdrSink, startCdrService } from '../src/index.js';
import type { CdrSink } from '../src/sink.js';
import { FileStoreSink } from './dispatch-helpers.js';

const spoolDir = process.env.CRASH_SPOOL_DIR;
if (!spoolDir) throw new Error('CRASH_SPOOL_DIR is required');
const databaseUrl = process.env.CRASH_DATABASE_URL;
const storeDir = process.env.CRASH_STORE_DIR;

let sink: CdrSink;
if (databaseUrl) {
  sink = new PostgresCdrSink({ connectionString: databaseUrl, max: 4 }, { schema: process.env.CRASH_SCHEMA });
} else if (storeDir) {
  sink = new FileStoreSink(storeDir);
} else {
  throw new Error('CRASH_DATABASE_URL or CRASH_STORE_DIR is required');
}

const send = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

const service = await startCdrService({
  spoolDir,
  port: 0,
  sinks: [sink],
  batchSize: 50,
  concurrency: 2,
  // Never dead-letter here: the tests count on every CDR reaching the store.
  retry: { minMs: 5, maxMs: 100, maxAttempts: Number.POSITIVE_INFINITY },
  credentials: { username: 'fs', password: 'secret' },
});
service.dispatcher.on('error', (err) => process.stderr.write(`dispatcher error: ${String(err)}\n`));
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
