import { createSocket } from 'node:dgram';
import { type AddressInfo, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ProbeMonitor,
  type ProbeResult,
  ProbeTimeoutError,
  parseSipResponse,
  sipOptionsProbe,
  synchPolicy,
  tcpConnectProbe,
} from '../src/index.js';
import { type SipResponder, type SipResponderOptions, startSipResponder } from './sip-responder.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function responder(options: SipResponderOptions = {}): Promise<SipResponder> {
  const r = await startSipResponder(options);
  cleanups.push(() => r.close());
  return r;
}

/** A UDP port nothing listens on (bound, then closed): the kernel answers ICMP port unreachable. */
async function closedUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const within = (ms: number) => AbortSignal.timeout(ms);

describe('sipOptionsProbe against a SIP responder on loopback', () => {
  it('sends a well-formed OPTIONS and reads 200 OK as alive', async () => {
    const r = await responder();
    const verdict = await sipOptionsProbe({ host: '127.0.0.1', port: r.port })(within(5_000));
    expect(verdict).toEqual({ ok: true, detail: '200 OK' });
    const [request] = r.received;
    expect(request).toMatch(/^OPTIONS sip:127\.0\.0\.1:\d+ SIP\/2\.0\r\n/);
    expect(request).toMatch(/\r\nVia: SIP\/2\.0\/UDP 127\.0\.0\.1:\d+;branch=z9hG4bK[0-9a-f]+;rport\r\n/);
    expect(request).toContain('\r\nCSeq: 1 OPTIONS\r\n');
    expect(request).toContain('\r\nMax-Forwards: 70\r\n');
  });

  it('counts 401/404 as alive (a server that answers) and 503 as a failure', async () => {
    const auth = await responder({ status: 401, reason: 'Unauthorized' });
    expect(await sipOptionsProbe({ host: '127.0.0.1', port: auth.port })(within(5_000))).toEqual({
      ok: true,
      detail: '401 Unauthorized',
    });
    const busy = await responder({ status: 503, reason: 'Service Unavailable' });
    expect(await sipOptionsProbe({ host: '127.0.0.1', port: busy.port })(within(5_000))).toEqual({
      ok: false,
      detail: '503 Service Unavailable',
    });
    const strict = sipOptionsProbe({ host: '127.0.0.1', port: auth.port, isAlive: (s) => s === 200 });
    expect((await strict(within(5_000))).ok).toBe(false);
  });

  it('waits past 100 Trying for the final response', async () => {
    const r = await responder({ trying: true, status: 200 });
    expect(await sipOptionsProbe({ host: '127.0.0.1', port: r.port })(within(5_000))).toMatchObject({
      ok: true,
    });
  });

  it('sends the same transaction again when datagrams are lost', async () => {
    const r = await responder({ dropFirst: 2 });
    const verdict = await sipOptionsProbe({ host: '127.0.0.1', port: r.port, retransmitMs: 20 })(
      within(5_000),
    );
    expect(verdict.ok).toBe(true);
    expect(r.received).toHaveLength(3);
    expect(new Set(r.received).size).toBe(1); // same Call-ID, branch and tag each time
  });

  it('reads an ICMP port unreachable as a failure (the host answered: no SIP here)', async () => {
    const port = await closedUdpPort();
    const verdict = await sipOptionsProbe({ host: '127.0.0.1', port })(within(5_000));
    expect(verdict.ok).toBe(false);
    expect(verdict.detail).toMatch(/port unreachable/);
  });

  it('rejects with the signal’s reason when nothing answers', async () => {
    const r = await responder({ silent: true });
    const controller = new AbortController();
    const answer = sipOptionsProbe({ host: '127.0.0.1', port: r.port, retransmitMs: 10 })(controller.signal);
    await r.receivedCount(2);
    controller.abort(new ProbeTimeoutError(100));
    await expect(answer).rejects.toBeInstanceOf(ProbeTimeoutError);
  });

  it('ignores answers to other transactions', () => {
    const reply = (callId: string) =>
      Buffer.from(`SIP/2.0 200 OK\r\nCall-ID: ${callId}\r\ni: x\r\nCSeq: 1 OPTIONS\r\n\r\n`);
    expect(parseSipResponse(reply('abc'))?.headers.get('call-id')).toEqual(['abc', 'x']);
    expect(parseSipResponse(Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n'))).toBeUndefined();
  });
});

describe('tcpConnectProbe on loopback', () => {
  it('connected is alive, refused is a failure', async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    expect((await tcpConnectProbe({ host: '127.0.0.1', port })(within(5_000))).ok).toBe(true);
    await new Promise((resolve) => server.close(resolve));
    const refused = await tcpConnectProbe({ host: '127.0.0.1', port })(within(5_000));
    expect(refused).toMatchObject({ ok: false, detail: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('refuses a port out of range at construction', () => {
    expect(() => tcpConnectProbe({ host: '127.0.0.1', port: 70000 })).toThrow(
      expect.objectContaining({ code: 'PROBE_OPTIONS' }),
    );
  });
});

describe('ProbeMonitor with real probes and timers', () => {
  it('fails over when the SIP server goes silent and falls back when it answers again', async () => {
    let silent = false;
    const r = await responder();
    const upstream = sipOptionsProbe({ host: '127.0.0.1', port: r.port, retransmitMs: 10 });
    const dead = await responder({ silent: true });
    const deadProbe = sipOptionsProbe({ host: '127.0.0.1', port: dead.port, retransmitMs: 10 });
    const monitor = new ProbeMonitor({
      probe: (signal) => (silent ? deadProbe(signal) : upstream(signal)),
      intervalMs: 200,
      timeoutMs: 150,
      policy: synchPolicy({ failureTolerance: 2, aliveThreshold: 2, errorPenaltyPoints: 0 }),
    });
    cleanups.push(() => monitor.stop());
    const results: ProbeResult[] = [];
    monitor.on('probe', (p) => results.push(p));
    const next = (event: 'failover' | 'fallback') => new Promise((resolve) => monitor.once(event, resolve));

    const stable = new Promise((resolve) => monitor.on('transition', (t) => t.to === 'Stable' && resolve(t)));
    monitor.start();
    await stable;
    silent = true;
    const before = results.length;
    await next('failover');
    expect(monitor.target).toBe('Failover');
    expect(results.slice(before).every((p) => p.error instanceof ProbeTimeoutError)).toBe(true);
    silent = false;
    await next('fallback');
    expect(monitor.target).toBe('Normal');
  });
});
