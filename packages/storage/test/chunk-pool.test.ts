import { describe, expect, it } from 'vitest';
import { ChunkPool } from '../src/chunk-pool.js';

/** Reads `text` into the pool as one read: what a producer does. */
function read(pool: ChunkPool, text: string, min = text.length): Buffer {
  const space = pool.space(min, 1024);
  const n = space.write(text);
  return pool.commit(space, n);
}

describe('ChunkPool', () => {
  it('hands out views of one slab, and never a byte of a chunk that is still out', () => {
    const pool = new ChunkPool(16);
    const a = read(pool, 'aaaaaaaa', 4);
    const b = read(pool, 'bbbbbbbb', 4);
    expect(a.buffer).toBe(b.buffer); // packed into one slab, no copy
    const c = read(pool, 'cccc'); // the slab is full: a new one
    expect(c.buffer).not.toBe(a.buffer);
    pool.release(a); // b is still out: the first slab is not reused
    const d = read(pool, 'dddddddddddd', 12); // fits after c
    expect(d.buffer).toBe(c.buffer);
    expect(b.toString()).toBe('bbbbbbbb');
    pool.release(b); // now nothing of the first slab is out: it is used again
    const e = read(pool, 'eeeeeeeeeeeeeeee', 16);
    expect(e.buffer).toBe(a.buffer);
    expect([c, d, e].map(String)).toEqual(['cccc', 'dddddddddddd', 'eeeeeeeeeeeeeeee']);
    expect(pool.allocated).toBe(2);
  });

  it('reuses a slab once all its chunks are released', () => {
    const pool = new ChunkPool(8);
    for (let i = 0; i < 100; i++) {
      const chunk = read(pool, `${i}`.padStart(8, '-'));
      expect(chunk.toString()).toBe(`${i}`.padStart(8, '-'));
      pool.release(chunk);
    }
    expect(pool.allocated).toBe(1);
  });

  it('two slabs in turn while one is being written and the next read', () => {
    const pool = new ChunkPool(8);
    let writing = read(pool, 'x'.repeat(8));
    for (let i = 0; i < 50; i++) {
      const next = read(pool, String(i % 10).repeat(8));
      expect(writing.buffer).not.toBe(next.buffer);
      pool.release(writing);
      writing = next;
    }
    expect(pool.allocated).toBe(2);
  });

  it('ignores a second release of a chunk and chunks that are not its own', () => {
    const pool = new ChunkPool(8);
    const a = read(pool, 'aaaa', 4);
    const b = read(pool, 'bbbb', 4);
    pool.release(a);
    pool.release(a); // would otherwise count b as released
    pool.release(Buffer.from(b.buffer, b.byteOffset, b.length)); // b's bytes, not the chunk handed out
    pool.release(Buffer.alloc(8));
    const c = read(pool, 'cccccccc');
    expect(c.buffer).not.toBe(b.buffer);
    expect(b.toString()).toBe('bbbb');
  });

  it('a read left uncommitted does not advance: the next space is the same bytes', () => {
    const pool = new ChunkPool(8);
    const first = pool.space(4);
    const again = pool.space(4);
    expect(again.byteOffset).toBe(first.byteOffset);
    expect(again.buffer).toBe(first.buffer);
  });
});
