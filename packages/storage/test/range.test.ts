import { describe, expect, it } from 'vitest';
import { parseRange } from '../src/index.js';

describe('parseRange', () => {
  const size = 1000;
  it.each([
    ['bytes=0-499', [{ start: 0, end: 499 }]],
    ['bytes=500-', [{ start: 500, end: 999 }]],
    ['bytes=-500', [{ start: 500, end: 999 }]],
    ['bytes=-5000', [{ start: 0, end: 999 }]],
    ['bytes=990-5000', [{ start: 990, end: 999 }]],
    ['bytes=999-999', [{ start: 999, end: 999 }]],
    ['Bytes = 0-0', [{ start: 0, end: 0 }]],
    [
      'bytes=0-9, 20-29',
      [
        { start: 0, end: 9 },
        { start: 20, end: 29 },
      ],
    ],
    ['bytes=0-9,10-19,5-12', [{ start: 0, end: 19 }]],
    ['bytes=0-9,2000-3000', [{ start: 0, end: 9 }]],
  ])('%s', (header, ranges) => {
    expect(parseRange(header, size)).toEqual({ kind: 'ranges', ranges });
  });

  it.each(['bytes=1000-', 'bytes=1000-2000', 'bytes=-0', 'bytes=2000-,3000-3001'])(
    '%s is unsatisfiable',
    (header) => {
      expect(parseRange(header, size)).toEqual({ kind: 'unsatisfiable' });
    },
  );

  it.each([
    undefined,
    'items=0-9',
    'bytes=',
    'bytes=a-b',
    'bytes=9-0',
    'bytes=-',
    'bytes=1-2-3',
    'bytes 0-9',
  ])('%s is ignored (whole object)', (header) => {
    expect(parseRange(header, size)).toEqual({ kind: 'none' });
  });

  it('treats any range of an empty object as unsatisfiable', () => {
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-10', 0)).toEqual({ kind: 'unsatisfiable' });
  });

  it('ignores absurdly many ranges', () => {
    const many = `bytes=${Array.from({ length: 40 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',')}`;
    expect(parseRange(many, size)).toEqual({ kind: 'none' });
  });
});
