import { AmiConfigParseError } from '../errors.js';
import type { ConfCategory } from './conf-category.js';
import { type ConfLine, ConfVariable } from './conf-lines.js';

/** A copy of `line` marked as inherited from `template` (Asterisk's `ast_category_inherit` clones). */
export function inheritedCopy(line: ConfVariable, template: string): ConfVariable {
  return new ConfVariable(line.key, line.value, { object: line.object, inheritedFrom: template });
}

/** The lines `category` gets from `templates` (each template's variables, inherited ones included), in order. */
export function inheritedLines(templates: readonly ConfCategory[]): ConfVariable[] {
  return templates.flatMap((t) => t.variables.map((v) => inheritedCopy(v, t.name)));
}

/**
 * Marks the lines of `categories` (read from `GetConfig`) that came from their templates. Asterisk copies each
 * template's lines, in template order, to the start of the category; a `+=` in the category rewrites such a
 * copy in place. So the category's first lines are matched one for one against its templates' lines: an
 * equal line is inherited, a different one (an override written over it) the category's own. `lookup` gives
 * a template by name; a category whose template it does not know is left unmarked.
 */
export function markInherited(
  categories: readonly ConfCategory[],
  lookup: (name: string) => ConfCategory | undefined,
): void {
  for (const category of categories) {
    const bases = category.templates.map(lookup);
    if (bases.length === 0 || bases.some((b) => b === undefined)) continue;
    const theirs = (bases as ConfCategory[]).flatMap((b) => b.variables.map((v) => ({ v, from: b.name })));
    let at = 0;
    category.lines = category.lines.map((line) => {
      if (line.kind !== 'variable') return line;
      const base = theirs[at++];
      return base && base.v.key === line.key && base.v.value === line.value
        ? inheritedCopy(line, base.from)
        : line;
    });
  }
}

/** The line number (1-based) of each category header of a parsed file, for error messages. */
function headerLines(preambleLength: number, categories: readonly ConfCategory[]): number[] {
  let line = preambleLength;
  return categories.map((c) => {
    line += 1;
    const at = line;
    line += c.lines.length;
    return at;
  });
}

/**
 * Turns the categories of a file, in place, into what Asterisk loads from it (main/config.c): a category
 * naming templates gets a copy of each one's lines (marked inherited) before its own, the template being the
 * first earlier category of that name; `[x](+)` moves its lines into the first earlier non-template `[x]`;
 * `key += more` extends the last earlier `key` line. Returns the categories that remain. Throws
 * {@link AmiConfigParseError} where Asterisk refuses the file.
 */
export function resolveInheritance(
  preambleLength: number,
  categories: readonly ConfCategory[],
): ConfCategory[] {
  const lineOf = headerLines(preambleLength, categories);
  const loaded: ConfCategory[] = [];
  const earlier = (name: string, templates: boolean): ConfCategory | undefined => {
    const lower = name.toLowerCase();
    return loaded.find((c) => c.name.toLowerCase() === lower && (templates || !c.isTemplate));
  };
  categories.forEach((category, i) => {
    let target = category;
    if (category.append) {
      const base = earlier(category.name, false);
      if (!base) {
        throw new AmiConfigParseError(
          `category addition requested, but category '${category.name}' does not exist`,
          lineOf[i] as number,
        );
      }
      base.isTemplate ||= category.isTemplate;
      target = base;
    }
    const bases = category.templates.map((name) => {
      const base = earlier(name, true);
      if (!base) {
        throw new AmiConfigParseError(
          `inheritance requested, but category '${name}' does not exist`,
          lineOf[i] as number,
        );
      }
      return base;
    });
    const copies = inheritedLines(bases);
    if (target === category) {
      category.lines.unshift(...copies);
      loaded.push(category);
    } else {
      if (category.templates.length > 0) target.templates.push(...category.templates);
      target.lines.push(...copies, ...category.lines);
    }
    applyAppends(target);
  });
  return loaded;
}

// `key += more`: Asterisk appends `more` to the last earlier `key` line (exact name), which stops being an
// inherited copy; with no such line it is a plain `key=more`.
function applyAppends(category: ConfCategory): void {
  const lines: ConfLine[] = [];
  for (const line of category.lines) {
    if (line.kind !== 'variable' || !line.append) {
      lines.push(line);
      continue;
    }
    const at = lines.findLastIndex((l) => l.kind === 'variable' && l.key === line.key);
    const target = lines[at] as ConfVariable | undefined;
    const value = target ? `${target.value}${line.value}` : line.value;
    const merged = new ConfVariable(line.key, value, {
      object: target?.object ?? line.object,
      comment: target?.comment ?? line.comment,
    });
    if (target) lines[at] = merged;
    else lines.push(merged);
  }
  category.lines = lines;
}
