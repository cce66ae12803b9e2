import { constants } from 'node:fs';
import { copyFile, link, open, unlink } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { PbxkitError } from '@pbxkit/core';
import { errorCode } from '../sink-errors.js';

/** `name` with `.n` before its extension (`a_<uuid>.cdr.xml` → `a_<uuid>.2.cdr.xml`), so it stays a CDR file. */
export function numberedName(name: string, n: number): string {
  const ext = name.endsWith('.cdr.xml') ? '.cdr.xml' : extname(name);
  return `${name.slice(0, name.length - ext.length)}.${n}${ext}`;
}

/** Codes of a hard link the file system or the source file does not allow: copy instead. */
const NO_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/** The move of a delivered file failed; the file is where it was. */
export class MoveAsideError extends PbxkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CDR_MOVE_ASIDE', message, options);
  }
}

/**
 * Moves `file` into `dir` under its own name, or `name.1.cdr.xml`, `name.2.cdr.xml`, ... when that is taken,
 * so that two files of one name (from two directories, or an earlier run) never replace each other. The new
 * name is created without ever replacing a file (a hard link, or an exclusive copy that is fsynced when the
 * link is not possible: another file system, a file system without links), then the original is removed; if
 * that fails (a read-only directory) the new name is removed again and nothing has changed. `taken` holds the
 * names this run gave out (several files move at once). Resolves with the new path.
 */
export async function moveAside(file: string, dir: string, taken: Set<string>): Promise<string> {
  const name = basename(file);
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? name : numberedName(name, n);
    if (taken.has(candidate)) continue;
    taken.add(candidate);
    const target = join(dir, candidate);
    try {
      await link(file, target);
    } catch (err) {
      if (errorCode(err) === 'EEXIST') continue;
      if (!NO_LINK.has(errorCode(err) ?? '')) {
        taken.delete(candidate);
        throw new MoveAsideError(`could not create ${target}: ${(err as Error).message}`, { cause: err });
      }
      try {
        await copyDurably(file, target);
      } catch (copyErr) {
        if (errorCode(copyErr) === 'EEXIST') continue;
        taken.delete(candidate);
        throw new MoveAsideError(`could not copy it to ${target}: ${(copyErr as Error).message}`, {
          cause: copyErr,
        });
      }
    }
    try {
      await unlink(file);
    } catch (err) {
      await unlink(target).catch(() => {});
      taken.delete(candidate);
      throw new MoveAsideError(`could not remove it from its directory: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return target;
  }
}

/** Copies `from` to a new file `to` (never replacing one) and fsyncs it before the original may go. */
async function copyDurably(from: string, to: string): Promise<void> {
  await copyFile(from, to, constants.COPYFILE_EXCL);
  try {
    const handle = await open(to, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await unlink(to).catch(() => {});
    throw err;
  }
}
