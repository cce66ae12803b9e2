import { mkdir, readdir, readFile, statfs, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LocalFsBackend,
  NoopBackend,
  StorageConfigError,
  StorageInvalidKeyError,
  StorageNotFoundError,
  StorageRangeError,
  StorageUnavailableError,
  validateKey,
} from '../src/index.js';
import { tempDir } from './helpers.js';

describe('validateKey', () => {
  it.each([
    '',
    '/etc/passwd',
    '../x',
    'a/../../x',
    'a/..',
    './a',
    'a//b',
    'a/',
    'C:\\x',
    'c:/x',
    'a\\..\\b',
    'a\u0000b',
    'a\nb',
  ])('refuses %j', (key) => {
    expect(() => validateKey(key)).toThrow(StorageInvalidKeyError);
  });

  it.each(['a', 'example.com/archive/2026/Nov/23/x.wav', 'a..b', '..a/b..', 'with space/ü.mp3'])(
    'accepts %j',
    (key) => {
      expect(validateKey(key)).toEqual(key.split('/'));
    },
  );
});

describe('LocalFsBackend on a real file system', () => {
  let dir: string;
  let root: string;
  let cleanup: () => Promise<void>;
  let backend: LocalFsBackend;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    root = join(dir, 'root');
    await mkdir(root);
    backend = new LocalFsBackend({ root });
  });
  afterEach(() => cleanup());

  it('writes atomically, reads back, stats, deletes', async () => {
    const info = await backend.write('d.example/archive/2026/Nov/23/a.wav', 'hello world');
    expect(info).toMatchObject({
      key: 'd.example/archive/2026/Nov/23/a.wav',
      size: 11,
      contentType: 'audio/wav',
    });
    expect(info.etag).toMatch(/^"[0-9a-f-]+"$/);
    expect(await readFile(join(root, 'd.example/archive/2026/Nov/23/a.wav'), 'utf8')).toBe('hello world');
    expect(await text(await backend.read('d.example/archive/2026/Nov/23/a.wav'))).toBe('hello world');
    expect((await backend.stat('d.example/archive/2026/Nov/23/a.wav')).size).toBe(11);
    expect(await backend.delete('d.example/archive/2026/Nov/23/a.wav')).toBe(true);
    expect(await backend.delete('d.example/archive/2026/Nov/23/a.wav')).toBe(false);
    await expect(backend.stat('d.example/archive/2026/Nov/23/a.wav')).rejects.toThrow(StorageNotFoundError);
    await expect(backend.read('nope.wav')).rejects.toThrow(StorageNotFoundError);
  });

  it('replaces a file whole and leaves no temp file when the body fails midway', async () => {
    await backend.write('x.wav', 'old content');
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1000, 1));
        this.destroy(new Error('source broke'));
      },
    });
    await expect(backend.write('x.wav', failing)).rejects.toThrow(StorageUnavailableError);
    expect(await readFile(join(root, 'x.wav'), 'utf8')).toBe('old content');
    expect(await readdir(root)).toEqual(['x.wav']);
    await backend.write('x.wav', Readable.from([Buffer.from('new '), Buffer.from('content')]));
    expect(await readFile(join(root, 'x.wav'), 'utf8')).toBe('new content');
  });

  it('reads ranges (end inclusive), clamps the end, refuses a start past the end', async () => {
    await backend.write('r.bin', Buffer.from('0123456789'));
    expect(await text(await backend.read('r.bin', { range: { start: 2, end: 4 } }))).toBe('234');
    expect(await text(await backend.read('r.bin', { range: { start: 7, end: 100 } }))).toBe('789');
    expect(await text(await backend.read('r.bin', { range: { start: 9, end: 9 } }))).toBe('9');
    const err = await backend.read('r.bin', { range: { start: 10, end: 20 } }).catch((e) => e);
    expect(err).toBeInstanceOf(StorageRangeError);
    expect(err.size).toBe(10);
    await expect(backend.read('r.bin', { range: { start: 5, end: 4 } })).rejects.toThrow(StorageRangeError);
  });

  it('reads in chunks of readChunkBytes, every byte in place, ranges across chunk borders', async () => {
    const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7) % 251));
    await backend.write('c.bin', bytes);
    const small = new LocalFsBackend({ root, readChunkBytes: 1024 });
    const chunks: Buffer[] = [];
    for await (const chunk of await small.read('c.bin')) chunks.push(chunk as Buffer);
    expect(chunks.map((c) => c.length)).toEqual([...Array(9).fill(1024), 784]);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    const part = Buffer.concat(
      await (await small.read('c.bin', { range: { start: 1000, end: 3100 } })).toArray(),
    );
    expect(part.equals(bytes.subarray(1000, 3101))).toBe(true);
  });

  it('a file cut short while it is read errors the stream (no short clean end)', async () => {
    await backend.write('t.bin', Buffer.alloc(64 * 1024, 1));
    const stream = await new LocalFsBackend({ root, readChunkBytes: 16 * 1024 }).read('t.bin');
    await writeFile(join(root, 't.bin'), Buffer.alloc(20 * 1024, 2)); // same inode, now 20 KiB
    await expect(stream.toArray()).rejects.toThrow(/file ended at byte 20480, 45056 bytes early/);
  });

  it('an aborted read destroys the stream and closes the file', async () => {
    await backend.write('a.bin', Buffer.alloc(256 * 1024, 1));
    const controller = new AbortController();
    const stream = await new LocalFsBackend({ root, readChunkBytes: 16 * 1024 }).read('a.bin', {
      signal: controller.signal,
    });
    const closed = new Promise((resolve) => stream.once('close', resolve));
    controller.abort();
    await closed;
    expect(stream.destroyed).toBe(true);
  });

  it('refuses traversal: .., absolute paths, and symlinks that lead out of the root', async () => {
    await writeFile(join(dir, 'secret.txt'), 'secret');
    for (const key of ['../secret.txt', 'a/../../secret.txt', `${dir}/secret.txt`, '/etc/passwd', '..']) {
      await expect(backend.read(key)).rejects.toThrow(StorageInvalidKeyError);
      await expect(backend.stat(key)).rejects.toThrow(StorageInvalidKeyError);
      await expect(backend.write(key, 'x')).rejects.toThrow(StorageInvalidKeyError);
      await expect(backend.delete(key)).rejects.toThrow(StorageInvalidKeyError);
    }
    // a file symlink and a directory symlink pointing outside
    await symlink(join(dir, 'secret.txt'), join(root, 'link.wav'));
    await symlink(dir, join(root, 'outside'));
    await expect(backend.read('link.wav')).rejects.toThrow(StorageInvalidKeyError);
    await expect(backend.stat('outside/secret.txt')).rejects.toThrow(StorageInvalidKeyError);
    await expect(backend.read('outside/secret.txt')).rejects.toThrow(StorageInvalidKeyError);
    await expect(backend.delete('outside/secret.txt')).rejects.toThrow(StorageInvalidKeyError);
    await expect(backend.write('outside/planted.txt', 'x')).rejects.toThrow(StorageInvalidKeyError);
    await expect(backend.write('outside/new/planted.txt', 'x')).rejects.toThrow(StorageInvalidKeyError);
    expect((await readdir(dir)).sort()).toEqual(['root', 'secret.txt']);
    expect(await readFile(join(dir, 'secret.txt'), 'utf8')).toBe('secret');
    // listing does not follow them either
    expect((await backend.list('')).items.map((i) => i.key)).toEqual([]);
  });

  it('follows a symlink that stays inside the root', async () => {
    await backend.write('real/a.wav', 'inside');
    await symlink(join(root, 'real'), join(root, 'alias'));
    expect(await text(await backend.read('alias/a.wav'))).toBe('inside');
  });

  it('lists in key order, by prefix, a page at a time', async () => {
    const keys = ['a/1.wav', 'a/2.wav', 'a.b', 'b/x/y.wav', 'b/z.wav', 'c.wav', 'a/sub/3.wav'];
    for (const key of keys) await backend.write(key, key);
    const all = await backend.list('');
    expect(all.items.map((i) => i.key)).toEqual([...keys].sort());
    expect(all.cursor).toBeUndefined();
    expect((await backend.list('a/')).items.map((i) => i.key)).toEqual(['a/1.wav', 'a/2.wav', 'a/sub/3.wav']);
    expect((await backend.list('b/x')).items.map((i) => i.key)).toEqual(['b/x/y.wav']);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await backend.list('', { cursor, limit: 2 });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => i.key));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual([...keys].sort());
  });

  it('reports health: writable root ok, missing root not', async () => {
    expect((await backend.health()).ok).toBe(true);
    const missing = new LocalFsBackend({ root: join(dir, 'missing') });
    const h = await missing.health();
    expect(h.ok).toBe(false);
    await expect(missing.stat('a')).rejects.toThrow(StorageUnavailableError);
  });
});

