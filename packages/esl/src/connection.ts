import type { Socket } from 'node:net';
import { type Logger, TypedEmitter } from '@pbxkit/core';
import { EslConnectionError, type EslProtocolError, EslTimeoutError } from './errors.js';
import { EslEvent, isEventFrame } from './protocol/event.js';
import type { EslFrame } from './protocol/frame.js';
import { EslParser } from './protocol/parser.js';
import { encodeCommand } from './protocol/serialize.js';

/** Events of an {@link EslConnection}. */
export interface EslConnectionEvents {
  /** An event frame (any encoding), decoded lazily. */
  event: (event: EslEvent) => void;
  /** `auth/request`: FreeSWITCH waits for `auth`. */
  authRequest: () => void;
  /** `text/disconnect-notice`: FreeSWITCH is about to close, or (with linger) the channel hung up. */
  disconnectNotice: (frame: EslFrame) => void;
  /** `text/rude-rejection`: FreeSWITCH's ACL refused this address. */
  rudeRejection: (frame: EslFrame) => void;
  /** `log/data` after `log <level>`. */
  log: (frame: EslFrame) => void;
  /** A frame of a type this library does not know, for forward compatibility. */
  unknownFrame: (frame: EslFrame) => void;
  /** The socket closed; `err` says why when it was not a clean end. Pending commands were rejected. */
  close: (err: Error | undefined) => void;
}

interface PendingReply {
  command: string;
  resolve: (frame: EslFrame) => void;
  reject: (err: Error) => void;
  /** `performance.now()` past which the command times out; Infinity for none. */
  deadline: number;
  timeoutMs: number;
  /** Timed out: the reply will still arrive (replies come in order) and must be dropped, not misrouted. */
  abandoned: boolean;
}

/** Options of {@link EslConnection}. */
export interface EslConnectionOptions {
  maxFrameBytes?: number;
  /** Default timeout of a command awaiting its reply. */
  commandTimeoutMs: number;
  logger: Logger;
  /** Called for every chunk received (a keepalive counts them): keep it to a flag write. */
  onData?: () => void;
}

/**
 * One event socket connection, either direction: writes commands, matches each `command/reply` or
 * `api/response` to the oldest command still waiting (FreeSWITCH answers in order), and hands everything else
 * out as events. It owns no reconnection: {@link EslClient} and {@link EslSession} build on it.
 */
export class EslConnection extends TypedEmitter<EslConnectionEvents> {
  private readonly parser: EslParser;
  private readonly pending: PendingReply[] = [];
  private head = 0;
  private closed = false;
  private closeError: Error | undefined;
  /**
   * One timer for all waiting commands, not one per command. It is left armed when the last reply arrives: a
   * later command's deadline is later, so back-to-back commands reuse it instead of clearing and setting a
   * timer each (when it fires early it re-arms for the earliest deadline still waiting, if any). Unref'd: the
   * socket, not the timer, keeps the process alive while commands wait.
   */
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private corked = false;

  constructor(
    readonly socket: Socket,
    private readonly options: EslConnectionOptions,
  ) {
    super();
    this.parser = new EslParser({ maxFrameBytes: options.maxFrameBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      this.closeError ??= new EslConnectionError(`socket error: ${err.message}`, { cause: err });
    });
    socket.on('close', () => this.onClose());
  }

  /** True until the socket closed. */
  get open(): boolean {
    return !this.closed;
  }

  /** Commands written and not yet answered. */
  get inFlight(): number {
    return this.pending.length - this.head;
  }

  /**
   * True while a command still waits for its reply and has not timed out: FreeSWITCH is working on it (it
   * answers one connection's commands in order), so a liveness probe sent now would only queue behind it.
   */
  owesReply(): boolean {
    for (let i = this.head; i < this.pending.length; i++) {
      if (!(this.pending[i] as PendingReply).abandoned) return true;
    }
    return false;
  }

