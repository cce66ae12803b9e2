import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory; `cleanup` removes it. */
export async function tempDir(
  prefix = 'pbxkit-storage-',
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** An HTTP server on 127.0.0.1 with an ephemeral port. */
export async function listen(
  handler: http.RequestListener,
): Promise<{ server: http.Server; url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a raw HTTP GET got: status, headers, body, and whether the body ended cleanly. */
export interface Fetched {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The response ended with all its bytes (false: the connection was cut). */
  complete: boolean;
  bytes: number;
}

/**
 * GET with Node's http client (not fetch: we need to see truncation exactly). `rateBytesPerSec` throttles the
 * reader; `keepBody: false` only counts bytes (for 100 MB downloads).
 */
export function get(
  url: string,
  options: {
    headers?: Record<string, string>;
    method?: string;
    rateBytesPerSec?: number;
    keepBody?: boolean;
    onChunk?: (chunk: Buffer) => void;
  } = {},
): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      const started = performance.now();
      let settled = false;
      const done = (complete: boolean): void => {
        if (settled) return;
        settled = true;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          complete,
          bytes,
        });
      };
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        options.onChunk?.(chunk);
        if (options.keepBody !== false) chunks.push(chunk);
        if (options.rateBytesPerSec) {
          const due = (bytes / options.rateBytesPerSec) * 1000;
          const ahead = due - (performance.now() - started);
          if (ahead > 5) {
            res.pause();
            setTimeout(() => res.resume(), ahead);
          }
        }
      });
      res.on('end', () => done(res.complete));
      res.on('error', () => done(false));
      res.on('aborted', () => done(false));
      res.on('close', () => done(res.complete && !res.errored));
    });
    req.end();
  });
}
