import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { connect } from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DnsResponder, type DnsResponderOptions, Registry } from '../src/index.js';
import { dataOf, dig } from './dns-dig.js';
import { encodeQuery, floodPackets, percentile } from './dns-packets.js';

const ZONE = 'branch.example.com';
const started: DnsResponder[] = [];
const sockets: Socket[] = [];

async function startResponder(overrides: Partial<DnsResponderOptions> = {}): Promise<[DnsResponder, number]> {
  const responder = new DnsResponder({
    zone: ZONE,
    targets: { normal: '192.0.2.10', failover: '192.168.1.10' },
    listen: { address: '127.0.0.1', port: 0 },
    ...overrides,
  });
  await responder.start();
  started.push(responder);
  return [responder, responder.address()?.port as number];
}

/** A UDP client socket that collects every datagram it receives, keyed by DNS ID. */
async function udpClient(): Promise<{
  socket: Socket;
  responses: Map<number, Buffer>;
  next: () => Promise<Buffer>;
}> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  const responses = new Map<number, Buffer>();
  socket.on('message', (msg: Buffer) => responses.set(msg.readUInt16BE(0), msg));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, responses, next: async () => (await once(socket, 'message'))[0] as Buffer };
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await Promise.all(started.splice(0).map((r) => r.stop()));
});

describe('DnsResponder forwarding', () => {
  it('forwards names outside the zone to the forwarder, over TCP too when the answer is big', async () => {
    const big = Array.from({ length: 100 }, (_, i) => `198.51.100.${i + 1}`);
    const [, upstreamPort] = await startResponder({
      zone: 'example.net',
      hosts: { www: '203.0.113.7', big },
    });
    const registry = new Registry();
    const [, port] = await startResponder({ forwarder: `127.0.0.1:${upstreamPort}`, registry });

    const www = await dig(port, 'www.example.net', 'A');
    expect(www.status).toBe('NOERROR');
    expect(dataOf(www.answer, 'A')).toEqual(['203.0.113.7']);
    // Relayed, not authoritative: RA set (recursion is offered), AA cleared.
    expect(www.flags).toContain('ra');
    expect(www.flags).not.toContain('aa');
    const missing = await dig(port, 'nothing.example.net', 'A', '+tcp');
    expect(missing.status).toBe('NXDOMAIN');
    // 100 addresses do not fit UDP: the forwarder's answer is truncated, fetched again over TCP for a TCP client.
    const large = await dig(port, 'big.example.net', 'A', '+tcp');
    expect(large.answer).toHaveLength(100);
    // In-zone names are still answered here, authoritatively.
    expect((await dig(port, `sip.${ZONE}`, 'A')).flags).toContain('aa');
    expect(await registry.metrics()).toMatch(/pbxkit_core_dns_forwarded_total\{result="ok"\} 3/);
  });

  it('answers in-zone names at once while the forwarder does not answer, then SERVFAIL after its timeout', async () => {
    const blackHole = createSocket('udp4');
    sockets.push(blackHole);
    await new Promise<void>((resolve) => blackHole.bind(0, '127.0.0.1', resolve));
    const swallowed = once(blackHole, 'message');
    const [, port] = await startResponder({
      forwarder: `127.0.0.1:${blackHole.address().port}`,
      // Long enough that the in-zone dig below (a process start) ends first even on a loaded machine.
      forwardTimeoutMs: 6000,
    });

    let outsideDone = false;
    const outside = dig(port, 'www.example.org', 'A', '+time=10').finally(() => {
      outsideDone = true;
    });
    await swallowed;
    const inside = await dig(port, `sip.${ZONE}`, 'A');
    expect(dataOf(inside.answer, 'A')).toEqual(['192.0.2.10']);
    expect(outsideDone).toBe(false);
    expect((await outside).status).toBe('SERVFAIL');
  });

  it('stop() with a forwarded query waiting ends it quietly, and a restart forwards again', async () => {
    const blackHole = createSocket('udp4');
    sockets.push(blackHole);
    await new Promise<void>((resolve) => blackHole.bind(0, '127.0.0.1', resolve));
    const registry = new Registry();
    const [responder, port] = await startResponder({
      forwarder: `127.0.0.1:${blackHole.address().port}`,
      forwardTimeoutMs: 10_000,
      registry,
    });
    const client = await udpClient();
    const swallowed = once(blackHole, 'message');
    client.socket.send(encodeQuery(0x0101, 'www.example.org', 1), port, '127.0.0.1');
    await swallowed;
    await responder.stop();
    expect(await registry.metrics()).toMatch(/pbxkit_core_dns_forwarded_total\{result="error"\} 1/);

    await responder.start();
    const again = once(blackHole, 'message');
    client.socket.send(
      encodeQuery(0x0102, 'www.example.org', 1),
      responder.address()?.port as number,
      '127.0.0.1',
    );
    const [forwarded] = (await again) as [Buffer];
    // The question went out as the client asked it (under the forwarder's own ID).
    expect(forwarded.subarray(12)).toEqual(encodeQuery(0x0102, 'www.example.org', 1).subarray(12));
    expect(client.responses.size).toBe(0);
  });
});

