import { constants } from 'node:fs';
import { type FileHandle, open, readdir, rename, unlink } from 'node:fs/promises';

/**
 * fsyncs a directory, so that the names created, renamed or removed in it survive a crash of the machine.
 * Concurrent callers share the work: a caller waits for an fsync that *started after* it asked (the one in
 * flight may have begun before its rename), and everyone who asked while one was running shares the next one.
 */
export class DirSyncer {
  private current: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private handle: Promise<FileHandle> | undefined;

  constructor(
    readonly dir: string,
    private readonly enabled = true,
  ) {}

  sync(): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    if (!this.current) return this.start();
    if (!this.next) {
      const after = (): Promise<void> => {
        this.next = undefined;
        return this.start();
      };
      this.next = this.current.then(after, after);
    }
    return this.next;
  }

  /** Closes the directory handle kept open between fsyncs. */
  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }

  private async fsyncDir(): Promise<void> {
    // One handle for the directory's lifetime: an fsync is then one system call, not open + fsync + close.
    this.handle ??= open(this.dir, constants.O_RDONLY);
    const handle = this.handle;
    try {
      await (await handle).sync();
    } catch (err) {
      // Open again next time; close this one if it did open (its sync failed), or it would leak.
      if (this.handle === handle) this.handle = undefined;
      void handle.then((h) => h.close()).catch(() => {});
      throw err;
    }
  }

  private start(): Promise<void> {
    const run = this.fsyncDir().finally(() => {
      if (this.current === run) this.current = undefined;
    });
    this.current = run;
    return run;
  }
}

/** fsync of a file or directory by path. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to a new file `tmpPath` (which must not exist), fsyncs it (unless `fsync` is false) and
 * closes it. The caller then renames or links it into place.
 */
export async function writeSynced(tmpPath: string, data: string | Buffer, fsync: boolean) {
  const handle = await open(tmpPath, 'wx', 0o640);
  try {
    await handle.writeFile(data);
    if (fsync) await handle.datasync();
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(tmpPath).catch(() => {});
    throw err;
  }
  await handle.close();
}

/**
 * Durably creates `finalPath` with `data`: temp file, write, fsync the file, rename into place, fsync the
 * directory (through `dirSync`). Resolves only when the new name would survive a power loss.
 */
export async function writeDurably(
  tmpPath: string,
  finalPath: string,
  data: string | Buffer,
  dirSync: DirSyncer,
  fsync: boolean,
): Promise<void> {
  await writeSynced(tmpPath, data, fsync);
  try {
    await rename(tmpPath, finalPath);
  } catch (err) {
    await unlink(tmpPath).catch(() => {});
    throw err;
  }
  await dirSync.sync();
}

/** True for the error of a file or directory that does not exist. */
export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** The names in `dir` that end with `suffix`, without it, sorted; `[]` when `dir` does not exist. */
export async function listNames(dir: string, suffix: string): Promise<string[]> {
  try {
    const names = await readdir(dir);
    return names
      .filter((n) => n.endsWith(suffix))
      .map((n) => n.slice(0, n.length - suffix.length))
      .sort();
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}
