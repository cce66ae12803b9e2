/**
 * A receiver on a spool, alone in a process so that the memory test can read what the receiver takes: prints
 * `{ url, pid }` once listening; for each `report` line read from stdin `{ maxRss, rss }` (bytes: the
 * process's peak and current resident set); for `close` closes the server and the spool and exits.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { CdrSpool, createCdrReceiver } from '../src/index.js';

const dir = process.env.MEMORY_SPOOL_DIR;
if (!dir) throw new Error('MEMORY_SPOOL_DIR is required');
const send = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

const spool = await CdrSpool.open({ dir });
const server = createServer(
  createCdrReceiver({
    spool,
    credentials: { username: 'fs', password: 'secret' },
    maxBodyBytes: Number(process.env.MEMORY_MAX_BODY_BYTES),
    maxBufferedBytes: Number(process.env.MEMORY_MAX_BUFFERED_BYTES),
  }),
);
server.requestTimeout = 0;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
send({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cdr`, pid: process.pid });

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === 'report') {
    send({ maxRss: process.resourceUsage().maxRSS * 1024, rss: process.memoryUsage().rss });
  } else if (line.trim() === 'close') {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await spool.close();
    process.exit(0);
  }
}
