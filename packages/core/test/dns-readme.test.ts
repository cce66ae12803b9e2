import { describe, expect, it } from 'vitest';
import { readmeExamples } from '../../../scripts/readme-examples.js';

describe('README: the DNS responder example runs as written', () => {
  const [example] = readmeExamples('core', (code) => code.includes('new DnsResponder'));

  it('answers the SIP record, its SRV targets, and switches on setState', async () => {
    expect(example).toBeDefined();
    const log: unknown[][] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void log.push(args);
    try {
      await import(example as string);
    } finally {
      console.log = original;
    }
    expect(log).toContainEqual(['sip ->', ['192.0.2.10']]);
    expect(log).toContainEqual(['srv ->', ['main.branch.example.com', 'local.branch.example.com']]);
    expect(log).toContainEqual(['sip ->', ['192.168.1.10']]);
    expect(log.find((line) => line[0] === 'now answering')?.slice(1, 3)).toEqual([
      'failover',
      ['192.168.1.10'],
    ]);
  });
});
