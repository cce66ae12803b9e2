import { hasControlCharacter } from '../control-chars.js';
import { ConfigStoreError } from './errors.js';

/**
 * The files of one configuration version: relative paths (`/`-separated, so a FreeSWITCH tree keeps its
 * directories) to their text. An Asterisk sync has one to three entries, a FreeSWITCH config hundreds.
 */
export type ConfigFiles = Readonly<Record<string, string>>;

/**
 * The names of `files`, sorted, after checking each is a clean relative path: no leading `/`, no empty, `.` or
 * `..` segment, no backslash or control character, at most 255 bytes a segment; and that no name is also the
 * directory of another (`a` and `a/b`).
 */
export function checkedNames(files: ConfigFiles): string[] {
  const names = Object.keys(files).sort();
  for (const name of names) {
    const segments = name.split('/');
    const bad =
      name.length === 0 ||
      name.includes('\\') ||
      hasControlCharacter(name) ||
      segments.some((s) => s === '' || s === '.' || s === '..' || Buffer.byteLength(s) > 255);
    if (bad)
      throw new ConfigStoreError(
        'CONFIG_STORE_NAME',
        `not a clean relative file name: ${JSON.stringify(name)}`,
      );
    if (typeof files[name] !== 'string') {
      throw new ConfigStoreError(
        'CONFIG_STORE_NAME',
        `the content of ${JSON.stringify(name)} is not a string`,
      );
    }
  }
  const all = new Set(names);
  for (const name of names) {
    const segments = name.split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join('/');
      if (all.has(dir))
        throw new ConfigStoreError(
          'CONFIG_STORE_NAME',
          `${JSON.stringify(dir)} is both a file and a directory`,
        );
    }
  }
  return names;
}
