import type { Readable, Writable } from 'node:stream';
import { TimeoutError } from '@pbxkit/core';
import { chunkReleaser } from '../chunk-pool.js';

/** Why a {@link pump} stopped early. */
export type PumpFailure = 'source_error' | 'idle_timeout' | 'client_closed';

/** The error {@link pump} rejects with; `reason` says which side failed. */
export class PumpError extends Error {
  constructor(
    readonly reason: PumpFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PumpError';
  }
}

/**
 * Copies `source` into `sink` with backpressure, without ending `sink`, and with an idle timeout only: it fails
 * when no byte moved (no chunk from the source, no drain of the sink) for `idleMs`, never because the whole
 * copy takes long. Resolves with the number of bytes copied; on failure the source is destroyed and the
 * promise rejects with a {@link PumpError}; what to do with the sink is the caller's decision.
 */
export function pump(source: Readable, sink: Writable, idleMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let bytes = 0;
    let last = performance.now();
    let settled = false;
    const finish = (err?: PumpError): void => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      sink.off('drain', onDrain);
      sink.off('close', onClose);
      sink.off('error', onSinkError);
      if (err) {
        source.destroy();
        reject(err);
      } else resolve(bytes);
    };
    // Chunks of a pooled source (a file, a peer's body) go back to it once written (see ChunkPool) and are
    // written as they come: they are as large as the reads allow. Small chunks of other sources (an S3 body
    // arrives in socket-sized pieces) are gathered for one tick and go out in one writev.
    const release = chunkReleaser(source, sink);
    let corked = false;
    const uncork = (): void => {
      corked = false;
      sink.uncork();
    };
    const onData = (chunk: Buffer): void => {
      last = performance.now();
      bytes += chunk.length;
      if (!release && chunk.length < 256 * 1024 && !corked) {
        corked = true;
        sink.cork();
        setImmediate(uncork);
      }
      const written = release
        ? sink.write(chunk, (err) => {
            if (!err) release(chunk);
          })
        : sink.write(chunk);
      if (!written) source.pause();
    };
    const onDrain = (): void => {
      last = performance.now();
      source.resume();
    };
    const onEnd = (): void => finish();
    const onError = (err: Error): void =>
      finish(
        new PumpError('source_error', `source failed after ${bytes} bytes: ${err.message}`, { cause: err }),
      );
    const onClose = (): void =>
      finish(new PumpError('client_closed', `client went away after ${bytes} bytes`));
    const onSinkError = (err: Error): void =>
      finish(new PumpError('client_closed', `client connection failed: ${err.message}`, { cause: err }));
    // Progress to a slow client shows at the socket before a whole chunk drains: the kernel taking bytes from
    // libuv's write queue. Without this, a client slower than chunk/idleMs would be cut although it reads.
    let socketMark = socketProgress(sink);
    const timer = setInterval(
      () => {
        const mark = socketProgress(sink);
        if (mark !== socketMark) {
          socketMark = mark;
          last = performance.now();
        }
        if (performance.now() - last > idleMs) {
          const who = sink.writableNeedDrain ? 'client read nothing' : 'source sent nothing';
          finish(
            new PumpError('idle_timeout', `idle for ${idleMs} ms (${who}) after ${bytes} bytes`, {
              cause: new TimeoutError('idle timeout', idleMs, 'STORAGE_IDLE_TIMEOUT'),
            }),
          );
        }
      },
      Math.max(10, Math.min(1000, idleMs / 4)),
    );
    timer.unref();
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onError);
    sink.on('drain', onDrain);
    sink.on('close', onClose);
    sink.on('error', onSinkError);
    if (source.readableEnded) finish();
  });
}

interface SocketLike {
  bytesWritten?: number;
  _handle?: { writeQueueSize?: number } | null;
}

/** A token that changes whenever the connection under `sink` hands bytes to the kernel. */
function socketProgress(sink: Writable): string {
  const socket = (sink as { socket?: SocketLike | null }).socket ?? (sink as SocketLike);
  return `${socket.bytesWritten ?? ''}/${socket._handle?.writeQueueSize ?? ''}`;
}
