// Builds the web console into dist/console/: one minified ES module and one stylesheet, named by their content's
// hash (served with a one-year cache), and index.html pointing at them. No CDN, nothing fetched at run time.
// `--if-missing` builds only when dist/console/index.html is absent (what `pnpm start` runs).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web');
const out = join(root, 'dist', 'console');

if (process.argv.includes('--if-missing') && existsSync(join(out, 'index.html'))) process.exit(0);

const started = performance.now();
const result = await build({
  entryPoints: [join(web, 'src', 'main.ts')],
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  write: false,
  legalComments: 'none',
});
const js = result.outputFiles[0].contents;
const css = await readFile(join(web, 'styles.css'));
const hash = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 12);
const jsName = `app-${hash(js)}.js`;
const cssName = `app-${hash(css)}.css`;
const html = (await readFile(join(web, 'index.html'), 'utf8'))
  .replace('%JS%', jsName)
  .replace('%CSS%', cssName);

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'assets'), { recursive: true });
await writeFile(join(out, 'assets', jsName), js);
await writeFile(join(out, 'assets', cssName), css);
await writeFile(join(out, 'index.html'), html);
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `console built in ${Math.round(performance.now() - started)} ms: ${jsName} ${kb(js.length)}, ${cssName} ${kb(css.length)} -> ${out}`,
);
