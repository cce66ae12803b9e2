import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDirectory } from '@pbxkit/core';

/** A file to put in place: text, the path of a file to copy, or `undefined` to delete it. */
export type TreeChange = { text: string } | { copyFrom: string } | undefined;

/**
 * Writes a set of changes into `root` so that the switch is as short as it can be: every new content goes to
 * a hidden temporary file beside its target first (flushed when `fsync`), and only when all are written are
 * they renamed over their targets (each rename atomic) and the deletions done. A failure while writing
 * leaves the tree untouched (the temporary files are removed).
 */
export async function writeTree(
  root: string,
  changes: ReadonlyMap<string, TreeChange>,
  fsync: boolean,
): Promise<void> {
  const staged: Array<[tmp: string, target: string]> = [];
  const dirs = new Set<string>();
  try {
    for (const [name, change] of changes) {
      if (!change) continue;
      const target = join(root, name);
      const dir = dirname(target);
      if (!dirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        dirs.add(dir);
      }
      const tmp = join(dir, `.${basename(target)}.pbxkit-${randomBytes(4).toString('hex')}`);
      staged.push([tmp, target]);
      if ('text' in change) {
        const handle = await open(tmp, 'wx', 0o644);
        try {
          await handle.writeFile(change.text);
          if (fsync) await handle.sync();
        } finally {
          await handle.close();
        }
      } else {
        await copyFile(change.copyFrom, tmp);
        if (fsync) {
          const handle = await open(tmp, 'r');
          await handle.sync().finally(() => handle.close());
        }
      }
    }
  } catch (err) {
    await Promise.all(staged.map(([tmp]) => rm(tmp, { force: true })));
    throw err;
  }
  for (const [tmp, target] of staged) await rename(tmp, target);
  for (const [name, change] of changes) {
    if (change) continue;
    await rm(join(root, name), { force: true });
    dirs.add(dirname(join(root, name)));
  }
  if (fsync) for (const dir of dirs) await fsyncDirectory(dir);
}
