import { OutgoingMessage } from 'node:http';
import type { Readable, Writable } from 'node:stream';

/**
 * Slabs start on a page boundary. glibc (and musl) place a large block 16 bytes past one, and on the AMD EPYC
 * benchmark machine the kernel's copy from the page cache (whose pages start on a boundary) into memory 8 to 24
 * bytes past a boundary ran 4-6x slower than into memory elsewhere: 45-70 ms instead of 10-12 ms per 100 MiB
 * read into one reused 1 MiB buffer (`bench/read-alignment.ts`). A block from the heap (smaller ones, or once
 * glibc raised its mmap threshold) starts anywhere; then the slab does too, as any buffer would.
 */
const PAGE = 4096;
const MALLOC_HEADER = 16;

/**
 * Read buffers that are used again once the HTTP response has written them, instead of a fresh 1 MiB allocation
 * per read: a served file goes through the same two or three slabs (`bench/run.ts` compares the handler with a
 * loop over `fs.ReadStream`, which allocates a buffer per read). Slabs are never shared between streams.
 *
 * A producer ({@link LocalFsBackend}'s read stream, the peer reader) reads into {@link ChunkPool.space}, hands
 * out {@link ChunkPool.commit}'s chunk, and attaches the pool to its stream with {@link withChunkPool}. Chunks
 * are views into slabs of `slabBytes`; a slab is reused only when every chunk cut from it was
 * {@link ChunkPool.release}d. Only {@link pump} releases, and only when it writes into an `http.ServerResponse`
 * whose `write` is Node's own (whose callback means the bytes were handed to the kernel): with any other
 * consumer (the archiver, `for await`, a response whose `write` a middleware replaced) chunks are never released
 * and every slab is a fresh allocation, as with `fs.createReadStream`.
 */
export class ChunkPool {
  /** Slabs allocated so far (all others were reused). */
  allocated = 0;
  private current: Buffer | undefined;
  private used = 0;
  private readonly free: Buffer[] = [];
  /** Chunks handed out and not released yet, per slab. */
  private readonly refs = new WeakMap<ArrayBufferLike, number>();
  /** The chunks themselves: a chunk is released once, and only a chunk of this pool. */
  private readonly out = new WeakSet<Buffer>();
  /** The slabs, by their memory. */
  private readonly slabs = new WeakMap<ArrayBufferLike, Buffer>();

  /**
   * @param slabBytes size of a slab (the largest read)
   * @param keepFree released slabs kept for reuse; more are left to the garbage collector
   */
  constructor(
    readonly slabBytes: number,
    private readonly keepFree = 2,
  ) {}

  /**
   * Where to read next: at least `min` and at most `max` bytes (both clamped to the slab size), in the current
   * slab when enough of it is left, else in a reused or new slab. One read at a time: {@link commit} it (or
   * drop it) before asking for the next space.
   */
  space(min: number, max = min): Buffer {
    const want = Math.min(min, this.slabBytes);
    if (this.current && !this.refs.get(this.current.buffer)) this.used = 0; // none of it is out: start over
    if (!this.current || this.current.length - this.used < want) {
      this.retire();
      this.current = this.free.pop() ?? this.allocate();
      this.slabs.set(this.current.buffer, this.current);
      this.used = 0;
    }
    return this.current.subarray(this.used, Math.min(this.current.length, this.used + Math.max(want, max)));
  }

  /** `n` bytes were read into `space` (from {@link space}): the chunk to hand out, a view, not a copy. */
  commit(space: Buffer, n: number): Buffer {
    const chunk = space.subarray(0, n);
    const current = this.current;
    if (space.buffer === current?.buffer) {
      this.used = Math.max(this.used, space.byteOffset - current.byteOffset + n);
    }
    this.refs.set(space.buffer, (this.refs.get(space.buffer) ?? 0) + 1);
    this.out.add(chunk);
    return chunk;
  }

  /** The consumer no longer needs `chunk` (it was written out). Anything else is ignored. */
  release(chunk: Buffer): void {
    if (!this.out.delete(chunk)) return;
    const left = (this.refs.get(chunk.buffer) ?? 1) - 1;
    this.refs.set(chunk.buffer, left);
    const slab = this.slabs.get(chunk.buffer);
    if (left === 0 && slab && slab !== this.current && this.free.length < this.keepFree) this.free.push(slab);
  }

  private allocate(): Buffer {
    this.allocated++;
    const block = Buffer.allocUnsafeSlow(this.slabBytes + PAGE);
    return block.subarray(PAGE - MALLOC_HEADER, PAGE - MALLOC_HEADER + this.slabBytes);
  }

  /** The current slab is left behind: reused at once when none of its chunks is out. */
  private retire(): void {
    const slab = this.current;
    this.current = undefined;
    if (slab && !this.refs.get(slab.buffer) && this.free.length < this.keepFree) this.free.push(slab);
  }
}

const POOL = Symbol('pbxkit.storage.chunkPool');

/** Marks `stream` as handing out chunks of `pool`; returns the stream. */
export function withChunkPool<T extends Readable>(stream: T, pool: ChunkPool): T {
  (stream as T & { [POOL]?: ChunkPool })[POOL] = pool;
  return stream;
}

const nodeWrite = OutgoingMessage.prototype.write;

/**
 * How `sink` gives `source`'s chunks back once written, or `undefined` when it must not: the source has no pool,
 * or the sink is not a response with Node's own `write` (another writer may keep a chunk after its callback).
 */
export function chunkReleaser(source: Readable, sink: Writable): ((chunk: Buffer) => void) | undefined {
  const pool = (source as Readable & { [POOL]?: ChunkPool })[POOL];
  if (!pool || !(sink instanceof OutgoingMessage) || sink.write !== nodeWrite) return undefined;
  return (chunk) => pool.release(chunk);
}
