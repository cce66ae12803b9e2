/**
 * The servers the benchmark downloads from, in a process of their own (so that the client does not share their
 * event loop). Prints one JSON line with their URLs, then serves until killed.
 *   plain    fs.createReadStream(file).pipe(res): Node's defaults (64 KiB reads), as most Node servers do
 *   handler  createRecordingsHandler over LocalFsBackend (1 MiB reads)
 *   peer     createRecordingsHandler over PeerProxyBackend → createPeerHandler over LocalFsBackend (the peer in a
 *            second process: BENCH_ROLE=peer)
 */
import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname } from 'node:path';
import {
  createPeerHandler,
  createRecordingsHandler,
  LocalFsBackend,
  PeerProxyBackend,
} from '../src/index.js';

const file: string = process.env.BENCH_FILE ?? '';
if (!file) throw new Error('BENCH_FILE is required');
const size = statSync(file).size;
const secret = 'bench-secret-0123456789';

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const local = new LocalFsBackend({ root: dirname(file) });
const key = basename(file);

if (process.env.BENCH_ROLE === 'peer') {
  // The peer instance: a process of its own, as another machine would be.
  const peerHandler = createPeerHandler({ backend: local, secret });
  const peerUrl = await serve((req, res) => void peerHandler(req, res));
  process.stdout.write(`${JSON.stringify({ peer: peerUrl })}\n`);
} else {
  await front();
}

async function front(): Promise<void> {
  const plain = await serve((_req, res) => {
    res.writeHead(200, { 'Content-Length': size, 'Content-Type': 'audio/wav' });
    createReadStream(file).pipe(res);
  });
  const raw = await serve(async (_req, res) => {
    res.writeHead(200, { 'Content-Length': size });
    const s = (await open(file)).createReadStream({ highWaterMark: 1024 * 1024 });
    s.on('data', (c) => {
      if (!res.write(c)) {
        s.pause();
        res.once('drain', () => s.resume());
      }
    });
    s.on('end', () => res.end());
  });
  const handler = createRecordingsHandler({ source: async () => ({ backend: local, key }) });
  const direct = await serve((req, res) => void handler(req, res));
  const proxy = new PeerProxyBackend({
    instanceId: 'b',
    endpoint: `${process.env.BENCH_PEER_URL}/_peer`,
    secret,
  });
  const front = createRecordingsHandler({ source: async () => ({ backend: proxy, key }) });
  const viaPeer = await serve((req, res) => void front(req, res));

  process.stdout.write(`${JSON.stringify({ plain, raw, handler: direct, peer: viaPeer })}\n`);
}
