import net from 'node:net';
import { Readable } from 'node:stream';
import { ChunkPool, withChunkPool } from '../chunk-pool.js';

/** The head of an HTTP/1.1 response read by {@link rawGet}. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** The body: exactly `Content-Length` bytes, or an error if the connection ends before. */
  body: Readable;
}

const READ_BUFFER_BYTES = 1024 * 1024;
/** A read gets at least this much of a slab; a smaller rest of the slab is left and a new one used. */
const MIN_READ_BYTES = 64 * 1024;

/**
 * A GET over a plain TCP connection (`Connection: close`) that reads the socket straight into the slabs of a
 * {@link ChunkPool} (`onread`, up to 1 MiB a read) and hands out views of them, instead of Node's 64 KiB reads
 * through the HTTP parser: for relaying large bodies from a pbxkit peer, which always answers with a
 * `Content-Length` (never chunked). The benchmark's `http.get(peer).pipe(res)` relay is the reference (this
 * reader relays 1.8-3.5x its throughput there). Backpressure pauses the socket; no byte for `idleMs` destroys
 * the body with an error; a connection that ends early errors the body (never a clean short end).
 */
export function rawGet(
  url: URL,
  path: string,
  headers: Record<string, string>,
  idleMs: number,
  signal?: AbortSignal,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let head: Buffer | undefined = Buffer.alloc(0);
    let remaining = 0;
    let body: Readable | undefined;
    let settled = false;
    const fail = (err: Error): void => {
      if (!settled) {
        settled = true;
        reject(err);
      }
      body?.destroy(err);
      socket.destroy();
    };
    // Each read goes into the free part of a pooled slab, and the body's chunks are views of it (no copy).
    const pool = new ChunkPool(READ_BUFFER_BYTES);
    const socket = net.connect({
      host: url.hostname,
      port: Number(url.port || 80),
      onread: {
        buffer: () => pool.space(MIN_READ_BYTES, READ_BUFFER_BYTES),
        callback: (n: number, buf: Uint8Array): boolean => {
          let chunk: Buffer;
          if (!head) chunk = pool.commit(buf as Buffer, Math.min(n, remaining));
          else {
            head = Buffer.concat([head, buf.subarray(0, n)]); // a copy: this read space is used again
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) {
              if (head.length > 64 * 1024) fail(new Error('response head too large'));
              return true;
            }
            const lines = head.subarray(0, end).toString('latin1').split('\r\n');
            const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
            const hdrs: Record<string, string> = {};
            for (const line of lines.slice(1)) {
              const colon = line.indexOf(':');
              if (colon > 0) hdrs[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
            }
            chunk = head.subarray(end + 4);
            head = undefined;
            if (!status || hdrs['content-length'] === undefined || hdrs['transfer-encoding']) {
              fail(new Error(`unexpected response from peer (status ${status}, no Content-Length)`));
              return false;
            }
            remaining = Number(hdrs['content-length']);
            body = withChunkPool(
              new Readable({
                highWaterMark: READ_BUFFER_BYTES,
                read: () => socket.resume(),
                destroy: (err, cb) => {
                  socket.destroy();
                  cb(err);
                },
              }),
              pool,
            );
            settled = true;
            resolve({ status, headers: hdrs, body });
            if (remaining === 0) {
              body.push(null);
              socket.destroy();
              return false;
            }
          }
          if (!body || chunk.length === 0) return true;
          if (chunk.length > remaining) chunk = chunk.subarray(0, remaining);
          remaining -= chunk.length;
          const more = body.push(chunk);
          if (remaining === 0) {
            body.push(null);
            socket.destroy();
            return false;
          }
          return more;
        },
      },
    });
    socket.setTimeout(idleMs, () => fail(new Error(`no data from peer for ${idleMs} ms`)));
    socket.on('error', fail);
    socket.on('close', () => {
      if (!settled) fail(new Error('peer closed the connection before answering'));
      else if (remaining > 0 && body && !body.destroyed) {
        body.destroy(new Error(`peer closed the connection with ${remaining} bytes missing`));
      }
    });
    if (signal) {
      if (signal.aborted) fail(new Error('aborted'));
      else signal.addEventListener('abort', () => fail(new Error('aborted')), { once: true });
    }
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n${extra}\r\n`);
  });
}
