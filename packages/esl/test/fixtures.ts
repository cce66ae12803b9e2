import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR, fixture } from '../../../scripts/test-env.js';

/** Every `*.txt` (bytes FreeSWITCH sent) in the ESL fixtures, by name. */
export function eslStreams(): Array<{ name: string; bytes: Buffer }> {
  return readdirSync(join(FIXTURES_DIR, 'esl'))
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((name) => ({ name, bytes: fixture('esl', name) }));
}

export function eslFixture(name: string): Buffer {
  return fixture('esl', name);
}
