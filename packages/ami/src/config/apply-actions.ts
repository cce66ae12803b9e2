import { selectCategories } from './category-filter.js';
import { ConfCategory } from './conf-category.js';
import type { ConfFile } from './conf-file.js';
import { ConfVariable } from './conf-lines.js';
import { inheritedLines } from './inheritance.js';
import { type ConfigAction, inheritNames } from './update-actions.js';

/** Thrown by {@link applyConfigActions} with the `Message` Asterisk answers for the same failure. */
export class ConfigActionFailure extends Error {}

function lowerEq(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

// Without a catfilter Asterisk skips templates here too: changing one needs `catfilter: 'TEMPLATES=include'`.
function targets(conf: ConfFile, a: ConfigAction & { catfilter?: string }): ConfCategory[] {
  return selectCategories(conf, a.category, a.catfilter);
}

function updateVariable(category: ConfCategory, a: Extract<ConfigAction, { action: 'Update' }>): boolean {
  const match = category.variables.filter(
    (v) => lowerEq(v.key, a.key) && (a.match === undefined || a.match === '' || lowerEq(v.value, a.match)),
  );
  // config.c's ast_variable_update replaces the first matching line, inherited ones included.
  const first = match[0];
  if (!first) return false;
  first.value = a.value;
  first.object ||= a.object ?? false;
  return true;
}

function deleteVariables(category: ConfCategory, a: Extract<ConfigAction, { action: 'Delete' }>): boolean {
  let index = -1;
  let removed = false;
  category.lines = category.lines.filter((line) => {
    if (line.kind !== 'variable') return true;
    index++;
    const hit =
      a.line !== undefined
        ? index === a.line
        : a.key !== undefined && lowerEq(line.key, a.key) && (!a.match || lowerEq(line.value, a.match));
    if (hit) removed = true;
    return !hit;
  });
  return removed;
}

function insertVariable(category: ConfCategory, line: ConfVariable, at: number): void {
  // Asterisk reads the position with sscanf and inserts nothing when it is not a number.
  if (Number.isNaN(at)) return;
  const variables = category.variables;
  if (at <= 0 || variables.length === 0) {
    const first = variables[0];
    category.lines.splice(first ? category.lines.indexOf(first) : category.lines.length, 0, line);
    return;
  }
  const after = variables[Math.min(at, variables.length) - 1] as ConfVariable;
  category.lines.splice(category.lines.indexOf(after) + 1, 0, line);
}

/**
 * Applies `UpdateConfig` changes to a {@link ConfFile} in place, with Asterisk's semantics (`Update` changes
 * the first matching line, `Delete` removes every matching line, line positions count every variable,
 * category names compare case-insensitively, templates are reached only through a `catfilter` with
 * `TEMPLATES=include`). Asterisk applies them to the file as loaded, inherited lines included: use a file
 * from `getConfig` or `ConfFile.withInheritance()` for the same result. A new category inheriting templates
 * gets their lines, marked inherited. Use it to preview a change locally; `FakeAsterisk` uses it to serve
 * `UpdateConfig`. Throws {@link ConfigActionFailure} carrying Asterisk's error message; the file may then be
 * partly changed.
 */
export function applyConfigActions(conf: ConfFile, actions: readonly ConfigAction[]): void {
  for (const a of actions) {
    if (a.action === 'NewCat') {
      if (!a.allowDuplicates && conf.category(a.category)) {
        if (a.ignoreError) continue;
        throw new ConfigActionFailure('Create category did not complete successfully');
      }
      // Asterisk looks each one up with TEMPLATES=restrict: only a template will do.
      const templates = inheritNames(a.inherit).map((name) => {
        const found = selectCategories(conf, name, 'TEMPLATES=restrict')[0];
        if (!found) throw new ConfigActionFailure('Template category not found');
        return found;
      });
      const category = new ConfCategory(a.category, {
        isTemplate: a.template,
        templates: templates.map((t) => t.name),
      });
      category.lines.push(...inheritedLines(templates));
      if (a.before) {
        const at = conf.categories.findIndex((c) => lowerEq(c.name, a.before as string));
        if (at === -1) throw new ConfigActionFailure('Create category did not complete successfully');
        conf.categories.splice(at, 0, category);
      } else {
        conf.categories.push(category);
      }
      continue;
    }
    const found = targets(conf, a);
    if (found.length === 0) {
      if (a.action === 'DelCat' && a.ignoreError) continue;
      throw new ConfigActionFailure('Given category does not exist');
    }
    switch (a.action) {
      case 'RenameCat':
        for (const c of found) c.name = a.newName;
        break;
      case 'DelCat':
        conf.categories = conf.categories.filter((c) => !found.includes(c));
        break;
      case 'EmptyCat':
        for (const c of found) c.lines = [];
        break;
      case 'Update': {
        const hits = found.map((c) => updateVariable(c, a));
        if (!hits.includes(true)) throw new ConfigActionFailure('Update did not complete successfully');
        break;
      }
      case 'Delete': {
        const hits = found.map((c) => deleteVariables(c, a));
        if (!hits.includes(true) && !a.ignoreError) {
          throw new ConfigActionFailure('Update did not complete successfully');
        }
        break;
      }
      case 'Append':
        for (const c of found) c.add(a.key, a.value, { object: a.object });
        break;
      case 'Insert':
        for (const c of found) insertVariable(c, new ConfVariable(a.key, a.value), a.line);
        break;
    }
  }
}
