// Fails when a file of the repository points outside the checkout: a relative path that climbs above the
// repository root or an absolute path into the developers' workspace. A clone of the repository alone, as users
// get it, has nothing beside it, so such a read works on one machine only.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CODE = /\.(?:[cm]?[jt]s|tsx|sh|json|ya?ml)$/;
const SKIP = /^(?:fixtures\/|pnpm-lock\.yaml$)|(?:^|\/)node_modules\//;
// A run of `../` segments (in a string, a URL or a shell word), and absolute paths into the workspace.
const CLIMB = /(?:\.\.\/)+[\w.@-]*/g;
const ABSOLUTE = /(?:^|[\s'"`(=])(\/work\/[\w.-]+|[\w./-]*\bshared\/fixtures\b)/g;

const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f && !SKIP.test(f) && (CODE.test(f) || f === '.ci/run'));

const problems = [];
for (const file of files) {
  let text;
  try {
    text = readFileSync(join(root, file), 'utf8');
  } catch {
    continue; // deleted in the working tree but still in the index
  }
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    for (const match of line.matchAll(CLIMB)) {
      const target = resolve(root, dirname(file), match[0]);
      const inside = relative(root, target);
      if (inside.startsWith(`..${sep}`) || inside === '..') {
        problems.push(`${file}:${i + 1}: '${match[0]}' resolves outside the repository (${target})`);
      }
    }
    for (const match of line.matchAll(ABSOLUTE)) {
      problems.push(`${file}:${i + 1}: '${match[1].trim()}' names a path outside the repository`);
    }
  });
}

if (problems.length > 0) {
  console.error(
    `${problems.length} place(s) read outside the checkout; copy what they need into the repository:`,
  );
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`self-contained: ${files.length} files checked, none reads outside the checkout`);
