import type { Socket } from 'node:net';
import {
  type Answer,
  type AnswerContext,
  answerLine,
  errorAnswer,
  isCompleteSynchRequest,
  protocolOf,
  type StatusProtocol,
} from './answer.js';
import { LineBuffer } from './line-buffer.js';

/** Limits of one connection. */
export interface ConnectionLimits {
  maxLineBytes: number;
  timeoutMs: number;
}

/**
 * One client of the status socket. Requests are answered one at a time, in order; reading pauses while one is
 * answered or while the client does not read its answers, so a connection never holds more than a line and
 * an answer. Each request must be complete within `timeoutMs` of connecting or of the previous answer (which
 * ends idle connections and slowloris trickles alike).
 */
export class StatusConnection {
  private readonly lines: LineBuffer;
  private timer: NodeJS.Timeout | undefined;
  private answering = false;
  private ended = false;
  private closed = false;
  private lastProtocol: StatusProtocol = 'synch';

  constructor(
    private readonly socket: Socket,
    private readonly ctx: AnswerContext,
    private readonly limits: ConnectionLimits,
    private readonly onAnswer: (answer: Answer) => void,
  ) {
    this.lines = new LineBuffer(limits.maxLineBytes);
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return; // answered for the last time: what still comes is read and dropped
      this.lines.feed(chunk);
      void this.pump();
    });
    socket.on('end', () => {
      // allowHalfOpen: the client finished sending; answer what it sent without a line end, then close.
      this.ended = true;
      void this.pump();
    });
    socket.on('error', (err) => ctx.log.debug({ err }, 'status connection error'));
    socket.on('close', () => this.dispose());
    this.armTimer();
  }

  /** Closes at once (server shutdown). */
  destroy(): void {
    this.socket.destroy();
    this.dispose();
  }

  private async pump(): Promise<void> {
    if (this.answering || this.closed) return;
    this.answering = true;
    this.socket.pause();
    try {
      for (;;) {
        const line = this.nextRequest();
        if (line === undefined) break;
        const answer = line === 'tooLong' ? this.tooLong() : await answerLine(line, this.ctx);
        if (this.closed) return;
        if (!answer) continue;
        this.lastProtocol = answer.protocol;
        this.onAnswer(answer);
        if (answer.close) {
          this.finish(answer.text);
          return;
        }
        this.armTimer();
        if (!this.socket.write(answer.text)) await this.drained();
      }
      if (this.ended) this.finish();
      else this.socket.resume();
    } finally {
      this.answering = false;
    }
  }

  private nextRequest(): Buffer | 'tooLong' | undefined {
    const line = this.lines.next();
    if (line !== undefined) return line;
    const rest = this.lines.peekRest();
    // Synch reads whatever arrived, line end or not: `GetStatus(t)` without one is answered too.
    if (this.ended || isCompleteSynchRequest(rest))
      return rest.length > 0 ? this.lines.takeRest() : undefined;
    return undefined;
  }

  private tooLong(): Answer {
    const protocol = protocolOf(this.lines.takeRest());
    return errorAnswer(
      protocol,
      'STATUS_LINE_TOO_LONG',
      `Line too long (over ${this.limits.maxLineBytes} bytes)`,
      true,
    );
  }

  private armTimer(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const answer = errorAnswer(this.lastProtocol, 'STATUS_TIMEOUT', 'Timeout', true);
      this.onAnswer(answer);
      this.finish(answer.text);
    }, this.limits.timeoutMs);
    this.timer.unref();
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  // Sends the last bytes and closes; a client that never reads them is cut when the timer fires again.
  private finish(text?: string): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.closed = true;
    if (text === undefined) this.socket.end();
    else this.socket.end(text);
    this.socket.resume();
    const cut = setTimeout(() => this.socket.destroy(), this.limits.timeoutMs);
    cut.unref();
    this.socket.once('close', () => clearTimeout(cut));
  }

  private dispose(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
