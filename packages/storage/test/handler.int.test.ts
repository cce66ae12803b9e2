import { createHash, randomBytes } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Registry } from '@pbxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileStream } from '../src/backends/file-stream.js';
import { ChunkPool } from '../src/chunk-pool.js';
import {
  createRecordingsHandler,
  LocalFsBackend,
  type ObjectInfo,
  pump,
  type ReadOptions,
  type ResolvedRecording,
  type StorageBackend,
  StorageNotFoundError,
  StorageUnavailableError,
} from '../src/index.js';
import { get, listen, tempDir } from './helpers.js';

const MiB = 1024 * 1024;
const small = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));

/** Writes `mib` MiB of a non-repeating-per-MiB pattern and returns its sha256. */
async function writeBig(path: string, mib: number): Promise<string> {
  const fh = await open(path, 'w');
  const hash = createHash('sha256');
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < mib; i++) {
    block.fill(i % 256);
    block.writeUInt32BE(i, 0);
    hash.update(block);
    await fh.write(block);
  }
  await fh.close();
  return hash.digest('hex');
}

/** A backend whose reads send `failAfter` bytes and then fail, or stall forever (`stall`). */
class FlakyBackend implements StorageBackend {
  readonly name = 'flaky';
  constructor(
    private readonly size: number,
    private readonly mode: 'fail' | 'stall' | 'unavailable',
    private readonly failAfter = 3 * MiB,
  ) {}
  async stat(key: string): Promise<ObjectInfo> {
    return { key, size: this.size, lastModified: new Date(0), etag: '"flaky"' };
  }
  async read(_key: string, _options?: ReadOptions): Promise<Readable> {
    if (this.mode === 'unavailable') throw new StorageUnavailableError(this.name, 'disk gone');
    let sent = 0;
    const { failAfter, mode } = this;
    return new Readable({
      highWaterMark: MiB,
      read() {
        if (sent >= failAfter) {
          if (mode === 'fail') this.destroy(new Error('disk read error (EIO)'));
          return; // stall: never push again
        }
        sent += MiB;
        this.push(Buffer.alloc(MiB, 7));
      },
    });
  }
  write(): Promise<ObjectInfo> {
    throw new Error('no');
  }
  async delete(): Promise<boolean> {
    return false;
  }
  async list() {
    return { items: [] };
  }
  async health() {
    return { ok: true, backend: this.name, detail: '', latencyMs: 0 };
  }
}

