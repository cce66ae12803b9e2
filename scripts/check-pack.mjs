// Checks that `npm pack --dry-run` of every package lists only its build output, README, licence and
// package.json: nothing from src/, tests or configs leaks into what users install.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const allowed = (path) =>
  path === 'package.json' || path === 'README.md' || path === 'LICENSE' || path.startsWith('dist/');
let failed = false;
for (const name of readdirSync('packages')) {
  const dir = join('packages', name);
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [report] = JSON.parse(out);
  const files = report.files.map((f) => f.path);
  const stray = files.filter((f) => !allowed(f));
  const missing = [
    'package.json',
    'README.md',
    'LICENSE',
    'dist/index.js',
    'dist/index.cjs',
    'dist/index.d.ts',
    'dist/index.d.cts',
  ].filter((f) => !files.includes(f));
  if (stray.length || missing.length) {
    failed = true;
    console.error(`${report.name}: stray ${JSON.stringify(stray)} missing ${JSON.stringify(missing)}`);
  } else {
    // Both builds load and export the same names.
    const cjs = Object.keys(createRequire(import.meta.url)(resolve(dir, 'dist/index.cjs'))).sort();
    const esm = Object.keys(await import(pathToFileURL(resolve(dir, 'dist/index.js')).href)).sort();
    if (JSON.stringify(cjs) !== JSON.stringify(esm)) {
      failed = true;
      console.error(`${report.name}: CJS exports ${cjs} differ from ESM exports ${esm}`);
    }
    console.log(`${report.name}@${report.version}: ${files.length} files, ${report.size} bytes packed`);
  }
}
process.exit(failed ? 1 : 0);
