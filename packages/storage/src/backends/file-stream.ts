import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ChunkPool, withChunkPool } from '../chunk-pool.js';

/**
 * Bytes `start` to `end` (inclusive) of an open file as a stream of chunks of `chunkBytes` (the last one
 * shorter), read one ahead, into a {@link ChunkPool} whose slabs are no larger than the range (a 64 KiB range
 * does not allocate 1 MiB). Closes the file when it ends or is destroyed. A file that ends before `end`
 * (truncated while being read) errors the stream: never a short clean end.
 */
export function fileStream(
  fh: FileHandle,
  start: number,
  end: number,
  chunkBytes: number,
  pool = new ChunkPool(Math.min(chunkBytes, end + 1 - start)),
): Readable {
  let position = start;
  const stream: Readable = new Readable({
    highWaterMark: chunkBytes,
    read() {
      const want = Math.min(chunkBytes, end + 1 - position);
      if (want <= 0) {
        stream.push(null);
        return;
      }
      const space = pool.space(want);
      fh.read(space, 0, want, position).then(
        ({ bytesRead }) => {
          if (stream.destroyed) return;
          if (bytesRead === 0) {
            stream.destroy(new Error(`file ended at byte ${position}, ${end + 1 - position} bytes early`));
            return;
          }
          position += bytesRead;
          stream.push(pool.commit(space, bytesRead));
          if (position > end) stream.push(null);
        },
        (err: Error) => stream.destroy(err),
      );
    },
    destroy(err, callback) {
      fh.close().then(
        () => callback(err),
        (closeErr: Error) => callback(err ?? closeErr),
      );
    },
  });
  return withChunkPool(stream, pool);
}