describe('createRecordingsHandler over real HTTP', () => {
  let cleanup: () => Promise<void>;
  let base: string;
  let close: () => Promise<void>;
  const registry = new Registry();
  const flaky: Record<string, StorageBackend> = {
    'fail-mid': new FlakyBackend(50 * MiB, 'fail'),
    'stall-mid': new FlakyBackend(50 * MiB, 'stall'),
    unavailable: new FlakyBackend(50 * MiB, 'unavailable'),
  };

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    const local = new LocalFsBackend({ root: t.dir });
    await local.write('calls/a.wav', small);
    await local.write('calls/c.mp3', 'mp3');
    await local.write('calls/empty.wav', '');
    const handler = createRecordingsHandler({
      source: async (uuid): Promise<ResolvedRecording | undefined> => {
        if (uuid in flaky) return { backend: flaky[uuid] as StorageBackend, key: `${uuid}.wav` };
        for (const ext of ['wav', 'mp3']) {
          try {
            const info = await local.stat(`calls/${uuid}.${ext}`);
            return { backend: local, key: info.key, info };
          } catch (err) {
            if (!(err instanceof StorageNotFoundError)) throw err;
          }
        }
        return undefined;
      },
      authorize: (req, uuid) =>
        uuid === 'secret' ? { status: 401, reason: 'login first' } : req.headers['x-deny'] !== '1',
      idleTimeoutMs: 500,
      registry,
    });
    const server = await listen((req, res) => void handler(req, res));
    base = `${server.url}/recordings`;
    close = server.close;
  });
  afterAll(async () => {
    await close();
    await cleanup();
  });

  it('GET serves the whole file with length, type, validators and Accept-Ranges', async () => {
    const r = await get(`${base}/a`);
    expect(r.status).toBe(200);
    expect(r.complete).toBe(true);
    expect(r.body.equals(small)).toBe(true);
    expect(r.headers['content-length']).toBe('10000');
    expect(r.headers['content-type']).toBe('audio/wav');
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers.etag).toMatch(/^"/);
    expect(r.headers['last-modified']).toBeTruthy();
    expect(r.headers['content-disposition']).toBeUndefined();
    expect((await get(`${base}/c`)).headers['content-type']).toBe('audio/mpeg');
    const empty = await get(`${base}/empty`);
    expect([empty.status, empty.bytes, empty.complete]).toEqual([200, 0, true]);
  });

  it('HEAD answers the same headers without a body', async () => {
    const r = await get(`${base}/a`, { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe('10000');
    expect(r.bytes).toBe(0);
    const ranged = await get(`${base}/a`, { method: 'HEAD', headers: { Range: 'bytes=-10' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-range']).toBe('bytes 9990-9999/10000');
  });

  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=9000-', 9000, 9999],
    ['bytes=-500', 9500, 9999],
    ['bytes=-20000', 0, 9999],
    ['bytes=9990-20000', 9990, 9999],
    ['bytes=5000-5000', 5000, 5000],
  ])('Range %s → 206 bytes %i-%i', async (range, start, end) => {
    const r = await get(`${base}/a`, { headers: { Range: range } });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/10000`);
    expect(r.headers['content-length']).toBe(String(end - start + 1));
    expect(r.body.equals(small.subarray(start, end + 1))).toBe(true);
  });

  it('several ranges → multipart/byteranges', async () => {
    const r = await get(`${base}/a`, { headers: { Range: 'bytes=0-9,-10' } });
    expect(r.status).toBe(206);
    const boundary = /boundary=(\S+)/.exec(r.headers['content-type'] ?? '')?.[1];
    expect(boundary).toBeTruthy();
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
    const text = r.body.toString('latin1');
    expect(text).toContain('Content-Range: bytes 0-9/10000');
    expect(text).toContain('Content-Range: bytes 9990-9999/10000');
    expect(text.endsWith(`--${boundary}--\r\n`)).toBe(true);
    const parts = text.split(`--${boundary}`).slice(1, -1);
    expect(parts.map((p) => Buffer.from(p.split('\r\n\r\n')[1]?.slice(0, -2) ?? '', 'latin1'))).toEqual([
      small.subarray(0, 10),
      small.subarray(9990),
    ]);
  });

  it('unsatisfiable Range → 416 with Content-Range: bytes */size; a malformed one is ignored', async () => {
    const r = await get(`${base}/a`, { headers: { Range: 'bytes=10000-' } });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe('bytes */10000');
    const bad = await get(`${base}/a`, { headers: { Range: 'bytes=zz' } });
    expect(bad.status).toBe(200);
    expect(bad.bytes).toBe(10000);
  });

  it('If-None-Match → 304; If-Range with a stale ETag → the whole file', async () => {
    const { headers } = await get(`${base}/a`, { method: 'HEAD' });
    const etag = headers.etag as string;
    const r = await get(`${base}/a`, { headers: { 'If-None-Match': `"other", ${etag}` } });
    expect(r.status).toBe(304);
    expect(r.bytes).toBe(0);
    expect((await get(`${base}/a`, { headers: { 'If-None-Match': '"other"' } })).status).toBe(200);
    const fresh = await get(`${base}/a`, { headers: { Range: 'bytes=0-1', 'If-Range': etag } });
    expect(fresh.status).toBe(206);
    const stale = await get(`${base}/a`, { headers: { Range: 'bytes=0-1', 'If-Range': '"old"' } });
    expect(stale.status).toBe(200);
  });

  it('?download=1 adds Content-Disposition: attachment', async () => {
    const r = await get(`${base}/a?download=1`);
    expect(r.headers['content-disposition']).toBe('attachment; filename="a.wav"');
  });

  it('404 with a JSON reason; 405 for other methods; the auth hook refuses with 403 or its own status', async () => {
    const missing = await get(`${base}/0f0e0d0c-0000-4000-8000-000000000000`);
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(missing.body.toString())).toEqual({
      error: 'not_found',
      reason: 'no recording for call 0f0e0d0c-0000-4000-8000-000000000000',
    });
    expect((await get(`${base}/..%2Fetc%2Fpasswd`)).status).toBe(404);
    expect((await get(`${base}/a`, { method: 'POST' })).status).toBe(405);
    expect((await get(`${base}/a`, { headers: { 'x-deny': '1' } })).status).toBe(403);
    const secret = await get(`${base}/secret`);
    expect(secret.status).toBe(401);
    expect(JSON.parse(secret.body.toString()).reason).toBe('login first');
  });

  it('a backend that fails before the headers → 503 JSON', async () => {
    const r = await get(`${base}/unavailable`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body.toString()).error).toBe('unavailable');
  });

  it('a backend failing mid-stream → the client sees a truncated transfer, never a clean end; counted', async () => {
    const r = await get(`${base}/fail-mid`, { keepBody: false });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(50 * MiB));
    expect(r.complete).toBe(false);
    expect(r.bytes).toBeLessThan(50 * MiB);
    expect(r.bytes).toBeGreaterThan(0);
    const aborted = await registry.getSingleMetric('pbxkit_storage_http_aborted_total')?.get();
    expect(aborted?.values.find((v) => v.labels.reason === 'source_error')?.value).toBe(1);
  });

  it('a backend that stalls mid-stream is cut after the idle timeout, as a truncated transfer', async () => {
    const started = performance.now();
    const r = await get(`${base}/stall-mid`, { keepBody: false });
    expect(r.complete).toBe(false);
    expect(r.bytes).toBe(3 * MiB);
    expect(performance.now() - started).toBeLessThan(5000);
    const aborted = await registry.getSingleMetric('pbxkit_storage_http_aborted_total')?.get();
    expect(aborted?.values.find((v) => v.labels.reason === 'idle_timeout')?.value).toBe(1);
  });

  it('file chunks go back to their pool once written: 40 MiB through a few 1 MiB slabs, byte for byte', async () => {
    const t = await tempDir();
    const bytes = randomBytes(40 * MiB);
    await writeFile(`${t.dir}/f.bin`, bytes);
    const serveWith = async (patchWrite: boolean) => {
      const pool = new ChunkPool(MiB);
      const server = await listen(async (_req, res) => {
        if (patchWrite) {
          // As a middleware that wraps write: it could keep the chunk, so the pool must not get it back.
          const write = res.write.bind(res) as (chunk: Buffer, cb?: () => void) => boolean;
          res.write = ((chunk: Buffer, cb?: () => void) => write(chunk, cb)) as typeof res.write;
        }
        res.writeHead(200, { 'Content-Length': bytes.length });
        const fh = await open(`${t.dir}/f.bin`);
        await pump(fileStream(fh, 0, bytes.length - 1, MiB, pool), res, 5000);
        res.end();
      });
      const hash = createHash('sha256');
      const r = await get(server.url, { keepBody: false, onChunk: (c) => hash.update(c) });
      await server.close();
      expect(r.complete).toBe(true);
      expect(hash.digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
      return pool.allocated;
    };
    expect(await serveWith(false)).toBeLessThanOrEqual(4);
    expect(await serveWith(true)).toBe(40);
    await t.cleanup();
  });

  it('a client throttled to 2 MiB/s downloads a 100 MB recording completely (no total-time limit)', async () => {
    // Its own handler: a realistic idle timeout (the kernel reports a throttled reader's progress in steps of a
    // third of the socket buffer, ~0.7 s at 2 MiB/s), still ten times shorter than the whole download.
    const t = await tempDir();
    const local = new LocalFsBackend({ root: t.dir });
    const sha = await writeBig(`${t.dir}/big.wav`, 100);
    const handler = createRecordingsHandler({
      source: async () => ({ backend: local, key: 'big.wav' }),
      idleTimeoutMs: 5000,
    });
    const server = await listen((req, res) => void handler(req, res));
    const hash = createHash('sha256');
    const started = performance.now();
    const r = await get(`${server.url}/recordings/big`, {
      keepBody: false,
      rateBytesPerSec: 2 * MiB,
      onChunk: (c) => hash.update(c),
    });
    const seconds = (performance.now() - started) / 1000;
    expect(r.status).toBe(200);
    expect(r.complete).toBe(true);
    expect(r.bytes).toBe(100 * MiB);
    expect(hash.digest('hex')).toBe(sha);
    expect(seconds).toBeGreaterThan(45); // it really was slow: ten times the idle timeout
    await server.close();
    await t.cleanup();
  }, 120_000);
});
