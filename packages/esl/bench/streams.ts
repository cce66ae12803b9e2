import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EslParser } from '../src/index.js';

/** The captured FreeSWITCH traffic in the repository's `fixtures/esl` (see fixtures/README.md). */
export const FIXTURES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/esl');

/** What a socket read delivers at most (the chunk size of the event streams). */
export const CHUNK_BYTES = 64 * 1024;

/** The event frames of one captured stream, back to back: the unit the benchmark stream repeats. */
export interface EventCycle {
  fixture: string;
  contentType: string;
  bytes: Buffer;
  events: number;
}

/**
 * Cuts the frames of `contentType` out of a fixture (dropping `auth/request` and the command replies), each
 * exactly as FreeSWITCH sent it, headers and body.
 */
export function eventCycle(fixture: string, contentType: string): EventCycle {
  const path = join(FIXTURES_DIR, fixture);
  if (!existsSync(path)) {
    throw new Error(`fixture ${path} not found: the repository's fixtures/esl is incomplete`);
  }
  const stream = readFileSync(path);
  const parts: Buffer[] = [];
  let start = 0;
  for (const frame of new EslParser().feed(stream)) {
    if (frame.contentType === contentType) parts.push(stream.subarray(start, frame.streamOffset));
    start = frame.streamOffset;
  }
  if (parts.length === 0) throw new Error(`no ${contentType} frame in ${fixture}`);
  return { fixture, contentType, bytes: Buffer.concat(parts), events: parts.length };
}

/**
 * The stream `cycle` repeated `repeats` times, delivered as fresh `CHUNK_BYTES` buffers (as socket reads are:
 * a parser may keep references into them), cut at the same offsets for every consumer, so both libraries parse
 * exactly the same bytes in exactly the same chunks. Generated on the fly so the whole stream is never in
 * memory (it would dominate peak RSS).
 */
export function* chunksOf(cycle: Buffer, repeats: number, chunkBytes = CHUNK_BYTES): Generator<Buffer> {
  const total = cycle.length * repeats;
  let pos = 0;
  while (pos < total) {
    const size = Math.min(chunkBytes, total - pos);
    const chunk = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const at = (pos + filled) % cycle.length;
      filled += cycle.copy(chunk, filled, at, Math.min(cycle.length, at + size - filled));
    }
    pos += size;
    yield chunk;
  }
}
