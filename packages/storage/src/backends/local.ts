import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { addAbortSignal, Readable } from 'node:stream';
import {
  contentTypeFor,
  type HealthStatus,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type ReadOptions,
  type StorageBackend,
  validateKey,
  validatePrefix,
  type WriteBody,
  type WriteOptions,
} from '../backend.js';
import {
  StorageConfigError,
  StorageError,
  StorageInvalidKeyError,
  StorageNotFoundError,
  StorageRangeError,
  StorageUnavailableError,
} from '../errors.js';
import { bodyStream } from './body.js';
import { fileStream } from './file-stream.js';

/** Options of {@link LocalFsBackend}. */
export interface LocalFsBackendOptions {
  /** Directory the keys are relative to (FusionPBX: `/var/lib/freeswitch/recordings`). */
  root: string;
  /** Name in logs, metrics and health. Default `local`. */
  name?: string;
  /** Read-stream chunk size in bytes. Default 1 MiB (64 KiB, Node's default, is much slower to serve). */
  readChunkBytes?: number;
  /** fsync written files and their directory before `write` resolves. Default true. */
  fsync?: boolean;
  /**
   * `health()` is not ok when the file system has less space than this available (FreeSWITCH cannot write
   * recordings on a full disk). Default 1 GiB; 0 never.
   */
  minFreeBytes?: number;
  /** `health()` is not ok when fewer inodes than this are free (where the file system counts them). Default 10 000; 0 never. */
  minFreeInodes?: number;
}

const TEMP_MARK = '.pbxkit-tmp-';

/**
 * Recordings on a local (or mounted) file system under `root`.
 *
 * Keys are checked by {@link validateKey} and, once resolved, must stay inside the root's real path: a symlink
 * that leads out of the root is refused (`StorageInvalidKeyError`), one that stays inside is followed. Writes go
 * to a temporary file in the target directory, are fsynced, renamed over the key and the directory is fsynced,
 * so a reader or a crash sees the old file or the whole new one. `contentType` and `metadata` are not stored
 * (the content type is derived from the extension).
 *
 * @example
 * ```ts
 * const local = new LocalFsBackend({ root: '/var/lib/freeswitch/recordings' });
 * const stream = await local.read('example.com/archive/2026/Nov/23/5c7b….wav', { range: { start: 0, end: 1023 } });
 * ```
 */
export class LocalFsBackend implements StorageBackend {
  readonly name: string;
  readonly root: string;
  private realRoot: Promise<string> | undefined;
  private readonly chunk: number;
  private readonly fsync: boolean;
  private readonly minFreeBytes: number;
  private readonly minFreeInodes: number;

  constructor(options: LocalFsBackendOptions) {
    if (!options?.root) throw new TypeError('LocalFsBackend needs a root directory');
    this.root = resolve(options.root);
    this.name = options.name ?? 'local';
    this.chunk = options.readChunkBytes ?? 1024 * 1024;
    this.fsync = options.fsync ?? true;
    this.minFreeBytes = nonNegative(options.minFreeBytes, 1024 ** 3, 'minFreeBytes');
    this.minFreeInodes = nonNegative(options.minFreeInodes, 10_000, 'minFreeInodes');
  }

  /** The absolute path of `key` (checked lexically; symlinks are checked when the file is used). */
  pathOf(key: string): string {
    return join(this.root, ...validateKey(key));
  }

  async stat(key: string): Promise<ObjectInfo> {
    const path = await this.existingPath(key);
    const st = await this.fsCall(key, () => stat(path));
    if (!st.isFile()) throw new StorageNotFoundError(key, `${JSON.stringify(key)} is not a file`);
    return infoOf(key, st);
  }

