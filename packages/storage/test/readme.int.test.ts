import { describe, expect, it, vi } from 'vitest';
import { readmeExamples } from '../../../scripts/readme-examples.js';

describe('README examples run as written', () => {
  const examples = readmeExamples('storage', (code) => code.startsWith('// Runs as is.'));

  it('finds the runnable examples', () => {
    expect(examples).toHaveLength(4);
  });

  const expectations: Array<(log: unknown[][]) => void> = [
    (log) => {
      expect(log[0]).toEqual([206, 'bytes 16-19/20', 'data']);
      expect(log[1]?.[0]).toBe(404);
      expect(log[1]?.[1]).toMatchObject({ error: 'not_found' });
    },
    (log) => {
      expect(log).toEqual([
        [1, []],
        ['archive', 16],
      ]);
    },
    (log) => {
      expect(log).toEqual([
        [401],
        [206, 'data'],
        [403],
        ['attachment; filename="5c7b0f0e-1111-4222-8333-444455556666.wav"'],
      ]);
    },
    (log) => {
      expect(log).toEqual([[1], ['RIFF....WAVE a voicemail'], [206, 'voicemail'], [404]]);
    },
  ];

  examples.forEach((file, i) => {
    it(`example ${i + 1} prints what the README says`, async () => {
      const log: unknown[][] = [];
      const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
        log.push(args);
      });
      try {
        await import(file);
      } finally {
        spy.mockRestore();
      }
      expectations[i]?.(log);
    });
  });
});
