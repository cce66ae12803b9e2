/**
 * The servers the benchmark downloads from, in a process of their own (so that the client does not share their
 * event loop). Prints one JSON line with their URLs, then serves until killed.
 *   plain    fs.createReadStream(file).pipe(res): Node's defaults (64 KiB reads), as most Node servers do
 *   raw      a minimal loop over fs.ReadStream with 1 MiB reads (a fresh buffer per read): the reference for the
 *            handler's pooled reads (ChunkPool), which replace fs.ReadStream
 *   handler  createRecordingsHandler over LocalFsBackend (1 MiB reads into pooled slabs)
 *   peer     createRecordingsHandler over PeerProxyBackend → createPeerHandler over LocalFsBackend (the peer in a
 *            second process: BENCH_ROLE=peer)
 *   nodeHttp the same signed request to the peer with Node's http client, piped into the response: the reference
 *            for PeerProxyBackend's raw reader (peer/raw-get.ts), which replaces it
 *   cpu      this process's CPU time so far (process.cpuUsage(), JSON), to charge each download its CPU
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
  signRequest,
} from '../src/index.js';

const file: string = process.env.BENCH_FILE ?? '';
if (!file) throw new Error('BENCH_FILE is required');
const size = statSync(file).size;
const secret = 'bench-secret-0123456789';

/** Answers this process's CPU time (µs), for the client to charge each download. */
const cpu: http.RequestListener = (_req, res) => res.end(JSON.stringify(process.cpuUsage()));

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
  process.stdout.write(`${JSON.stringify({ peer: peerUrl, cpu: await serve(cpu) })}\n`);
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
  const peerBase = new URL(`${process.env.BENCH_PEER_URL}/_peer/objects/${encodeURIComponent(key)}`);
  const nodeHttp = await serve((_req, res) => {
    const headers = signRequest(secret, { method: 'GET', path: peerBase.pathname });
    http.get(peerBase, { headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, { 'Content-Length': up.headers['content-length'] ?? 0 });
      up.pipe(res);
    });
  });

  process.stdout.write(
    `${JSON.stringify({ plain, raw, handler: direct, peer: viaPeer, nodeHttp, cpu: await serve(cpu) })}\n`,
  );
}
