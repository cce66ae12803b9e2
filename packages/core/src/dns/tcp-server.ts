import { createServer, type Server, type Socket } from 'node:net';

/** A client that stops reading its answers is cut off once this much is waiting to be written to it. */
const MAX_UNWRITTEN_BYTES = 1 << 20;

/** Options of {@link DnsTcpServer}. */
export interface DnsTcpServerOptions {
  maxConnections: number;
  idleTimeoutMs: number;
  /** One framed message; `reply` sends an answer back on the same connection (ignored once it closed). */
  onMessage: (msg: Buffer, reply: (response: Buffer) => void, remoteAddress: string) => void;
  /** A listening or connection error (logged and counted by the responder). */
  onError: (err: Error) => void;
}

/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): 2-byte length-prefixed messages, several per connection and in
 * any order, answered as they complete. Connections are bounded in number and closed when idle.
 */
export class DnsTcpServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: DnsTcpServerOptions) {
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Listens on `address:port`; rejects (EADDRINUSE, EACCES) instead of emitting. */
  listen(port: number, address: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, address, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.options.onError(err));
        const bound = this.server.address();
        resolve(typeof bound === 'object' && bound ? bound.port : port);
      });
    });
  }

  /** Stops accepting and closes every open connection. */
  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
  }

  private accept(socket: Socket): void {
    if (this.sockets.size >= this.options.maxConnections) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(this.options.idleTimeoutMs, () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    // A reset by the client is its business: nothing to log per connection.
    socket.on('error', () => socket.destroy());
    const remote = socket.remoteAddress ?? '';
    const reply = (response: Buffer) => {
      if (socket.destroyed) return;
      if (socket.writableLength > MAX_UNWRITTEN_BYTES) {
        socket.destroy();
        return;
      }
      const frame = Buffer.allocUnsafe(2 + response.length);
      frame.writeUInt16BE(response.length, 0);
      response.copy(frame, 2);
      socket.write(frame);
    };
    let pending: Buffer | undefined;
    socket.on('data', (chunk: Buffer) => {
      let data = pending ? Buffer.concat([pending, chunk]) : chunk;
      while (data.length >= 2) {
        const length = data.readUInt16BE(0);
        if (length === 0) {
          socket.destroy();
          return;
        }
        if (data.length < 2 + length) break;
        this.options.onMessage(data.subarray(2, 2 + length), reply, remote);
        data = data.subarray(2 + length);
      }
      pending = data.length ? data : undefined;
    });
  }
}
