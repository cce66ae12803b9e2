import net from 'node:net';
import tls from 'node:tls';
import { AmiConnectionError, AmiTimeoutError } from '../errors.js';

/** Where and how to open the TCP (or TLS) connection. */
export interface TransportOptions {
  host: string;
  port: number;
  /** `true` for TLS with Node's defaults, or TLS options (CA, client certificate, `servername`...). */
  tls?: boolean | tls.ConnectionOptions;
  timeoutMs: number;
}

/**
 * Opens the socket and resolves once it is connected (TLS: once the handshake is done). Rejects with
 * {@link AmiConnectionError} (refused, unreachable, TLS failure) or {@link AmiTimeoutError}.
 */
export function openSocket(options: TransportOptions): Promise<net.Socket> {
  const { host, port, timeoutMs } = options;
  return new Promise((resolve, reject) => {
    const useTls = options.tls !== undefined && options.tls !== false;
    const socket = useTls
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...tlsOptions(options.tls) })
      : net.connect({ host, port });
    const readyEvent = useTls ? 'secureConnect' : 'connect';
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(
        new AmiTimeoutError(`connecting to ${host}:${port} took longer than ${timeoutMs} ms`, timeoutMs),
      );
    }, timeoutMs);
    const onError = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(new AmiConnectionError(`cannot connect to ${host}:${port}: ${err.message}`, { cause: err }));
    };
    const onReady = (): void => {
      cleanup();
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      resolve(socket);
    };
    function cleanup(): void {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off(readyEvent, onReady);
    }
    socket.once('error', onError);
    socket.once(readyEvent, onReady);
  });
}

function tlsOptions(option: TransportOptions['tls']): tls.ConnectionOptions {
  return typeof option === 'object' ? option : {};
}
