import type { ByteRange } from '../backend.js';

/** What a `Range` header asks of an object of a given size. */
export type RangeRequest =
  /** No Range header, an unparseable one, or a unit other than bytes: serve the whole object (200). */
  | { kind: 'none' }
  /** Satisfiable ranges, clamped to the object, in request order (206). */
  | { kind: 'ranges'; ranges: ByteRange[] }
  /** Syntactically valid, but no range overlaps the object (416). */
  | { kind: 'unsatisfiable' };

/**
 * Parses an HTTP `Range` header (RFC 9110 §14.1.2) against an object of `size` bytes: `bytes=0-499`,
 * open `bytes=500-`, suffix `bytes=-500` (the last 500 bytes), and lists of them. Ranges that start past the end
 * are dropped; ends past the end are clamped; if none is left the request is unsatisfiable. A malformed header
 * is ignored (`none`), as the RFC says.
 */
export function parseRange(header: string | undefined, size: number, maxRanges = 16): RangeRequest {
  if (header === undefined) return { kind: 'none' };
  const match = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!match) return { kind: 'none' };
  const specs = (match[1] as string).split(',').map((s) => s.trim());
  if (specs.length === 0 || specs.length > maxRanges) return { kind: 'none' };
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    if (spec === '') continue; // RFC allows empty list elements
    const m = /^(\d*)\s*-\s*(\d*)$/.exec(spec);
    if (!m) return { kind: 'none' };
    const [, first, last] = m as unknown as [string, string, string];
    if (first === '' && last === '') return { kind: 'none' };
    if (first === '') {
      // suffix: the last N bytes
      const n = Number(last);
      if (!Number.isSafeInteger(n)) return { kind: 'none' };
      if (n === 0 || size === 0) continue;
      ranges.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === '' ? Number.MAX_SAFE_INTEGER : Number(last);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return { kind: 'none' };
    if (end < start) return { kind: 'none' };
    if (start >= size) continue;
    ranges.push({ start, end: Math.min(end, size - 1) });
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  return { kind: 'ranges', ranges: coalesce(ranges) };
}

/** Merges overlapping or adjacent ranges when there are several (keeps a single range as it is). */
function coalesce(ranges: ByteRange[]): ByteRange[] {
  if (ranges.length < 2) return ranges;
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [{ ...(sorted[0] as ByteRange) }];
  for (const r of sorted.slice(1)) {
    const last = out[out.length - 1] as ByteRange;
    if (r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}
