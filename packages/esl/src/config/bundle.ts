import type { ConfigFiles } from '@pbxkit/core';

/** Where bundles and the asset manifest live inside a stored version (never written to the node). */
export const STORE_PREFIX = '.pbxkit/';
const BUNDLE_PREFIX = `${STORE_PREFIX}bundles/`;
const HEADER = /^==> (.+) \((\d+) lines?(, no newline at end)?\) <==$/;

/** Buckets of a large folder: a one-file change rewrites and diffs one bucket of about 1/64 of the folder. */
const BUCKETS = 64;

/**
 * Packs a tree for the version store: a folder holding more than `threshold` files directly (a 10,000-user
 * directory) becomes 64 text files `.pbxkit/bundles/<folder>/<nn>.txt` (each file goes to the bucket its name
 * hashes to, so adding a user changes one bucket) that list their files under `==> name (N lines) <==`
 * headers, as `head` prints several files. A version then stays a few dozen files an operator can `less` and
 * `diff`, and recording it takes milliseconds rather than thousands of fsyncs. Use one {@link StorePacker}
 * to pack successive versions: it keeps each file's packed text.
 */
export class StorePacker {
  private readonly pieces = new Map<string, { text: string; piece: string }>();

  constructor(private readonly threshold = 64) {}

  pack(files: ConfigFiles): Record<string, string> {
    const byDir = new Map<string, string[]>();
    for (const name of Object.keys(files)) {
      const slash = name.lastIndexOf('/');
      const dir = slash === -1 ? '' : name.slice(0, slash);
      const list = byDir.get(dir);
      if (list) list.push(name);
      else byDir.set(dir, [name]);
    }
    const out: Record<string, string> = {};
    const seen = new Set<string>();
    for (const [dir, names] of byDir) {
      if (names.length <= this.threshold || dir === '') {
        for (const n of names) out[n] = files[n] as string;
        continue;
      }
      const buckets: string[][] = Array.from({ length: BUCKETS }, () => []);
      for (const n of names.sort()) {
        seen.add(n);
        (buckets[fnv1a(n) % BUCKETS] as string[]).push(
          this.piece(n, n.slice(dir.length + 1), files[n] as string),
        );
      }
      buckets.forEach((pieces, i) => {
        if (pieces.length) out[`${BUNDLE_PREFIX}${dir}/${String(i).padStart(2, '0')}.txt`] = pieces.join('');
      });
    }
    for (const name of this.pieces.keys()) if (!seen.has(name)) this.pieces.delete(name);
    return out;
  }

  private piece(name: string, base: string, text: string): string {
    const cached = this.pieces.get(name);
    if (cached && cached.text === text) return cached.piece;
    const eol = text === '' || text.endsWith('\n');
    const body = text === '' ? '' : eol ? text : `${text}\n`;
    const lines = text === '' ? 0 : body.split('\n').length - 1;
    const piece = `==> ${base} (${lines} lines${eol ? '' : ', no newline at end'}) <==\n${body}`;
    this.pieces.set(name, { text, piece });
    return piece;
  }
}

/** {@link StorePacker.pack} without keeping anything between calls. */
export function packFiles(files: ConfigFiles, threshold = 64): Record<string, string> {
  return new StorePacker(threshold).pack(files);
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
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
    const dir = name.slice(BUNDLE_PREFIX.length, name.lastIndexOf('/'));
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