  /**
   * Writes a command and resolves with its reply frame. Commands are pipelined: several may be in flight.
   * @throws {EslTimeoutError} when no reply came within the timeout (the late reply is then dropped).
   * @throws {EslConnectionError} when the connection is closed or closes before the reply.
   */
  send(
    command: string,
    headers?: Record<string, string | number>,
    body?: string,
    timeoutMs = this.options.commandTimeoutMs,
  ): Promise<EslFrame> {
    const bytes = encodeCommand(command, headers, body);
    if (this.closed) {
      return Promise.reject(
        this.closeError ?? new EslConnectionError('the event socket connection is closed'),
      );
    }
    return new Promise<EslFrame>((resolve, reject) => {
      const hasTimeout = timeoutMs > 0 && Number.isFinite(timeoutMs);
      const deadline = hasTimeout ? performance.now() + timeoutMs : Number.POSITIVE_INFINITY;
      this.pending.push({ command, resolve, reject, deadline, timeoutMs, abandoned: false });
      if (deadline < this.timerAt) this.armTimer(deadline);
      // Commands issued in the same tick leave in one write (pipelining without one syscall each).
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(() => {
          this.corked = false;
          this.socket.uncork();
        });
      }
      this.socket.write(bytes);
    });
  }

  private armTimer(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - performance.now()));
    this.timer.unref();
  }

  /** Rejects every command past its deadline, then re-arms the timer for the next one. */
  private expire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (let i = this.head; i < this.pending.length; i++) {
      const entry = this.pending[i] as PendingReply;
      if (entry.abandoned) continue;
      if (entry.deadline <= now) {
        entry.abandoned = true;
        entry.reject(
          new EslTimeoutError(
            `no reply to "${firstWord(entry.command)}" within ${entry.timeoutMs} ms`,
            entry.timeoutMs,
          ),
        );
      } else if (entry.deadline < next) {
        next = entry.deadline;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.armTimer(next);
  }

  /** Closes the socket now; pending commands are rejected with {@link EslConnectionError}. */
  destroy(err?: Error): void {
    if (err) this.closeError ??= err;
    this.socket.destroy();
  }

  /** Half-closes the socket after what was written, and waits for FreeSWITCH to close its side. */
  end(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }

  private onData(chunk: Buffer): void {
    this.options.onData?.();
    let frames: EslFrame[];
    try {
      frames = this.parser.feed(chunk);
    } catch (err) {
      this.options.logger.error({ err }, 'event socket protocol error, closing');
      this.destroy(err as EslProtocolError);
      return;
    }
    for (const frame of frames) this.dispatch(frame);
  }

  private dispatch(frame: EslFrame): void {
    switch (frame.contentType) {
      case 'command/reply':
      case 'api/response':
        this.resolveNext(frame);
        return;
      case 'auth/request':
        this.emit('authRequest');
        return;
      case 'text/disconnect-notice':
        this.emit('disconnectNotice', frame);
        return;
      case 'text/rude-rejection':
        this.emit('rudeRejection', frame);
        return;
      case 'log/data':
        this.emit('log', frame);
        return;
      default:
        if (isEventFrame(frame)) this.emit('event', EslEvent.fromFrame(frame));
        else this.emit('unknownFrame', frame);
    }
  }

  private resolveNext(frame: EslFrame): void {
    const entry = this.pending[this.head];
    if (!entry) {
      this.options.logger.warn({ contentType: frame.contentType }, 'reply with no command waiting, dropped');
      return;
    }
    this.pending[this.head] = undefined as unknown as PendingReply;
    this.head++;
    if (this.head > 256 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    if (!entry.abandoned) entry.resolve(frame);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    const err = this.closeError ?? new EslConnectionError('the event socket connection closed');
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (let i = this.head; i < this.pending.length; i++) {
      const entry = this.pending[i] as PendingReply;
      if (!entry.abandoned) entry.reject(err);
    }
    this.pending.length = 0;
    this.head = 0;
    this.emit('close', this.closeError);
  }
}

function firstWord(command: string): string {
  const space = command.indexOf(' ');
  const word = space === -1 ? command : command.slice(0, space);
  return word === 'api' || word === 'bgapi' ? command.split(' ', 2).join(' ') : word;
}
