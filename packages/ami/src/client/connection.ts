import type { Socket } from 'node:net';
import { AmiConnectionError } from '../errors.js';
import type { AmiMessage } from '../protocol/message.js';
import { type AmiBanner, AmiParser, type AmiParserOptions } from '../protocol/parser.js';

/** What an {@link AmiConnection} reports to its owner. */
export interface ConnectionHandlers {
  banner(banner: AmiBanner): void;
  message(message: AmiMessage): void;
  /** Bytes arrived (called per chunk, before parsing; a keepalive counts them). */
  data?(): void;
  /** The socket is gone; `err` says why when it was not a clean close. Called once. */
  closed(err: Error | undefined): void;
}

/**
 * One socket and its parser: turns bytes into messages and batches writes: the first write of a tick leaves
 * at once, the rest of that tick's writes in one `socket.write` at its end.
 */
export class AmiConnection {
  private readonly parser: AmiParser;
  private pending = '';
  private flushScheduled = false;
  private bannerSeen = false;
  private failure: Error | undefined;
  private isClosed = false;
  private closeWaiters: Array<() => void> = [];

  constructor(
    private readonly socket: Socket,
    parserOptions: AmiParserOptions,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.parser = new AmiParser(parserOptions);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.failure ??= new AmiConnectionError(`socket error: ${err.message}`, { cause: err });
    });
    socket.on('close', () => {
      this.isClosed = true;
      this.handlers.closed(this.failure);
      for (const waiter of this.closeWaiters.splice(0)) waiter();
    });
  }

  /** True once the socket closed. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Calls `fn` once the socket has closed (at once if it already has). */
  onceClosed(fn: () => void): void {
    if (this.isClosed) fn();
    else this.closeWaiters.push(fn);
  }

  /**
   * Writes `data`. The first write of a tick goes to the socket at once (a lone action, the sequential case,
   * waits for nothing); later writes of the same tick are joined and leave in one `socket.write` at the end
   * of the tick, so a burst of actions costs two system calls instead of one each.
   */
  write(data: string): void {
    if (this.isClosed) return;
    if (this.flushScheduled) {
      this.pending += data;
      return;
    }
    this.flushScheduled = true;
    process.nextTick(this.flush);
    this.socket.write(data);
  }

  /** Flushes queued writes, then half-closes the socket; the peer's close follows. */
  end(): void {
    this.flush();
    this.socket.end();
  }

  /** Closes at once, recording `err` as the reason handed to `closed`. */
  destroy(err?: Error): void {
    if (err) this.failure ??= err;
    this.socket.destroy();
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.pending.length === 0 || this.isClosed) return;
    const data = this.pending;
    this.pending = '';
    this.socket.write(data);
  };

  private onData(chunk: Buffer): void {
    this.handlers.data?.();
    let messages: AmiMessage[];
    try {
      messages = this.parser.feed(chunk);
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    if (!this.bannerSeen && this.parser.banner) {
      this.bannerSeen = true;
      this.handlers.banner(this.parser.banner);
    }
    for (const message of messages) {
      if (this.isClosed) return;
      this.handlers.message(message);
    }
  }
}