  async read(key: string, options: ReadOptions = {}): Promise<Readable> {
    const path = await this.existingPath(key);
    const fh = await this.fsCall(key, () => open(path, 'r'));
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new StorageNotFoundError(key, `${JSON.stringify(key)} is not a file`);
      let start = 0;
      let end = st.size - 1;
      if (options.range) {
        const { start: s, end: e } = options.range;
        if (!(Number.isSafeInteger(s) && s >= 0 && Number.isSafeInteger(e) && e >= s)) {
          throw new StorageRangeError(key, st.size, `invalid range ${s}-${e}`);
        }
        if (s >= st.size) throw new StorageRangeError(key, st.size);
        start = s;
        end = Math.min(e, st.size - 1);
      }
      if (end < start) {
        // An empty file read whole: an empty stream.
        await fh.close();
        return Readable.from([]);
      }
      const stream = fileStream(fh, start, end, this.chunk);
      if (options.signal) {
        addAbortSignal(options.signal, stream);
      }
      return stream;
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  async write(key: string, body: WriteBody, options: WriteOptions = {}): Promise<ObjectInfo> {
    const segments = validateKey(key);
    const path = join(this.root, ...segments);
    const dir = dirname(path);
    await this.ensureDir(key, dir);
    const temp = join(dir, `${TEMP_MARK}${randomBytes(6).toString('hex')}`);
    const fh = await this.fsCall(key, () => open(temp, 'wx', 0o644));
    let done = false;
    try {
      for await (const chunk of bodyStream(body)) {
        options.signal?.throwIfAborted();
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
        let off = 0;
        while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
      }
      if (this.fsync) await fh.sync();
      await fh.close();
      await rename(temp, path);
      done = true;
      if (this.fsync) await fsyncDir(dir);
    } catch (err) {
      if (!done) {
        await fh.close().catch(() => {});
        await unlink(temp).catch(() => {});
      }
      if (err instanceof StorageError) throw err;
      throw new StorageUnavailableError(this.name, `write ${key}: ${(err as Error).message}`, { cause: err });
    }
    return this.stat(key);
  }

  async delete(key: string): Promise<boolean> {
    let path: string;
    try {
      path = await this.existingPath(key);
    } catch (err) {
      if (err instanceof StorageNotFoundError) return false;
      throw err;
    }
    try {
      await unlink(path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new StorageUnavailableError(this.name, `delete ${key}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    const limit = options.limit ?? 1000;
    const root = await this.rootReal();
    // Walk only below the deepest directory the prefix names.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    const items: ObjectInfo[] = [];
    const cursor = options.cursor;
    const walk = async (relDir: string): Promise<boolean> => {
      let names: string[];
      try {
        names = await readdir(join(root, relDir));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return true;
        throw new StorageUnavailableError(this.name, `list ${prefix}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      const entries: Array<{ key: string; order: string; st: Stats }> = [];
      for (const name of names) {
        if (name.startsWith(TEMP_MARK)) continue;
        const key = relDir ? `${relDir}/${name}` : name;
        if (!(key.startsWith(prefix) || prefix.startsWith(`${key}/`))) continue;
        const st = await lstat(join(root, key)).catch(() => undefined);
        // Symlinks are not listed (they may lead anywhere); their targets are listed where they really are.
        if (!st || st.isSymbolicLink()) continue;
        if (st.isDirectory()) entries.push({ key, order: `${key}/`, st });
        else if (st.isFile()) entries.push({ key, order: key, st });
      }
      // Key order: a directory's keys all start with `dir/`, so it sorts as `dir/` among its siblings.
      entries.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
      for (const { key, order, st } of entries) {
        if (st.isDirectory()) {
          // Every key below `dir/` is at or before the cursor when the cursor sorts after `dir/` without being in it.
          if (cursor && cursor > order && !cursor.startsWith(order)) continue;
          if (!(await walk(key))) return false;
        } else if (key.startsWith(prefix) && (!cursor || key > cursor)) {
          if (items.length === limit) return false;
          items.push(infoOf(key, st));
        }
      }
      return true;
    };
    const complete = await walk(base);
    const last = items.at(-1);
    return complete || !last ? { items } : { items, cursor: last.key };
  }

  /**
   * Whether recordings can be written: the root is writable (a file is created and removed), and the file system
   * has at least `minFreeBytes` available and `minFreeInodes` free inodes (`statfs`). `freeBytes` and
   * `freeInodes` are reported either way (`instrumentBackend` exports them as gauges); `detail` says which
   * threshold was crossed.
   */
  async health(): Promise<HealthStatus> {
    const started = performance.now();
    const result = (ok: boolean, detail: string, free: Partial<HealthStatus> = {}): HealthStatus => ({
      ok,
      backend: this.name,
      detail,
      latencyMs: performance.now() - started,
      ...free,
    });
    let free: Pick<HealthStatus, 'freeBytes' | 'freeInodes'>;
    try {
      const fs = await statfs(this.root);
      free = { freeBytes: fs.bavail * fs.bsize };
      // A file system without an inode limit (btrfs, some network mounts) reports 0 of 0.
      if (fs.files > 0) free.freeInodes = fs.ffree;
    } catch (err) {
      return result(false, `${this.root}: ${(err as Error).message}`);
    }
    const problems: string[] = [];
    if (this.minFreeBytes > 0 && (free.freeBytes as number) < this.minFreeBytes) {
      problems.push(
        `${formatBytes(free.freeBytes as number)} free, below the minimum of ${formatBytes(this.minFreeBytes)}`,
      );
    }
    if (this.minFreeInodes > 0 && free.freeInodes !== undefined && free.freeInodes < this.minFreeInodes) {
      problems.push(`${free.freeInodes} inodes free, below the minimum of ${this.minFreeInodes}`);
    }
    if (problems.length > 0) return result(false, `${this.root}: ${problems.join('; ')}`, free);
    const probe = join(this.root, `${TEMP_MARK}health-${randomBytes(4).toString('hex')}`);
    try {
      const fh = await open(probe, 'wx');
      await fh.close();
      await rm(probe, { force: true });
    } catch (err) {
      return result(false, `${this.root}: ${(err as Error).message}`, free);
    }
    const inodes = free.freeInodes === undefined ? '' : ` and ${free.freeInodes} inodes`;
    return result(
      true,
      `${this.root} writable, ${formatBytes(free.freeBytes as number)}${inodes} free`,
      free,
    );
  }

  private rootReal(): Promise<string> {
    if (!this.realRoot) {
      const p = realpath(this.root);
      this.realRoot = p;
      p.catch(() => {
        // retry next time: the root may be mounted later
        if (this.realRoot === p) this.realRoot = undefined;
      });
    }
    return this.realRoot.catch((err) => {
      throw new StorageUnavailableError(this.name, `root ${this.root}: ${(err as Error).message}`, {
        cause: err,
      });
    });
  }

  /** The real path of an existing key, refused when it resolves outside the root. */
  private async existingPath(key: string): Promise<string> {
    const lexical = join(this.root, ...validateKey(key));
    const root = await this.rootReal();
    const real = await this.fsCall(key, () => realpath(lexical));
    if (!inside(root, real)) throw new StorageInvalidKeyError(key, 'resolves outside the root (symlink)');
    return real;
  }

  /** Creates `dir` (inside the root) when missing; refuses when an existing ancestor leads outside the root. */
  private async ensureDir(key: string, dir: string): Promise<void> {
    const root = await this.rootReal();
    let existing = dir;
    const missing: string[] = [];
    for (;;) {
      try {
        const real = await realpath(existing);
        if (!inside(root, real) && real !== root) {
          throw new StorageInvalidKeyError(key, 'resolves outside the root (symlink)');
        }
        const st = await stat(real);
        if (!st.isDirectory())
          throw new StorageInvalidKeyError(key, `${relative(this.root, existing)} is a file`);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          if (err instanceof StorageError) throw err;
          throw new StorageUnavailableError(this.name, `${existing}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        if (existing === this.root)
          throw new StorageUnavailableError(this.name, `root ${this.root} is missing`);
        missing.unshift(existing);
        existing = dirname(existing);
      }
    }
    for (const d of missing) {
      try {
        await mkdir(d);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new StorageUnavailableError(this.name, `mkdir ${d}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        // Someone created it meanwhile: make sure it is a real directory inside the root.
        const real = await realpath(d);
        if (!inside(root, real)) throw new StorageInvalidKeyError(key, 'resolves outside the root (symlink)');
      }
    }
  }

  private async fsCall<T>(key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new StorageNotFoundError(key);
      if (code === 'ELOOP') throw new StorageInvalidKeyError(key, 'symlink loop');
      if (err instanceof StorageError) throw err;
      throw new StorageUnavailableError(this.name, `${key}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0)
    throw new StorageConfigError(name, `LocalFsBackend ${name} must be a number >= 0, got ${value}`);
  return value;
}

/** `1.5 GiB`, `512 MiB`: for health details. */
function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
}

function inside(root: string, path: string): boolean {
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function infoOf(key: string, st: Stats): ObjectInfo {
  return {
    key,
    size: st.size,
    lastModified: st.mtime,
    etag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs * 1000).toString(16)}-${st.ino.toString(16)}"`,
    contentType: contentTypeFor(key),
  };
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