describe('LocalFsBackend health: free space and inodes (statfs of the real file system)', () => {
  it('reports free bytes and inodes, and is healthy above the thresholds', async () => {
    const t = await tempDir();
    try {
      const fs = await statfs(t.dir);
      const h = await new LocalFsBackend({ root: t.dir, minFreeBytes: 1, minFreeInodes: 1 }).health();
      expect(h.ok).toBe(true);
      expect(h.freeBytes).toBeGreaterThan(0);
      // Other processes write meanwhile: the same order of magnitude is what can be asserted.
      expect(Math.abs((h.freeBytes as number) - fs.bavail * fs.bsize)).toBeLessThan(
        fs.bavail * fs.bsize * 0.1,
      );
      if (fs.files > 0) expect(h.freeInodes).toBeGreaterThan(0);
      expect(h.detail).toMatch(/writable, [\d.]+ [KMGT]iB( and \d+ inodes)? free$/);
    } finally {
      await t.cleanup();
    }
  });

  it('turns unhealthy below the free-space threshold, and says so', async () => {
    const t = await tempDir();
    try {
      const fs = await statfs(t.dir);
      const above = fs.bavail * fs.bsize + 1024 ** 4; // a terabyte more than there is
      const h = await new LocalFsBackend({ root: t.dir, minFreeBytes: above }).health();
      expect(h.ok).toBe(false);
      expect(h.detail).toMatch(/free, below the minimum of [\d.]+ TiB$/);
      expect(h.freeBytes).toBeGreaterThan(0);
      expect((await new LocalFsBackend({ root: t.dir, minFreeBytes: 0, minFreeInodes: 0 }).health()).ok).toBe(
        true,
      );
    } finally {
      await t.cleanup();
    }
  });

  it('turns unhealthy below the free-inode threshold (where the file system counts inodes)', async () => {
    const t = await tempDir();
    try {
      const fs = await statfs(t.dir);
      const h = await new LocalFsBackend({ root: t.dir, minFreeInodes: fs.ffree + 1_000_000 }).health();
      if (fs.files === 0) {
        expect([h.ok, h.freeInodes]).toEqual([true, undefined]); // btrfs and the like: no inode limit
      } else {
        expect(h.ok).toBe(false);
        expect(h.detail).toMatch(/\d+ inodes free, below the minimum of \d+$/);
      }
    } finally {
      await t.cleanup();
    }
  });

  it('refuses a negative threshold when built', () => {
    expect(() => new LocalFsBackend({ root: '/tmp', minFreeBytes: -1 })).toThrow(StorageConfigError);
  });
});

describe('NoopBackend', () => {
  it('stores nothing', async () => {
    const noop = new NoopBackend();
    expect((await noop.write('a.wav', 'abc')).size).toBe(3);
    await expect(noop.read('a.wav')).rejects.toThrow(StorageNotFoundError);
    await expect(noop.stat('a.wav')).rejects.toThrow(StorageNotFoundError);
    await expect(noop.read('../a')).rejects.toThrow(StorageInvalidKeyError);
    expect(await noop.delete('a.wav')).toBe(false);
    expect(await noop.list('')).toEqual({ items: [] });
    expect((await noop.health()).ok).toBe(true);
  });
});
