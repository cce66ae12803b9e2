/**
 * Parses JSON as Synch's loader (.NET's JSON configuration provider) accepts it: a UTF-8 byte order mark,
 * `//` and `/* *\/` comments and trailing commas are allowed, so the `appsettings.json` from Synch's README
 * reads as written. Comments are blanked rather than removed, so JSON.parse's positions still point into the
 * file; an error says the line and column.
 */
export function parseLenientJson(text: string): unknown {
  const src = text.replace(/^\uFEFF/, '');
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && src[i + 1] === '/') {
      const end = src.indexOf('\n', i);
      const stop = end === -1 ? src.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end === -1 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  // A comma followed only by blanks before `}` or `]`.
  out = out.replace(/,(\s*[}\]])/g, ' $1');
  try {
    return JSON.parse(out);
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    if (!at) throw new Error(message);
    const pos = Number(at[1]);
    const before = out.slice(0, pos).split('\n');
    throw new Error(
      `${message.replace(/ in JSON at position \d+.*$/, '')} at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`,
    );
  }
}