describe('DnsResponder and malformed packets', () => {
  it('drops every kind of malformed packet unanswered, counted, and answers the next valid query', async () => {
    const registry = new Registry();
    const [, port] = await startResponder({ registry });
    const client = await udpClient();
    for (const packet of floodPackets()) client.socket.send(packet, port, '127.0.0.1');
    const notify = encodeQuery(0x5555, ZONE, 6);
    notify[2] = 0x20;
    client.socket.send(notify, port, '127.0.0.1');
    // Datagrams from one socket are handled in order: once this is answered, every packet before it was.
    client.socket.send(encodeQuery(0x7777, `sip.${ZONE}`, 1), port, '127.0.0.1');
    await vi.waitFor(() => expect(client.responses.has(0x7777)).toBe(true), { timeout: 10_000 });

    const valid = client.responses.get(0x7777) as Buffer;
    expect([(valid[3] as number) & 0x0f, valid.readUInt16BE(6)]).toEqual([0, 1]);
    // A well-formed NOTIFY gets a 12-byte NOTIMP; nothing else was answered.
    expect(client.responses.get(0x5555)).toEqual(
      Buffer.from([0x55, 0x55, 0xa0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0]),
    );
    expect([...client.responses.keys()].sort()).toEqual([0x5555, 0x7777]);
    const metrics = await registry.metrics();
    // 12 bytes claiming 65,535 questions, and the noise, whose bytes claim thousands.
    expect(metrics).toMatch(/pbxkit_core_dns_malformed_total\{reason="question_count"\} 2/);
    expect(metrics).toMatch(/pbxkit_core_dns_malformed_total\{reason="question"\} 2/);
    expect(metrics).toMatch(/pbxkit_core_dns_malformed_total\{reason="short"\} 1/);
    expect(metrics).toMatch(
      /pbxkit_core_dns_queries_total\{type="none",result="dropped",transport="udp"\} 7/,
    );
    expect(metrics).toMatch(/pbxkit_core_dns_queries_total\{type="none",result="notimp",transport="udp"\} 1/);
  });

  it('keeps answering valid queries promptly during a flood of 5,000 malformed packets a second', async () => {
    const registry = new Registry();
    const [, port] = await startResponder({ registry });
    // The flood comes from another thread, so it keeps arriving while this thread serves and queries.
    const flooder = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const socket = require('node:dgram').createSocket('udp4');
       const packets = workerData.packets.map((p) => Buffer.from(p));
       const started = Date.now();
       let sent = 0;
       const timer = setInterval(() => {
         const due = Math.floor((Date.now() - started) * workerData.rate / 1000);
         for (; sent < due; sent++) socket.send(packets[sent % packets.length], workerData.port, '127.0.0.1');
         if (Date.now() - started > workerData.ms) { clearInterval(timer); socket.close(() => parentPort.postMessage(sent)); }
       }, 5);`,
      { eval: true, workerData: { packets: floodPackets(), port, rate: 5000, ms: 2000 } },
    );
    const floodDone = once(flooder, 'message');
    let floodOver = false;
    void floodDone.then(() => {
      floodOver = true;
    });

    const client = await udpClient();
    const latencies: number[] = [];
    for (let id = 1; !floodOver && id < 5000; id++) {
      const t0 = performance.now();
      const answered = client.next();
      client.socket.send(encodeQuery(id, `sip.${ZONE}`, 1), port, '127.0.0.1');
      const response = await answered;
      expect(response.readUInt16BE(0)).toBe(id);
      latencies.push(performance.now() - t0);
    }
    const [sent] = (await floodDone) as [number];
    await flooder.terminate();
    expect(sent).toBeGreaterThan(9000);
    expect(latencies.length).toBeGreaterThan(20);
    // The target is p99 < 50 ms (measured by the benchmark on a quiet machine); a loaded 2-core CI machine
    // gets room. A parser that chewed on each malformed packet (dns2 3.0.0: seconds) would never get here.
    expect(percentile(latencies, 0.99)).toBeLessThan(1000);
    const malformed = /pbxkit_core_dns_malformed_total\{reason="question_count"\} (\d+)/.exec(
      await registry.metrics(),
    );
    expect(Number(malformed?.[1])).toBeGreaterThan(1000);
  });

  it('drops queries past the per-source rate limit, counted', async () => {
    const registry = new Registry();
    const [, port] = await startResponder({ registry, rateLimit: { perSecond: 0.001, burst: 3 } });
    const client = await udpClient();
    for (let id = 1; id <= 5; id++) client.socket.send(encodeQuery(id, `sip.${ZONE}`, 1), port, '127.0.0.1');
    await vi.waitFor(
      async () => expect(await registry.metrics()).toMatch(/pbxkit_core_dns_rate_limited_total 2/),
      { timeout: 10_000 },
    );
    await vi.waitFor(() => expect(client.responses.size).toBe(3), { timeout: 10_000 });
    expect([...client.responses.keys()].sort()).toEqual([1, 2, 3]);
  });
});

describe('DnsResponder over TCP and stop()', () => {
  it('answers pipelined queries on one connection and closes it on a zero-length message', async () => {
    const [, port] = await startResponder();
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const frame = (q: Buffer) => Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
    socket.write(Buffer.concat([frame(encodeQuery(11, `sip.${ZONE}`, 1)), frame(encodeQuery(12, ZONE, 6))]));
    let data = Buffer.alloc(0);
    const ids: number[] = [];
    for await (const chunk of socket) {
      data = Buffer.concat([data, chunk as Buffer]);
      while (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        ids.push(data.readUInt16BE(2));
        data = data.subarray(2 + data.readUInt16BE(0));
      }
      if (ids.length === 2) socket.write(Buffer.from([0, 0]));
    }
    expect(ids.sort()).toEqual([11, 12]);
  });

  it('stop() closes open connections and frees the port for the next responder', async () => {
    const [responder, port] = await startResponder();
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    await responder.stop();
    await closed;
    const [, again] = await startResponder({ listen: { address: '127.0.0.1', port } });
    expect(again).toBe(port);
    expect(dataOf((await dig(port, `sip.${ZONE}`, 'A', '+tcp')).answer, 'A')).toEqual(['192.0.2.10']);
  });

  it('listens on IPv6 too', async () => {
    const [, port] = await startResponder({ listen: { address: '::1', port: 0, tcp: false } });
    const socket = createSocket('udp6');
    sockets.push(socket);
    const answered = once(socket, 'message');
    socket.send(encodeQuery(99, `sip.${ZONE}`, 28), port, '::1');
    const [response] = (await answered) as [Buffer];
    expect([response.readUInt16BE(0), (response[3] as number) & 0x0f]).toEqual([99, 0]);
  });
});
