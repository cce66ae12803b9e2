import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { ProbeError } from './errors.js';
import type { Probe, ProbeVerdict } from './probe.js';
import { answersOptions, buildSipOptions, parseSipResponse, sipTransactionIds } from './sip-message.js';
import { reasonOf, unreachable } from './tcp-probe.js';

/** Options of {@link sipOptionsProbe}. */
export interface SipOptionsProbeOptions {
  /** The SIP server: host name or address. */
  host: string;
  /** Its UDP port. Default 5060. */
  port?: number;
  /** The user part of `From` and `Contact`. Default `pbxkit`. */
  fromUser?: string;
  /** The `User-Agent` header. Default `pbxkit`. */
  userAgent?: string;
  /**
   * Which final status means the server is alive. Default: any status below 500: a `401`, `403` or `404` is a
   * server that is up and answering (Asterisk answers `401` when OPTIONS need auth), a `5xx`/`6xx` is not.
   */
  isAlive?: (status: number) => boolean;
  /** First retransmission after this many ms, doubling up to 4 s (RFC 3261 timers T1/T2). Default 500. */
  retransmitMs?: number;
}

const T2_MS = 4_000;

/**
 * A probe that sends a SIP `OPTIONS` request over UDP, the keepalive every SIP server answers (Asterisk,
 * FreeSWITCH, Kamailio, phones), and waits for the final response with its Call-ID. Lost datagrams are sent
 * again (same transaction) until the monitor's timeout. An alive status → success; another final status or an
 * ICMP port unreachable → failure; no answer before the timeout, or an unreachable network → error.
 */
export function sipOptionsProbe(options: SipOptionsProbeOptions): Probe {
  const port = options.port ?? 5060;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ProbeError('PROBE_OPTIONS', `port must be 1-65535, got ${port}`);
  }
  const isAlive = options.isAlive ?? ((status: number) => status < 500);
  const firstRetransmitMs = options.retransmitMs ?? 500;
  return async (signal) => {
    const { address, family } = await lookup(options.host);
    if (signal.aborted) throw reasonOf(signal);
    return new Promise<ProbeVerdict>((resolve, reject) => {
      const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
      const ids = sipTransactionIds();
      let retransmit: NodeJS.Timeout | undefined;
      let finished = false;
      const finish = (verdict: ProbeVerdict | undefined, err?: Error): void => {
        if (finished) return;
        finished = true;
        clearTimeout(retransmit);
        signal.removeEventListener('abort', onAbort);
        socket.close();
        if (err) reject(err);
        else resolve(verdict as ProbeVerdict);
      };
      const onAbort = (): void => finish(undefined, reasonOf(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED')
          finish({ ok: false, detail: `ICMP port unreachable from ${address}:${port}` });
        else finish(undefined, unreachable(`${address}:${port}`, err));
      });
      socket.on('message', (datagram) => {
        const response = parseSipResponse(datagram);
        if (!response || !answersOptions(response, ids.callId) || response.status < 200) return;
        const detail = `${response.status} ${response.reason}`.trim();
        finish({ ok: isAlive(response.status), detail });
      });
      socket.connect(port, address, () => {
        if (finished) return;
        const local = socket.address();
        const request = Buffer.from(
          buildSipOptions({
            host: options.host,
            port,
            localAddress: local.address,
            localPort: local.port,
            fromUser: options.fromUser ?? 'pbxkit',
            userAgent: options.userAgent ?? 'pbxkit',
            ...ids,
          }),
        );
        const send = (delayMs: number): void => {
          if (finished) return;
          socket.send(request, (err) => {
            if (err) finish(undefined, unreachable(`${address}:${port}`, err as NodeJS.ErrnoException));
          });
          retransmit = setTimeout(() => send(Math.min(delayMs * 2, T2_MS)), delayMs);
        };
        send(firstRetransmitMs);
      });
    });
  };
}
