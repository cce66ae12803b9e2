import { connect as netConnect } from 'node:net';
import { EslConnection, type EslConnectionOptions } from './connection.js';
import { EslAccessDeniedError, EslAuthError, EslConnectionError, EslTimeoutError } from './errors.js';

/** Where and how {@link openInbound} connects. */
export interface InboundOpenOptions {
  host: string;
  port: number;
  /** `user@domain` for `userauth`; absent: `auth`. */
  user: string | undefined;
  password: string;
  /** TCP connect plus authentication, in ms. */
  timeoutMs: number;
  connection: EslConnectionOptions;
  /** Aborting gives up the attempt (the client was closed). */
  signal: AbortSignal;
}

/**
 * Opens an inbound event socket connection and authenticates (`auth` or `userauth`) once FreeSWITCH asks.
 * @throws {EslAuthError} the password or user was refused.
 * @throws {EslAccessDeniedError} FreeSWITCH's ACL refused this address.
 * @throws {EslTimeoutError} no authenticated connection within `timeoutMs`.
 * @throws {EslConnectionError} unreachable, closed before authentication, or aborted.
 */
export function openInbound(options: InboundOpenOptions): Promise<EslConnection> {
  const { host, port, user, password, timeoutMs, signal } = options;
  return new Promise<EslConnection>((resolve, reject) => {
    const socket = netConnect({ host, port });
    // TCP keepalive notices a vanished peer even while a slow command holds the application-level probe.
    socket.setKeepAlive(true, 30_000);
    const conn = new EslConnection(socket, options.connection);
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      conn.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(new EslConnectionError('the client was closed while connecting'));
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () =>
        fail(
          new EslTimeoutError(
            `no authenticated connection to ${host}:${port} within ${timeoutMs} ms`,
            timeoutMs,
          ),
        ),
      timeoutMs,
    );
    socket.once('error', (err) =>
      fail(
        new EslConnectionError(`cannot connect to FreeSWITCH at ${host}:${port}: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    conn.once('rudeRejection', () => fail(new EslAccessDeniedError()));
    conn.once('close', (err) =>
      fail(
        err ??
          new EslConnectionError(`FreeSWITCH at ${host}:${port} closed the connection before authentication`),
      ),
    );
    conn.once('authRequest', () => {
      const command = user ? `userauth ${user}:${password}` : `auth ${password}`;
      conn.send(command, undefined, undefined, timeoutMs).then(
        (frame) => {
          const reply = frame.headers['Reply-Text'] ?? '';
          if (!reply.startsWith('+OK')) {
            fail(
              new EslAuthError(`FreeSWITCH rejected the ${user ? `user ${user}` : 'password'} (${reply})`),
            );
            return;
          }
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(conn);
        },
        (err: Error) => fail(err),
      );
    });
  });
}
