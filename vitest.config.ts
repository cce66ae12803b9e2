import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkg = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

// Tests import packages by their public names; point those names at the sources so tests need no build.
const alias = [
  { find: /^@pbxkit\/esl\/testing$/, replacement: pkg('esl/src/testing/index.ts') },
  { find: /^@pbxkit\/ami\/testing$/, replacement: pkg('ami/src/testing/index.ts') },
  { find: /^@pbxkit\/(core|esl|ami|cdr|storage)$/, replacement: pkg('$1/src/index.ts') },
];

// .ci/run sets PBXKIT_TEST_REPORT to a path to get machine-readable totals besides the usual output.
const report = process.env.PBXKIT_TEST_REPORT;

export default defineConfig({
  resolve: { alias },
  test: {
    globalSetup: ['./scripts/vitest-tmpdir.ts'],
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.int.test.ts', 'examples/*/test/**/*.int.test.ts'],
          // Integration tests start real servers and embedded PostgreSQL (PGlite), whose start alone took 10-50 s
          // on a 2-core machine at load 12-18: limits that fit that, with room. A test that hangs still fails.
          testTimeout: 90_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
