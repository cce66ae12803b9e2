import { describe, expect, it } from 'vitest';
import { consoleLogOfExample, readmeExamples } from '../../../scripts/readme-examples.js';

describe('README examples run as written', () => {
  const examples = readmeExamples(
    'esl',
    (code) => code.includes('FakeFreeSwitch.start') && code.startsWith('import'),
  );

  it('finds the runnable examples (inbound, outbound, cluster view, config pipeline)', () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
  });

  const expectations: Array<(log: unknown[][]) => void> = [
    (log) => expect(log).toContainEqual(['CHANNEL_ANSWER', 'abc']),
    (log) => expect(log).toContainEqual(['playback:', 'FILE PLAYED']),
    (log) => {
      expect(log).toContainEqual([['fs1']]);
      expect(log).toContainEqual(['agent-1@example.com', 'Available']);
      expect(log).toContainEqual([['fs1', 'fs2']]);
    },
    (log) =>
      expect(log).toContainEqual([2, ['directory/pbx.example.com/user/1000'], ['reloadxml → +OK [Success]']]),
  ];

  for (const [i, file] of examples.entries()) {
    it(`example ${i + 1}`, async () => {
      const log = await consoleLogOfExample(file);
      expect(log.length).toBeGreaterThan(0);
      expectations[i]?.(log);
    });
  }
});
