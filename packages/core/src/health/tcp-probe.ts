import { connect } from 'node:net';
import { abortErrorOf } from '../abort.js';
import { ProbeError } from './errors.js';
import type { Probe } from './probe.js';

/** Options of {@link tcpConnectProbe}. */
export interface TcpProbeOptions {
  host: string;
  port: number;
}

/** Errors that mean a host answered "nothing listens here" (a failure), not "no answer" (an error). */
const REFUSED = new Set(['ECONNREFUSED', 'ECONNRESET']);

/** Errors that mean no answer could come at all: the probe throws `PROBE_UNREACHABLE` with them as cause. */
const UNREACHABLE = new Set([
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * A probe that opens a TCP connection and closes it at once, sending nothing (gdnsd's `tcp_connect`). Connected
 * → success; refused or reset → failure (the host answered, nothing listens); no answer before the monitor's
 * timeout, or an unreachable network → error.
 */
export function tcpConnectProbe(options: TcpProbeOptions): Probe {
  const { host, port } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ProbeError('PROBE_OPTIONS', `port must be 1-65535, got ${port}`);
  }
  return (signal) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(reasonOf(signal));
        return;
      }
      const socket = connect({ host, port });
      const done = (): void => {
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
      };
      const onAbort = (): void => {
        done();
        reject(reasonOf(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        done();
        resolve({ ok: true, detail: `connected to ${host}:${port}` });
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        done();
        const code = err.code ?? '';
        if (REFUSED.has(code)) resolve({ ok: false, detail: `${code} from ${host}:${port}` });
        else reject(unreachable(`${host}:${port}`, err));
      });
    });
}

/** The signal's reason when it is an Error (the monitor aborts with a `ProbeTimeoutError`), else an AbortError. */
export function reasonOf(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : abortErrorOf(signal);
}

/** A `PROBE_UNREACHABLE` error for a network error that means no answer can come; other errors as they are. */
export function unreachable(where: string, err: NodeJS.ErrnoException): Error {
  if (!UNREACHABLE.has(err.code ?? '')) return err;
  return new ProbeError('PROBE_UNREACHABLE', `${where} unreachable: ${err.code}`, { cause: err });
}
