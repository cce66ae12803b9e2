import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Creates `path` (which must not exist) with `data`, flushes it to disk (unless `fsync` is false) and closes
 * it. On failure the partial file is left for the caller's clean-up (it is inside a temporary directory or
 * name the caller owns).
 */
export async function writeNewFileSynced(
  path: string,
  data: string | Uint8Array,
  fsync = true,
): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    if (fsync) await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs a directory, so that the names created, renamed or removed in it survive a crash of the machine. */
export async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` with `data` so that a reader (or a crash) sees the old file or the new one, never a part:
 * writes a hidden temporary file beside it, fsyncs it, renames it over `path`, fsyncs the directory. Keeps
 * the old file's mode when there is one (a PBX config readable by the PBX's user stays so).
 */
export async function replaceFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { fsync?: boolean; mode?: number } = {},
): Promise<void> {
  const fsync = options.fsync ?? true;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const mode =
    options.mode ??
    (await stat(path).then(
      (s) => s.mode & 0o7777,
      () => 0o644,
    ));
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      if (fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (fsync) await fsyncDirectory(dir);
}
