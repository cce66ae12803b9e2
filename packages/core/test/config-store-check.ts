import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { expect } from 'vitest';

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}

/**
 * Checks a store directory as a crash left it (before `open()` cleans up): every numbered directory is a whole
 * version (its `version.json`, exactly the files it lists with their checksums, its `changes.diff`). Returns
 * the version numbers and how many hidden leftovers (`.tmp-*`, `.trash-*`) there are.
 */
export async function checkWhole(dir: string): Promise<{ versions: number[]; leftovers: number }> {
  const names = await readdir(dir);
  const versions: number[] = [];
  for (const name of names.filter((n) => /^\d+$/.test(n))) {
    const meta = JSON.parse(await readFile(join(dir, name, 'version.json'), 'utf8')) as {
      version: number;
      files: Record<string, { bytes: number; sha256: string }>;
    };
    expect(meta.version).toBe(Number(name));
    const files = join(dir, name, 'files');
    const onDisk = (await walk(files)).map((p) => relative(files, p)).sort();
    expect(onDisk).toEqual(Object.keys(meta.files).sort());
    for (const [file, info] of Object.entries(meta.files)) {
      const bytes = await readFile(join(files, file));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(info.sha256);
    }
    expect((await stat(join(dir, name, 'changes.diff'))).isFile()).toBe(true);
    versions.push(meta.version);
  }
  return {
    versions: versions.sort((a, b) => a - b),
    leftovers: names.filter((n) => n.startsWith('.')).length,
  };
}
