/**
 * One server the benchmark downloads from, in a process of its own (BENCH_ROLE): the client does not share its
 * event loop, and no server pays for another's garbage. Prints one JSON line, `{ url, cpu }`, then serves until
 * killed; `cpu` answers the process's CPU time so far (process.cpuUsage(), µs), to charge each download its CPU.
 *   plain     fs.createReadStream(file).pipe(res): Node's defaults (64 KiB reads), as most Node servers do
 *   raw       a minimal loop over fs.ReadStream with 1 MiB reads (a fresh buffer per read): the reference for the
 *             handler's pooled reads (ChunkPool), which replace fs.ReadStream
 *   handler   createRecordingsHandler over LocalFsBackend (1 MiB reads into pooled slabs)
 *   peer      createPeerHandler over LocalFsBackend: the other instance (as another machine would be)
 *   front     createRecordingsHandler over PeerProxyBackend → the peer (BENCH_PEER_URL)
 *   nodeHttp  the same signed request to the peer with Node's http client, piped into the response: the
 *             reference for PeerProxyBackend's raw reader (peer/raw-get.ts), which replaces it
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
const secret = 'bench-secret-0123456789abcdefghijkl';

/** Answers this process's CPU time (µs), for the client to charge each download. */
const cpu: http.RequestListener = (_req, res) => res.end(JSON.stringify(process.cpuUsage()));

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const local = new LocalFsBackend({ root: dirname(file) });
const key = basename(file);
const peerUrl = `${process.env.BENCH_PEER_URL}/_peer`;

const roles: Record<string, () => http.RequestListener> = {
  plain: () => (_req, res) => {
    res.writeHead(200, { 'Content-Length': size, 'Content-Type': 'audio/wav' });
    createReadStream(file).pipe(res);
  },
  raw: () => async (_req, res) => {
    res.writeHead(200, { 'Content-Length': size });
    const s = (await open(file)).createReadStream({ highWaterMark: 1024 * 1024 });
    s.on('data', (c) => {
      if (!res.write(c)) {
        s.pause();
        res.once('drain', () => s.resume());
      }
    });
    s.on('end', () => res.end());
  },
  handler: () => {
    const handler = createRecordingsHandler({ source: async () => ({ backend: local, key }) });
    return (req, res) => void handler(req, res);
  },
  peer: () => {
    const peerHandler = createPeerHandler({ backend: local, secret, instanceId: 'b' });
    return (req, res) => void peerHandler(req, res);
  },
  front: () => {
    const proxy = new PeerProxyBackend({ instanceId: 'b', endpoint: peerUrl, secret });
    const front = createRecordingsHandler({ source: async () => ({ backend: proxy, key }) });
    return (req, res) => void front(req, res);
  },
  nodeHttp: () => {
    const object = new URL(`${peerUrl}/objects/${encodeURIComponent(key)}`);
    return (_req, res) => {
      const headers = signRequest(secret, { method: 'GET', path: object.pathname, peer: 'b' });
      http.get(object, { headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, { 'Content-Length': up.headers['content-length'] ?? 0 });
        up.pipe(res);
      });
    };
  },
};

const role = roles[process.env.BENCH_ROLE ?? ''];
if (!role) throw new Error(`BENCH_ROLE must be one of ${Object.keys(roles).join(', ')}`);
const url = await serve(role());
process.stdout.write(`${JSON.stringify({ url, cpu: await serve(cpu) })}\n`);
