import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { FIXTURES_DIR } from '../../../scripts/test-env.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('README: the mod_cdr_csv example', () => {
  it('runs against a real Master.csv and prints each caller', async () => {
    const readme = readFileSync(join(root, 'packages/cdr/README.md'), 'utf8');
    const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
      .map((m) => m[1] as string)
      .find((code) => code.includes('new CsvCdrReader('));
    if (!block) throw new Error('README has no CsvCdrReader example');
    // The example's paths are a node's; here they are the captured files of a real node.
    const code = block
      .replace(
        '/etc/freeswitch/autoload_configs/cdr_csv.conf.xml',
        join(FIXTURES_DIR, 'fs-modules/config/cdr_csv.conf.xml'),
      )
      .replace(
        '/var/log/freeswitch/cdr-csv/Master.csv',
        join(FIXTURES_DIR, 'fs-modules/cdr_csv/Master.csv.2026-12-02-06-43-31'),
      )
      .replace("from '@pbxkit/cdr'", `from '${join(root, 'packages/cdr/src/index.ts')}'`);
    const dir = join(root, 'node_modules', '.readme-examples', 'cdr-csv');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'reader.mts');
    writeFileSync(file, `${code}\nexport {};\n`);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await import(file);
      expect(log).toHaveBeenCalledTimes(22);
      expect(log.mock.calls[0]).toEqual(['Alice Example']);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      log.mockRestore();
      warn.mockRestore();
    }
  });
});
