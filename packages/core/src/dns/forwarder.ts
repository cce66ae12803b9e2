import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6, connect as tcpConnect } from 'node:net';
import { HEADER_BYTES } from './wire.js';

/** How a forwarded query ended: the resolver's answer, or why there is none. */
export type ForwardResult =
  | { ok: true; response: Buffer }
  | { ok: false; reason: 'timeout' | 'overload' | 'error'; error?: Error };

interface Pending {
  /** The question bytes sent, which the answer must echo (a blind spoofer guesses the ID and these). */
  question: Buffer;
  settle: (result: ForwardResult) => void;
}

/** Options of {@link Forwarder}. */
export interface ForwarderOptions {
  address: string;
  port: number;
  timeoutMs: number;
  /** Queries waiting for the resolver at once; past this, `overload` at once. */
  maxPending: number;
  /** Called on a socket error (logged and counted by the responder). */
  onError: (err: Error) => void;
}

/**
 * Relays queries for names outside the zone to one resolver, byte for byte under a fresh random ID, and hands
 * back its answer. Each query has its own timeout; nothing in the zone's answers ever waits on this.
 *
 * UDP first; a truncated UDP answer to a client that asked over TCP is fetched again over TCP.
 */
export class Forwarder {
  private socket: Socket | undefined;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly options: ForwarderOptions) {}

  /** Queries waiting for the resolver. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Forwards `query` (a checked query message); the result keeps the resolver's ID (the caller restores its own). */
  async forward(query: Buffer, questionEnd: number, viaTcp: boolean): Promise<ForwardResult> {
    const result = await this.forwardUdp(query, questionEnd);
    if (viaTcp && result.ok && ((result.response[2] as number) & 0x02) !== 0) return this.forwardTcp(query);
    return result;
  }

  private forwardUdp(query: Buffer, questionEnd: number): Promise<ForwardResult> {
    if (this.pending.size >= this.options.maxPending)
      return Promise.resolve({ ok: false, reason: 'overload' });
    const socket = this.udpSocket();
    let id = randomInt(0x10000);
    while (this.pending.has(id)) id = (id + 1) & 0xffff;
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle({ ok: false, reason: 'timeout' }), this.options.timeoutMs);
      const settle = (result: ForwardResult) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(result);
      };
      this.pending.set(id, { question: out.subarray(HEADER_BYTES, questionEnd), settle });
      socket.send(out, this.options.port, this.options.address, (err) => {
        if (err) settle({ ok: false, reason: 'error', error: err });
      });
    });
  }

  private udpSocket(): Socket {
    if (this.socket) return this.socket;
    const socket = createSocket(isIPv6(this.options.address) ? 'udp6' : 'udp4');
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== this.options.port || msg.length < HEADER_BYTES) return;
      if (rinfo.family === 'IPv4' && rinfo.address !== this.options.address) return;
      const waiting = this.pending.get(msg.readUInt16BE(0));
      if (!waiting) return;
      const echoed = msg.subarray(HEADER_BYTES, HEADER_BYTES + waiting.question.length);
      if (!echoed.equals(waiting.question)) return;
      waiting.settle({ ok: true, response: msg });
    });
    socket.on('error', (err) => this.options.onError(err));
    // Forwarding must not keep a process alive that has stopped answering.
    socket.unref();
    this.socket = socket;
    return socket;
  }

  /** One query over a fresh TCP connection (RFC 7766 framing), for answers too big for UDP. */
  private forwardTcp(query: Buffer): Promise<ForwardResult> {
    return new Promise((resolve) => {
      const socket = tcpConnect({ host: this.options.address, port: this.options.port });
      let received = Buffer.alloc(0);
      let done = false;
      const finish = (result: ForwardResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(() => finish({ ok: false, reason: 'timeout' }), this.options.timeoutMs);
      socket.on('connect', () => {
        const frame = Buffer.allocUnsafe(2 + query.length);
        frame.writeUInt16BE(query.length, 0);
        query.copy(frame, 2);
        socket.write(frame);
      });
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
          finish({ ok: true, response: received.subarray(2, 2 + received.readUInt16BE(0)) });
        }
      });
      socket.on('error', (error) => finish({ ok: false, reason: 'error', error }));
      socket.on('close', () => finish({ ok: false, reason: 'error', error: new Error('connection closed') }));
    });
  }

  /** Ends every waiting query with `error` and closes the socket (a later query opens a new one). */
  close(): void {
    for (const waiting of [...this.pending.values()]) {
      waiting.settle({ ok: false, reason: 'error', error: new Error('forwarder closed') });
    }
    this.socket?.close();
    this.socket = undefined;
  }
}
