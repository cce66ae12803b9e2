import { describe, expect, it, vi } from 'vitest';
import { readmeExamples } from '../../../scripts/readme-examples.js';

describe('README examples run as written', () => {
  const examples = readmeExamples('core', (code) => code.startsWith('// Runs as is.'));

  it('finds the runnable example', () => {
    expect(examples).toHaveLength(1);
  });

  it('the SQL client and error reporting example prints what the README says', async () => {
    const log: unknown[][] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      log.push(args);
    });
    try {
      await import(examples[0] as string);
    } finally {
      spy.mockRestore();
    }
    expect(log).toEqual([[8], [{ component: 'importer' }, 1]]);
  });
});
