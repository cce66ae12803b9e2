import { describe, expect, it } from 'vitest';
import { readmeExamples } from '../../../scripts/readme-examples.js';

describe('README examples run as written', () => {
  const examples = readmeExamples(
    'esl',
    (code) => code.includes('FakeFreeSwitch.start') && code.startsWith('import'),
  );

  it('finds the runnable examples (inbound and outbound)', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  const expectations: Array<(log: unknown[][]) => void> = [
    (log) => expect(log).toContainEqual(['CHANNEL_ANSWER', 'abc']),
    (log) => expect(log).toContainEqual(['playback:', 'FILE PLAYED']),
  ];

  for (const [i, file] of examples.entries()) {
    it(`example ${i + 1}`, async () => {
      const log: unknown[][] = [];
      const original = console.log;
      console.log = (...args: unknown[]) => void log.push(args);
      try {
        await import(file);
      } finally {
        console.log = original;
      }
      expect(log.length).toBeGreaterThan(0);
      expectations[i]?.(log);
    });
  }
});
