import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The real Asterisk 22.10.1 captures in the repository's `fixtures/ami` (see fixtures/README.md). */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../fixtures/ami/', import.meta.url));

/** Bytes Asterisk sent in capture `name` (without extension), banner first. */
export function rx(name: string): Buffer {
  return readFileSync(`${FIXTURES_DIR}${name}.rx`);
}

/** Bytes the client sent in capture `name`. */
export function tx(name: string): Buffer {
  return readFileSync(`${FIXTURES_DIR}${name}.tx`);
}

/** Names of every capture, sorted. */
export function fixtureNames(): string[] {
  return readdirSync(FIXTURES_DIR)
    .filter((f) => f.endsWith('.rx'))
    .map((f) => f.slice(0, -3))
    .sort();
}
