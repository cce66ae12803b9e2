import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

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
