import type { ConfCategory } from './conf-category.js';
import type { ConfFile } from './conf-file.js';

/**
 * The categories `GetConfig`/`UpdateConfig` act on: those named `name` (any name if empty) that pass
 * `filter`, Asterisk's `name_regex=value_regex[,...]` where each pair must match some variable.
 * Templates are skipped unless the filter says `TEMPLATES=include` (`TEMPLATES=restrict`: only templates),
 * which is why `GetConfig` shows no template without it.
 */
export function selectCategories(
  conf: ConfFile,
  name: string | undefined,
  filter: string | undefined,
): ConfCategory[] {
  const lower = name?.toLowerCase() ?? '';
  let templates: 'exclude' | 'include' | 'restrict' = 'exclude';
  const pairs: Array<[RegExp, RegExp]> = [];
  for (const part of (filter ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k.toUpperCase() === 'TEMPLATES') {
      const mode = v.toLowerCase();
      if (mode === 'include' || mode === 'restrict') templates = mode;
      continue;
    }
    try {
      pairs.push([new RegExp(k), new RegExp(v)]);
    } catch {
      // Asterisk ignores a filter whose regex does not compile.
    }
  }
  return conf.categories.filter((c) => {
    if (lower !== '' && c.name.toLowerCase() !== lower) return false;
    if (c.isTemplate && templates === 'exclude') return false;
    if (!c.isTemplate && templates === 'restrict') return false;
    return pairs.every(([k, v]) => c.variables.some((line) => k.test(line.key) && v.test(line.value)));
  });
}
