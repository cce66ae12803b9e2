import { describe, expect, it } from 'vitest';
import { consoleLogOfExample, readmeExamples } from '../../../scripts/readme-examples.js';

describe('README: the push webhook example runs as written', () => {
  const [example] = readmeExamples('core', (code) => code.includes('new PushWebhook'));

  // Importing the example transforms core's sources: seconds on a loaded machine.
  it('verifies a signed delivery, then ignores it replayed', { timeout: 60_000 }, async () => {
    expect(await consoleLogOfExample(example as string)).toEqual([['push'], ['ignored']]);
  });
});
