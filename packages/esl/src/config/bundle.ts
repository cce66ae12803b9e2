import type { ConfigFiles } from '@pbxkit/core';

/** Where bundles and the asset manifest live inside a stored version (never written to the node). */
export const STORE_PREFIX = '.pbxkit/';
const BUNDLE_PREFIX = `${STORE_PREFIX}bundles/`;
const HEADER = /^==> (.+) \((\d+) lines?(, no newline at end)?\) <==$/;

/**
 * Packs a tree for the version store: a folder holding more than `threshold` files directly (a 10,000-user
 * directory) becomes one text file `.pbxkit/bundles/<folder>.txt` that lists each file under a
 * `==> name (N lines) <==` header, as `head` prints several files. A version then stays a few dozen files an
 * operator can `less` and `diff`, and recording it takes milliseconds rather than thousands of fsyncs.
 */
export function packFiles(files: ConfigFiles, threshold = 64): Record<string, string> {
  const byDir = new Map<string, string[]>();
  for (const name of Object.keys(files)) {
    const slash = name.lastIndexOf('/');
    const dir = slash === -1 ? '' : name.slice(0, slash);
    const list = byDir.get(dir);
    if (list) list.push(name);
    else byDir.set(dir, [name]);
  }
  const out: Record<string, string> = {};
  for (const [dir, names] of byDir) {
    if (names.length <= threshold || dir === '') {
      for (const n of names) out[n] = files[n] as string;
      continue;
    }
    const parts: string[] = [];
    for (const n of names.sort()) {
      const text = files[n] as string;
      const eol = text === '' || text.endsWith('\n');
      const body = text === '' ? [] : (eol ? text.slice(0, -1) : text).split('\n');
      parts.push(
        `==> ${n.slice(dir.length + 1)} (${body.length} lines${eol ? '' : ', no newline at end'}) <==`,
      );
      for (const line of body) parts.push(line);
    }
    out[`${BUNDLE_PREFIX}${dir}.txt`] = `${parts.join('\n')}\n`;
  }
  return out;
}

/** The tree {@link packFiles} packed (files under `.pbxkit/` other than bundles are left out). */
export function unpackFiles(stored: ConfigFiles): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(stored)) {
    if (!name.startsWith(STORE_PREFIX)) {
      out[name] = text;
      continue;
    }
    if (!name.startsWith(BUNDLE_PREFIX) || !name.endsWith('.txt')) continue;
    const dir = name.slice(BUNDLE_PREFIX.length, -'.txt'.length);
    const lines = text.split('\n');
    let i = 0;
    while (i < lines.length) {
      const m = HEADER.exec(lines[i] as string);
      i++;
      if (!m) continue;
      const count = Number(m[2]);
      const body = lines.slice(i, i + count).join('\n');
      i += count;
      out[`${dir}/${m[1]}`] = count === 0 ? '' : m[3] ? body : `${body}\n`;
    }
  }
  return out;
}
