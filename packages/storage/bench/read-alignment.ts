/**
 * `npx tsx bench/read-alignment.ts`: why ChunkPool starts its slabs on a page boundary. Reads a file in the page
 * cache (BENCH_MB, default 100 MiB) into one reused 1 MiB buffer placed at different offsets of a larger block,
 * and prints the CPU time per pass. glibc places a block this large (an mmap) 16 bytes past a page boundary, so
 * `+0` is what `Buffer.allocUnsafeSlow(1 MiB)` gets and `+4080` is page-aligned. On the AMD EPYC development
 * machine the copy into memory 8 to 24 bytes past a page boundary (the page cache's source is on one) was 4-6x
 * slower: 45-70 ms instead of 10-12 ms.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MiB = 1024 * 1024;
const MB = Number(process.env.BENCH_MB ?? 100);
const dir = await mkdtemp(join(tmpdir(), 'pbxkit-read-alignment-'));
try {
  const file = join(dir, 'data');
  const out = openSync(file, 'w');
  const block = Buffer.alloc(MiB, 7);
  for (let i = 0; i < MB; i++) writeSync(out, block);
  closeSync(out);
  await readFile(file); // into the page cache
  const fd = openSync(file, 'r');
  const big = Buffer.allocUnsafeSlow(MiB + 8192);
  console.log(`${MB} MiB from the page cache into a reused 1 MiB buffer, best of 5 passes (CPU ms):`);
  for (const offset of [0, 8, 16, 32, 64, 2048, 4072, 4080, 4088]) {
    const target = big.subarray(offset, offset + MiB);
    let best = Number.POSITIVE_INFINITY;
    for (let pass = 0; pass < 5; pass++) {
      const started = process.cpuUsage();
      for (let i = 0; i < MB; i++) readSync(fd, target, 0, MiB, i * MiB);
      const used = process.cpuUsage(started);
      best = Math.min(best, (used.user + used.system) / 1000);
    }
    console.log(`  block +${String(offset).padEnd(5)} ${best.toFixed(0).padStart(4)} ms`);
  }
  closeSync(fd);
} finally {
  await rm(dir, { recursive: true, force: true });
}
