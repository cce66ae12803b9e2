import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '@pbxkit/core';
import { afterEach } from 'vitest';
import { type CdrReceiverOptions, createCdrReceiver } from '../src/receiver/receiver.js';
import { CdrSpool } from '../src/spool/spool.js';
import { basic } from './dispatch-helpers.js';

export const USER = 'freeswitch';
export const PASS = 'p4ss:word';
export const AUTH = { authorization: basic(USER, PASS) };

/** A receiver on its own spool (a fresh temp dir) and its own `node:http` server on loopback. */
export interface Harness {
  spool: CdrSpool;
  server: Server;
  base: string;
  port: number;
  registry: Registry;
}

const harnesses: Harness[] = [];

/** Starts a receiver (credentials {@link USER}/{@link PASS} unless overridden); stopped after the test. */
export async function start(options: Partial<CdrReceiverOptions> = {}, host = '127.0.0.1'): Promise<Harness> {
  const spool = await CdrSpool.open({ dir: mkdtempSync(join(tmpdir(), 'pbxkit-receiver-')) });
  const registry = new Registry();
  const handler = createCdrReceiver({
    spool,
    credentials: { username: USER, password: PASS },
    registry,
    ...options,
  });
  return track(spool, createServer(handler), registry, host);
}

/** Listens on a free port and registers the server and spool to be closed after the test. */
export async function track(spool: CdrSpool, server: Server, registry: Registry, host = '127.0.0.1') {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const h = {
    spool,
    server,
    base: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    registry,
  };
  harnesses.push(h);
  return h;
}

afterEach(async () => {
  for (const h of harnesses.splice(0)) {
    await new Promise<void>((resolve) => {
      h.server.close(() => resolve());
      h.server.closeAllConnections();
    });
    await h.spool.close();
  }
});

/** The value of one metric series, e.g. `metric(registry, 'pbxkit_cdr_receiver_buffered_bytes')`. */
export async function metric(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (found?.values ?? []) as Array<{ value: number; labels: Record<string, unknown> }>;
  const value = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return value?.value ?? 0;
}

/** What a client on a raw TCP connection saw: the answer's status line and headers, and when the server closed. */
export interface RawExchange {
  status: number;
  headers: Record<string, string>;
  /** ms from the last byte the client sent to the server closing the connection. */
  closedAfterMs: number;
}

/**
 * Sends a request head and part of a body on a raw TCP connection, then nothing more, and resolves when the
 * server closes the connection; rejects when it is still open after `deadlineMs` (a connection the server
 * would keep forever).
 */
export function rawExchange(
  port: number,
  head: string,
  body: Buffer | string,
  deadlineMs: number,
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const received: Buffer[] = [];
    let sentAt = Date.now();
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`${head.replace(/\n/g, '\r\n')}\r\n`);
      socket.write(body, () => {
        sentAt = Date.now();
      });
    });
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `the server kept the connection open for ${deadlineMs} ms after the client stopped sending`,
        ),
      );
    }, deadlineMs);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    // A reset after the answer (the server closed with body bytes still unread) is a close like any other.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(deadline);
      const text = Buffer.concat(received).toString('latin1');
      const [statusLine = '', ...lines] = text.split('\r\n\r\n', 1)[0]?.split('\r\n') ?? [];
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1] ?? 0), headers, closedAfterMs: Date.now() - sentAt });
    });
  });
}
