import type { ConfCategory } from './conf-category.js';
import type { ConfFile } from './conf-file.js';
import { nameValue, strsepAll } from './strsep.js';

function compile(source: string): RegExp | undefined {
  try {
    return new RegExp(source);
  } catch {
    return undefined;
  }
}

/**
 * Whether `category` passes `filter`, as main/config.c's `does_category_match` decides: the filter is
 * `name_regex=value_regex[,...]`, each term matched by some variable of the category (inherited ones
 * included). A template passes only when a `TEMPLATES=include` term lets it (`TEMPLATES=restrict` lets only
 * templates pass); an empty filter passes every category that is not a template. A term without `=`, a
 * regex that does not compile or another `TEMPLATES=` value makes the category fail.
 */
export function categoryMatches(category: ConfCategory, filter: string | undefined): boolean {
  if (filter === undefined || filter === '') return !category.isTemplate;
  let templateOk = false;
  for (const term of strsepAll(filter, ',')) {
    const { name, value } = nameValue(term);
    if (value === undefined) return false;
    if (name === 'TEMPLATES') {
      const mode = value.toLowerCase();
      if (mode === 'include') templateOk ||= category.isTemplate;
      else if (mode === 'restrict' && category.isTemplate) templateOk = true;
      else return false;
      continue;
    }
    const nameRe = compile(name);
    const valueRe = compile(value);
    if (!nameRe || !valueRe) return false;
    if (!category.variables.some((v) => nameRe.test(v.key) && valueRe.test(v.value))) return false;
  }
  return !category.isTemplate || templateOk;
}

/**
 * The categories `GetConfig`/`UpdateConfig` act on: those named `name` (any name if empty, case-insensitive)
 * that pass `filter` (see {@link categoryMatches}). Templates are skipped unless the filter says
 * `TEMPLATES=include` (`TEMPLATES=restrict`: only templates), which is why `GetConfig` shows no template
 * without it.
 */
export function selectCategories(
  conf: ConfFile,
  name: string | undefined,
  filter: string | undefined,
): ConfCategory[] {
  const lower = name?.toLowerCase() ?? '';
  return conf.categories.filter(
    (c) => (lower === '' || c.name.toLowerCase() === lower) && categoryMatches(c, filter),
  );
}
