import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The ```ts blocks of a package README that are complete programs (they import what they use), written to
 * files whose `@pbxkit/*` imports point at the sources, so a test can import and run them as users would.
 */
export function readmeExamples(pkg: string, filter: (code: string) => boolean): string[] {
  const readme = readFileSync(join(root, 'packages', pkg, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const dir = join(root, 'node_modules', '.readme-examples', pkg);
  mkdirSync(dir, { recursive: true });
  // Each file is named by its block's place in the README, so that two tests filtering the same README (and
  // running at once) never write different examples to the same file.
  const selected = blocks.map((code, i) => ({ code, i })).filter(({ code }) => filter(code));
  return selected.map(({ code, i }) => {
    const rewritten = code
      .replace(
        /from '@pbxkit\/(\w+)\/testing'/g,
        (_m, p: string) => `from '${join(root, 'packages', p, 'src/testing/index.ts')}'`,
      )
      .replace(
        /from '@pbxkit\/(\w+)'/g,
        (_m, p: string) => `from '${join(root, 'packages', p, 'src/index.ts')}'`,
      );
    const file = join(dir, `example-${i}.ts`);
    writeFileSync(file, `${rewritten}\nexport {};\n`);
    return file;
  });
}

/** Imports (runs) an example file and resolves with what it printed through `console.log`, call by call. */
export async function consoleLogOfExample(file: string): Promise<unknown[][]> {
  const log: unknown[][] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => void log.push(args);
  try {
    await import(file);
  } finally {
    console.log = original;
  }
  return log;
}
