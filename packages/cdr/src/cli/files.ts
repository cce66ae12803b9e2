import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** True for the names FreeSWITCH gives CDR files (`[a_]<uuid>.cdr.xml`), and plain `.xml` files. */
export function isCdrFileName(name: string): boolean {
  return name.endsWith('.cdr.xml') || name.endsWith('.xml');
}

/**
 * The CDR files under the given paths: files as given, directories walked recursively (skipping hidden
 * entries), sorted for a stable order.
 */
export async function collectCdrFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const info = await stat(path);
    if (info.isFile()) {
      out.push(path);
      return;
    }
    if (!info.isDirectory()) return;
    const entries = await readdir(path, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && isCdrFileName(entry.name)) out.push(full);
    }
  };
  for (const path of paths) await walk(path);
  return out.sort();
}
